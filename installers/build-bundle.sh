#!/usr/bin/env bash
# Build the artists' bundle: dist/stratopipe/ and dist/stratopipe-VERSION-PLATFORM.tar.gz, from the venv
# that `make setup` made. Usage: installers/build-bundle.sh [VENV]. PyInstaller's work folder is outside
# the checkout (BUNDLE_WORK_DIR, default /tmp/stratopipe-pyinstaller); the build runs at low priority.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
VENV="${1:-$ROOT/.venv}"
WORK="${BUNDLE_WORK_DIR:-/tmp/stratopipe-pyinstaller}"
# The size budget the README states (MiB): a new dependency that blows it fails the build, loudly.
BUDGET_UNPACKED_MB="${BUNDLE_BUDGET_UNPACKED_MB:-1400}"
BUDGET_ARCHIVE_MB="${BUNDLE_BUDGET_ARCHIVE_MB:-520}"
DIST="$ROOT/dist"
cd "$ROOT"
if ! "$VENV/bin/python" -c "import PyInstaller" 2>/dev/null; then
  "$VENV/bin/python" -m pip install --quiet "pyinstaller>=6.6"
fi
VERSION="$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("stratopipe"))')"
PLATFORM="$("$VENV/bin/python" -c 'import platform, sys; print(f"{sys.platform}-{platform.machine()}")')"
ARCHIVE="$DIST/stratopipe-$VERSION-$PLATFORM.tar.gz"
started=$(date +%s)
nice -n 10 "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" installers/stratopipe.spec
built=$(date +%s)
rm -f "$ARCHIVE"
nice -n 10 tar -C "$DIST" -czf "$ARCHIVE" stratopipe
finished=$(date +%s)
cat <<MSG
bundle:  $DIST/stratopipe ($(du -sh "$DIST/stratopipe" | cut -f1) unpacked)
archive: $ARCHIVE ($(du -sh "$ARCHIVE" | cut -f1))
time:    $((built - started)) s PyInstaller + $((finished - built)) s archive
largest parts of _internal:
$(du -s "$DIST/stratopipe/_internal"/* | sort -rn | head -8 | awk '{printf "  %5d MiB  %s\n", $1/1024, $2}')
check it: make dist-test
MSG
unpacked_mb=$(du -sm "$DIST/stratopipe" | cut -f1)
archive_mb=$(( $(stat -c %s "$ARCHIVE") / 1048576 ))
if [ "$unpacked_mb" -gt "$BUDGET_UNPACKED_MB" ] || [ "$archive_mb" -gt "$BUDGET_ARCHIVE_MB" ]; then
  echo "build-bundle: over the size budget: ${unpacked_mb} MiB unpacked (budget $BUDGET_UNPACKED_MB)," \
    "${archive_mb} MiB archive (budget $BUDGET_ARCHIVE_MB); see the excludes in installers/stratopipe.spec" >&2
  exit 1
fi
echo "size budget kept: ${unpacked_mb}/${BUDGET_UNPACKED_MB} MiB unpacked, ${archive_mb}/${BUDGET_ARCHIVE_MB} MiB archive"
