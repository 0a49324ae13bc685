"""Blender backend: runs ``blender -b`` with resources/blender/render_model.py for each request.

Runs inside the render child, so Blender is in the child's process group: a cancel or a timeout
kills it together with the child. The script reports on stdout with ``STRATOPIPE_PROGRESS``,
``STRATOPIPE_RESULT`` and ``STRATOPIPE_ERROR`` lines followed by JSON; anything else it prints is
forwarded to the log.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.child_process import resources_dir
from core.render.api import (
    Z_UP_SUFFIXES,
    InvalidModelError,
    RenderBackendUnavailableError,
    RenderCrashedError,
    RenderError,
    RenderRequest,
    RenderResult,
    frames_scratch_dir,
    partial_output_path,
)

if TYPE_CHECKING:
    from core.render.backend import ProgressCallback

log = logging.getLogger(__name__)

SCRIPT_PATH = resources_dir() / "blender" / "render_model.py"
VERSION_TIMEOUT_S = 30.0
_MARKER = "STRATOPIPE_"


def _platform_candidates() -> list[Path]:
    if sys.platform == "darwin":
        return [Path("/Applications/Blender.app/Contents/MacOS/Blender")]
    if sys.platform.startswith("win"):
        root = Path(os.environ.get("PROGRAMFILES", r"C:\Program Files")) / "Blender Foundation"
        return sorted(root.glob("Blender*/blender.exe"), reverse=True)
    return [Path("/usr/bin/blender"), Path("/snap/bin/blender"), Path("/opt/blender/blender")]


def _executable(path: Path) -> Path | None:
    if path.is_dir():
        for name in ("blender", "blender.exe", "Contents/MacOS/Blender"):
            if (path / name).is_file():
                return _executable(path / name)
        return None
    return path if path.is_file() and os.access(path, os.X_OK) else None


def find_blender(configured: str = "") -> Path | None:
    """The configured Blender (file or install folder), else ``blender`` on PATH, else the usual
    install locations; ``None`` when there is none."""
    if configured:
        found = _executable(Path(configured).expanduser())
        if found is not None:
            return found
        log.warning("Configured blender_path %s is not an executable; searching PATH", configured)
    on_path = shutil.which("blender")
    if on_path:
        return Path(on_path)
    for candidate in _platform_candidates():
        found = _executable(candidate)
        if found is not None:
            return found
    return None


def blender_version(blender: Path, timeout_s: float = VERSION_TIMEOUT_S) -> str | None:
    """First line of ``blender --version`` ("Blender 3.4.1"), or None when it does not answer."""
    try:
        completed = subprocess.run(
            [str(blender), "-b", "--factory-startup", "--version"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("%s --version failed: %s", blender, exc)
        return None
    for line in completed.stdout.splitlines():
        if line.strip().startswith("Blender"):
            return line.strip()
    return None


def blender_command(blender: Path, arguments: dict[str, Any]) -> list[str]:
    return [
        str(blender),
        "-b",
        "--factory-startup",
        "-noaudio",
        "--python-exit-code",
        "1",
        "--python",
        str(SCRIPT_PATH),
        "--",
        json.dumps(arguments),
    ]


class BlenderRenderer:
    name = "blender"

    def __init__(self, blender_path: str | None) -> None:
        found = find_blender(blender_path or "")
        if found is None:
            raise RenderBackendUnavailableError(
                "Blender is not installed: install it or set blender_path in the settings"
            )
        self.blender = found
        self.version = blender_version(found) or "Blender (unknown version)"
        log.info("Blender backend: %s (%s)", found, self.version)

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "path": str(self.blender), "version": self.version}

    def close(self) -> None:
        """Nothing stays running between requests."""

    def _arguments(self, request: RenderRequest) -> dict[str, Any]:
        up_axis = request.up_axis
        if up_axis == "auto":
            up_axis = "z" if request.source.suffix.lower() in Z_UP_SUFFIXES else "y"
        arguments: dict[str, Any] = {
            "source": str(request.source),
            "size": request.size + (request.size % 2 if request.product == "turntable" else 0),
            "product": request.product,
            "frames": request.frames if request.product == "turntable" else 1,
            "transparent": request.transparent and request.product != "turntable",
            "engine": request.blender_engine,
            "samples": request.samples,
            "up_axis": up_axis,
        }
        if request.product == "turntable":
            arguments["frames_dir"] = str(frames_scratch_dir(request.output))
        else:
            arguments["output"] = str(partial_output_path(request.output))
        return arguments

    def _run(self, arguments: dict[str, Any], source: Path, on_progress: ProgressCallback) -> dict[str, Any]:
        command = blender_command(self.blender, arguments)
        log.info("Running %s", " ".join(command[:-1]))
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
        tail: deque[str] = deque(maxlen=8)
        result: dict[str, Any] | None = None
        error: str | None = None
        assert process.stdout is not None
        for raw_line in process.stdout:
            line = raw_line.rstrip()
            if not line.startswith(_MARKER):
                if line:
                    tail.append(line)
                    log.debug("blender: %s", line)
                continue
            tag, _, payload = line.partition(" ")
            try:
                data = json.loads(payload) if payload else {}
            except ValueError:
                log.info("blender: %s", line)
                continue
            if tag == "STRATOPIPE_PROGRESS":
                on_progress(float(data.get("fraction", 0.0)), str(data.get("message", "")))
            elif tag == "STRATOPIPE_RESULT":
                result = data
            elif tag == "STRATOPIPE_ERROR":
                error = str(data.get("message", "unknown error"))
            elif tag == "STRATOPIPE_LOG":
                log.info("blender: %s", data.get("message", ""))
        returncode = process.wait()
        if error is not None:
            raise InvalidModelError(f"{source.name}: {error}")
        if returncode < 0:
            raise RenderCrashedError(f"{source.name}: Blender crashed ({signal.Signals(-returncode).name})")
        if returncode != 0 or result is None:
            detail = " | ".join(tail)
            raise RenderError(
                f"{source.name}: Blender failed (exit code {returncode})" + (f": {detail}" if detail else "")
            )
        return result

    @staticmethod
    def _finish_output(request: RenderRequest, partial: Path, scratch: Path) -> tuple[int, int, int]:
        """Check what Blender wrote; encode turntable frames. Returns (width, height, frames)."""
        from core.render.encoding import encode_png_frames

        if request.product != "turntable":
            if not partial.is_file():
                raise RenderError(f"{request.source.name}: Blender wrote no image")
            return request.size, request.size, 1
        frame_paths = sorted(scratch.glob("frame_*.png"))
        if len(frame_paths) != request.frames:
            raise RenderError(
                f"{request.source.name}: Blender wrote {len(frame_paths)} of "
                f"{request.frames} turntable frames"
            )
        return encode_png_frames(frame_paths, partial, request.fps)

    def render(self, request: RenderRequest, on_progress: ProgressCallback) -> RenderResult:
        from core.render.scene_loading import precheck_file

        started = time.monotonic()
        precheck_file(request.source, request.max_faces)
        request.output.parent.mkdir(parents=True, exist_ok=True)
        arguments = self._arguments(request)
        partial = partial_output_path(request.output)
        scratch = frames_scratch_dir(request.output)
        try:
            if request.product == "turntable":
                scratch.mkdir(parents=True, exist_ok=True)
            result = self._run(arguments, request.source, on_progress)
            width, height, frames = self._finish_output(request, partial, scratch)
            os.replace(partial, request.output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        device = str(result.get("device", "unknown"))
        return RenderResult(
            output=request.output,
            backend=self.name,
            gl_platform=device,
            gl_renderer=f"{result.get('version') or self.version} {result.get('engine', '')}".strip(),
            seconds=time.monotonic() - started,
            width=width,
            height=height,
            frames=frames,
            warnings=[str(w) for w in result.get("warnings", [])],
        )
