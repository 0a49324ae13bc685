#!/usr/bin/env bash
# Register StratoPipe with a Linux desktop for this user: the menu entry, its icon, "Open with" for the
# file types it ingests, and stratopipe:// links. Usage: installers/install-desktop-entry.sh [STRATOPIPE]
# (default: the bundle's stratopipe when run from an unpacked bundle, else this checkout's
# .venv/bin/stratopipe, else the one on PATH). Undo: installers/install-desktop-entry.sh --uninstall.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
APPS="$DATA/applications"
ICONS="$DATA/icons/hicolor/scalable/apps"
if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$APPS/stratopipe.desktop" "$ICONS/stratopipe.svg"
  # xdg-mime keeps the stratopipe:// default in mimeapps.list; drop that line too.
  for list in "${XDG_CONFIG_HOME:-$HOME/.config}/mimeapps.list" "$APPS/mimeapps.list"; do
    if [ -f "$list" ]; then sed -i '/^x-scheme-handler\/stratopipe=/d' "$list"; fi
  done
  if command -v update-desktop-database >/dev/null; then update-desktop-database "$APPS"; fi
  echo "removed $APPS/stratopipe.desktop, $ICONS/stratopipe.svg and the stratopipe:// handler"
  exit 0
fi
PROGRAM="${1:-}"
if [ -z "$PROGRAM" ]; then
  if [ -x "$ROOT/stratopipe" ] && [ -d "$ROOT/_internal" ]; then PROGRAM="$ROOT/stratopipe"  # a bundle
  elif [ -x "$ROOT/.venv/bin/stratopipe" ]; then PROGRAM="$ROOT/.venv/bin/stratopipe"
  else PROGRAM="$(command -v stratopipe || true)"; fi
fi
if [ -z "$PROGRAM" ] || [ ! -x "$PROGRAM" ]; then
  echo "install-desktop-entry: no stratopipe program found; run 'make setup' or pass its path" >&2
  exit 1
fi
ICON_SOURCE="$ROOT/resources/theme/icons/app.svg"  # a checkout
if [ ! -f "$ICON_SOURCE" ]; then ICON_SOURCE="$ROOT/_internal/resources/theme/icons/app.svg"; fi  # a bundle
mkdir -p "$APPS" "$ICONS"
# An absolute Exec: a venv's bin folder is rarely on the PATH a desktop session starts programs with.
sed -e "s|^Exec=stratopipe |Exec=$PROGRAM |" -e "s|^TryExec=stratopipe$|TryExec=$PROGRAM|" \
  "$HERE/linux/stratopipe.desktop" > "$APPS/stratopipe.desktop"
cp "$ICON_SOURCE" "$ICONS/stratopipe.svg"
echo "installed $APPS/stratopipe.desktop and $ICONS/stratopipe.svg (Exec: $PROGRAM)"
if command -v update-desktop-database >/dev/null; then update-desktop-database "$APPS"; fi
if command -v gtk-update-icon-cache >/dev/null; then gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true; fi
if command -v xdg-mime >/dev/null; then
  xdg-mime default stratopipe.desktop x-scheme-handler/stratopipe
  echo "stratopipe:// links now open in StratoPipe"
else
  echo "xdg-mime not found: stratopipe:// links are registered through the desktop file's MimeType only"
fi
