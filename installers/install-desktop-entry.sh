#!/usr/bin/env bash
# Register StratoPipe with a Linux desktop for this user: the menu entry, its icon, "Open with" for the
# file types it ingests, and stratopipe:// links. Usage: installers/install-desktop-entry.sh [STRATOPIPE]
# (default: this checkout's .venv/bin/stratopipe, else the one on PATH). Undo: delete the three files.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
PROGRAM="${1:-}"
if [ -z "$PROGRAM" ]; then
  if [ -x "$ROOT/.venv/bin/stratopipe" ]; then PROGRAM="$ROOT/.venv/bin/stratopipe"
  else PROGRAM="$(command -v stratopipe || true)"; fi
fi
if [ -z "$PROGRAM" ] || [ ! -x "$PROGRAM" ]; then
  echo "install-desktop-entry: no stratopipe program found; run 'make setup' or pass its path" >&2
  exit 1
fi
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
APPS="$DATA/applications"
ICONS="$DATA/icons/hicolor/scalable/apps"
mkdir -p "$APPS" "$ICONS"
# An absolute Exec: a venv's bin folder is rarely on the PATH a desktop session starts programs with.
sed -e "s|^Exec=stratopipe |Exec=$PROGRAM |" -e "s|^TryExec=stratopipe$|TryExec=$PROGRAM|" \
  "$HERE/linux/stratopipe.desktop" > "$APPS/stratopipe.desktop"
cp "$ROOT/resources/theme/icons/app.svg" "$ICONS/stratopipe.svg"
echo "installed $APPS/stratopipe.desktop and $ICONS/stratopipe.svg (Exec: $PROGRAM)"
if command -v update-desktop-database >/dev/null; then update-desktop-database "$APPS"; fi
if command -v gtk-update-icon-cache >/dev/null; then gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true; fi
if command -v xdg-mime >/dev/null; then
  xdg-mime default stratopipe.desktop x-scheme-handler/stratopipe
  echo "stratopipe:// links now open in StratoPipe"
else
  echo "xdg-mime not found: stratopipe:// links are registered through the desktop file's MimeType only"
fi
