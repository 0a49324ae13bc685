#!/usr/bin/env bash
# Start the desktop app. Without a display (a server, a container, CI), run it on a virtual one and say
# how to see it, where its files are and how to stop it.
set -euo pipefail
VENV="${1:-.venv}"
shift || true
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$VENV/bin/stratopipe" "$@"
fi
# Where data and logs go for these arguments (--data-dir, else STRATOPIPE_DATA_DIR, else the user dirs).
LOCATIONS="$("$VENV/bin/python" - "$@" <<'PY'
import sys
from core.paths import AppPaths
args = sys.argv[1:]
data_dir = next((a.split("=", 1)[1] for a in args if a.startswith("--data-dir=")), None)
if "--data-dir" in args[:-1]:
    data_dir = args[args.index("--data-dir") + 1]
paths = AppPaths.resolve(data_dir)
print(f"  data:  {paths.data_dir}\n  logs:  {paths.log_dir / 'stratopipe.log'}")
PY
)"
export LOCATIONS
# xvfb-run -a picks a free display number: report it from inside, then become the app (same pid).
exec xvfb-run -a -s "-screen 0 1600x1000x24" bash -c '
cat >&2 <<MSG
launch: no display found; StratoPipe runs on the virtual X display $DISPLAY (Xvfb, 1600x1000).
  screenshot: DISPLAY=$DISPLAY XAUTHORITY=$XAUTHORITY import -window root shot.png   (imagemagick)
$LOCATIONS
  stop: Ctrl+C here, or kill -TERM $$ (both quit cleanly: the window state is saved, jobs resume next start)
MSG
exec "$0" "$@"' "$VENV/bin/stratopipe" "$@"
