"""``RenderService``: owns one warm render child process and talks to it over a line-JSON pipe.

One child means one GL context and one pyrender ``OffscreenRenderer`` reused for a whole batch, so
only the first render pays for Python, pyrender and the context. Requests are serialised (the app has
one render lane). A crash, a timeout or a cancel kills the child's process group; the next request
starts a fresh child. Everything that can go wrong surfaces as a ``RenderError`` subclass with a
message for the user, or ``JobCancelledError`` when the user cancelled.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from core.child_process import child_environment, python_command
from core.jobs.steps import CancelToken, JobCancelledError
from core.render.api import (
    RenderBackendUnavailableError,
    RenderCrashedError,
    RenderError,
    RenderRequest,
    RenderResult,
    RenderTimeoutError,
    error_from_wire,
    frames_scratch_dir,
    partial_output_path,
)
from core.render.sandbox import (
    DEFAULT_KILL_GRACE_S,
    kill_process_group,
    sanitized_environment,
    spawn_child,
)

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

    from core.render.backend import ProgressCallback

log = logging.getLogger(__name__)
child_log = logging.getLogger("core.render.worker")

FAULTS_ENV = "STRATOPIPE_RENDER_ALLOW_FAULTS"  # mirrored in worker_main (kept import-light here)
DEFAULT_STARTUP_TIMEOUT_S = 60.0
_POLL_S = 0.1
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
           "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL}  # fmt: skip


def gl_platform_candidates(preference: str = "auto") -> list[str]:
    """Platforms to try in order: EGL (GPU or llvmpipe) first on Linux, then OSMesa."""
    if preference != "auto":
        return [preference]
    if not sys.platform.startswith("linux"):
        return ["pyglet"]
    order = ["egl", "osmesa"]
    preset = os.environ.get("PYOPENGL_PLATFORM", "")
    if preset in order:
        order.remove(preset)
        order.insert(0, preset)
    return order


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "did not exit"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def remove_partial_outputs(output: Path) -> None:
    partial_output_path(output).unlink(missing_ok=True)
    scratch = frames_scratch_dir(output)
    if scratch.exists():
        shutil.rmtree(scratch, ignore_errors=True)


class _Child:
    """One render child process with reader threads for its protocol (stdout) and log (stderr)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = spawn_child(argv, env)
        self.pid = self.process.pid
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.log_tail: collections.deque[str] = collections.deque(maxlen=30)
        self.ready: dict[str, Any] = {}
        threading.Thread(target=self._read_protocol, name=f"render-out-{self.pid}", daemon=True).start()
        threading.Thread(target=self._read_log, name=f"render-log-{self.pid}", daemon=True).start()

    def _read_protocol(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                child_log.warning("[%d] unexpected output: %.200r", self.pid, raw)
                continue
            if isinstance(message, dict):
                self.messages.put(message)
        self.messages.put(None)  # EOF: the child is gone (or going)

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if not line:
                continue
            self.log_tail.append(line)
            level_name = line.split(" ", 1)[0]
            child_log.log(_LEVELS.get(level_name, logging.INFO), "[%d] %s", self.pid, line)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode("utf-8"))
        self.process.stdin.flush()

    def terminate_now(self) -> None:
        """Non-blocking SIGTERM to the group; safe from any thread (a cancel callback)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.name == "posix":
                os.killpg(self.pid, signal.SIGTERM)
            else:  # pragma: no cover
                self.process.terminate()

    def kill(self, grace_s: float) -> int | None:
        return kill_process_group(self.process, grace_s)

    def recent_log(self, lines: int = 3) -> str:
        tail = [line for line in self.log_tail if not line.startswith("INFO")][-lines:]
        return " | ".join(tail)

    def close_pipes(self) -> None:
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class RenderService:
    """Warm render child owner. Thread-safe; one request at a time."""

    def __init__(
        self,
        timeout_s: float,
        memory_mb: int,
        backend: str = "pyrender",
        blender_path: str | None = None,
        *,
        gl_platform: str = "auto",
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
        kill_grace_s: float = DEFAULT_KILL_GRACE_S,
        allow_fault_injection: bool = False,
    ) -> None:
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.backend = backend
        self.blender_path = blender_path or ""
        self.gl_platform = gl_platform
        self.startup_timeout_s = startup_timeout_s
        self.kill_grace_s = kill_grace_s
        self.allow_fault_injection = allow_fault_injection
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._next_id = 0
        self._closed = False
        self.children_started = 0

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.process.poll() is None else None

    def start(self) -> dict[str, Any]:
        """Start (or reuse) the child; returns its ready message (platform, renderer, pid)."""
        with self._lock:
            return dict(self._ensure_child().ready)

    def _child_argv(self) -> list[str]:
        return python_command(
            "core.render.worker_main",
            f"--backend={self.backend}",
            f"--gl-platforms={','.join(gl_platform_candidates(self.gl_platform))}",
            f"--memory-mb={self.memory_mb}",
            f"--blender-path={self.blender_path}",
        )

    def _child_env(self) -> dict[str, str]:
        env = sanitized_environment()
        env.pop(FAULTS_ENV, None)
        if self.allow_fault_injection:
            env[FAULTS_ENV] = "1"
        return child_environment(env)

    def _ensure_child(self) -> _Child:
        if self._closed:
            raise RenderError("The render service is closed")
        if self._child is not None and self._child.process.poll() is None:
            return self._child
        if self._child is not None:
            self._discard_child("it had exited")
        started = time.monotonic()
        child = _Child(self._child_argv(), self._child_env())
        self.children_started += 1
        deadline = started + self.startup_timeout_s
        while True:
            try:
                message = child.messages.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                child.kill(self.kill_grace_s)
                child.close_pipes()
                raise RenderError(
                    f"The render process did not start within {self.startup_timeout_s:g} s"
                ) from None
            if message is None:
                returncode = child.process.wait()
                detail = child.recent_log()
                child.close_pipes()
                raise RenderBackendUnavailableError(
                    f"The render process failed to start ({describe_exit(returncode)})"
                    + (f": {detail}" if detail else "")
                )
            if message.get("type") == "fatal":
                child.kill(self.kill_grace_s)
                child.close_pipes()
                raise error_from_wire(str(message.get("error")), str(message.get("message")))
            if message.get("type") == "ready":
                child.ready = message
                break
        log.info(
            "Render process %d ready in %.2f s: %s %s (%s)",
            child.pid,
            time.monotonic() - started,
            message.get("backend"),
            message.get("gl_platform") or "",
            message.get("gl_renderer") or message.get("version") or "",
        )
        self._child = child
        return child

    def _discard_child(self, reason: str) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        log.info("Stopping render process %d: %s", child.pid, reason)
        child.kill(self.kill_grace_s)
        child.close_pipes()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            child, self._child = self._child, None
        if child is None:
            return
        with contextlib.suppress(OSError, ValueError):
            child.send({"op": "shutdown"})
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=self.kill_grace_s)
        child.kill(self.kill_grace_s)
        child.close_pipes()

    def __enter__(self) -> RenderService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- requests -----------------------------------------------------------------------------

    def render(
        self,
        request: RenderRequest,
        cancel: CancelToken | None = None,
        *,
        timeout_s: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> RenderResult:
        request.validate()
        if cancel is not None and cancel.cancelled:
            raise JobCancelledError
        limit = self.timeout_s if timeout_s is None else timeout_s
        with self._lock:
            child = self._ensure_child()
            self._next_id += 1
            request_id = self._next_id
            cancelled = threading.Event()
            active = True

            def on_cancel() -> None:
                # Runs in the canceller's thread (maybe the UI): signal now, reap in render().
                if active:
                    cancelled.set()
                    child.terminate_now()

            if cancel is not None:
                cancel.on_cancel(on_cancel)
            try:
                return self._exchange(child, request, request_id, limit, cancelled, on_progress)
            finally:
                active = False

    def _exchange(
        self,
        child: _Child,
        request: RenderRequest,
        request_id: int,
        limit: float,
        cancelled: threading.Event,
        on_progress: ProgressCallback | None,
    ) -> RenderResult:
        name = request.source.name
        try:
            child.send({"id": request_id, "op": "render", "request": request.to_json()})
        except OSError:
            # The child died before reading: the EOF on its output is reported below as a crash.
            log.warning("Render process %d lost its input pipe", child.pid)
        deadline = time.monotonic() + limit
        while True:
            if cancelled.is_set():
                self._fail_child(request, "cancelled by the user")
                raise JobCancelledError
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail_child(request, f"render of {name} exceeded {limit:g} s")
                raise RenderTimeoutError(f"{name}: render exceeded {limit:g} s and was stopped")
            try:
                message = child.messages.get(timeout=min(remaining, _POLL_S))
            except queue.Empty:
                continue
            if message is None:
                if cancelled.is_set():
                    continue  # reported as a cancel above
                returncode = child.process.wait()
                detail = child.recent_log()
                self._fail_child(request, f"it crashed ({describe_exit(returncode)})")
                raise RenderCrashedError(
                    f"{name}: the render process crashed ({describe_exit(returncode)})"
                    + (f"; last log: {detail}" if detail else "")
                )
            if message.get("id") != request_id:
                continue  # a late message from an earlier, abandoned exchange
            kind = message.get("type")
            if kind == "progress" and on_progress is not None:
                on_progress(float(message.get("fraction", 0.0)), str(message.get("message", "")))
            elif kind == "result":
                return RenderResult.from_json(message["result"])
            elif kind == "error":
                remove_partial_outputs(request.output)
                if message.get("restart"):
                    self._discard_child("recycled after an unexpected error")
                raise error_from_wire(str(message.get("error")), str(message.get("message")))

    def _fail_child(self, request: RenderRequest, reason: str) -> None:
        self._discard_child(reason)
        remove_partial_outputs(request.output)

    def describe(self) -> dict[str, Any]:
        """Backends the child has created so far, as the child reports them."""
        with self._lock:
            child = self._ensure_child()
            self._next_id += 1
            child.send({"id": self._next_id, "op": "describe"})
            deadline = time.monotonic() + self.startup_timeout_s
            while time.monotonic() < deadline:
                message = child.messages.get(timeout=max(deadline - time.monotonic(), 0.01))
                if message is None:
                    self._discard_child("it exited during describe")
                    raise RenderCrashedError("The render process exited while describing itself")
                if message.get("id") == self._next_id:
                    return dict(message.get("result", {}))
            raise RenderTimeoutError("The render process did not describe itself in time")


def describe_backends(blender_path: str = "", timeout_s: float = 60.0) -> dict[str, Any]:
    """For `stratopipe doctor`: which backends work here, on what GL platform and renderer."""
    from core.render.blender_backend import blender_version, find_blender

    report: dict[str, Any] = {}
    try:
        with RenderService(timeout_s=timeout_s, memory_mb=2048, startup_timeout_s=timeout_s) as svc:
            ready = svc.start()
        report["pyrender"] = {
            "available": True,
            "gl_platform": ready.get("gl_platform"),
            "gl_renderer": ready.get("gl_renderer"),
            "gl_version": ready.get("gl_version"),
            "startup_s": ready.get("startup_s"),
        }
    except RenderError as exc:
        report["pyrender"] = {"available": False, "error": str(exc)}
    blender = find_blender(blender_path)
    report["blender"] = {
        "available": blender is not None,
        "path": str(blender) if blender else None,
        "version": blender_version(blender) if blender else None,
    }
    return report
