#!/usr/bin/env bash
# Start the desktop app. Without a display (a server, a container, CI), run it on a virtual one.
set -euo pipefail
VENV="${1:-.venv}"
shift || true
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "launch: no display found; starting StratoPipe on a virtual X display (xvfb-run)" >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" "$VENV/bin/stratopipe" "$@"
fi
exec "$VENV/bin/stratopipe" "$@"
