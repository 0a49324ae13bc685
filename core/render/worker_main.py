"""Entry point of the render child: ``python -m core.render.worker_main``.

Protocol: one JSON object per line. The parent writes requests on stdin
(``{"id": 1, "op": "render", "request": {...}}``, ``{"op": "describe"}``, ``{"op": "shutdown"}``);
the child answers on its original stdout with ``ready``/``fatal`` once at start, then ``progress``,
``result`` or ``error`` messages carrying the request id. Everything else the child or its libraries
print goes to stderr, which the parent forwards into its log: fd 1 is re-pointed at stderr so a
chatty library can never corrupt the protocol.

The GL platform is chosen here, before OpenGL is imported: the first candidate is tried and, if its
context cannot be created, the process re-executes itself with the remaining candidates.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from typing import IO, TYPE_CHECKING, Any

from core.child_process import python_command
from core.render.api import (
    RenderBackendUnavailableError,
    RenderError,
    RenderMemoryError,
    RenderRequest,
    partial_output_path,
)
from core.render.sandbox import apply_memory_limit

if TYPE_CHECKING:
    from core.render.backend import Renderer

log = logging.getLogger("core.render.worker")

FAULTS_ENV = "STRATOPIPE_RENDER_ALLOW_FAULTS"


def create_renderer(backend: str, *, gl_platform: str, blender_path: str | None) -> Renderer:
    """Build a backend by name; heavy modules are imported only for the one asked for.

    It lives with the child's entry point, the only place that builds backends: the backends import
    the interface in ``core.render.backend``, and the interface imports none of them."""
    if backend == "pyrender":
        from core.render.pyrender_backend import PyrenderRenderer

        return PyrenderRenderer(gl_platform)
    if backend == "blender":
        from core.render.blender_backend import BlenderRenderer

        return BlenderRenderer(blender_path)
    from core.render.api import RenderError

    raise RenderError(f"Unknown render backend {backend!r}")


class Channel:
    """The protocol stream: the original stdout, kept away from everything that prints."""

    def __init__(self) -> None:
        self.fd = os.dup(1)
        os.dup2(2, 1)  # stray prints from libraries land in stderr, i.e. the parent's log
        sys.stdout = sys.stderr
        self._stream: IO[str] = os.fdopen(self.fd, "w", buffering=1, encoding="utf-8")

    def send(self, message: dict[str, Any]) -> None:
        self._stream.write(json.dumps(message) + "\n")
        self._stream.flush()

    def restore_stdout(self) -> None:
        """Before exec: the next image expects the protocol on fd 1 again."""
        self._stream.flush()
        os.dup2(self.fd, 1)


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="core.render.worker_main")
    parser.add_argument("--backend", default="pyrender", choices=("pyrender", "blender"))
    parser.add_argument("--gl-platforms", default="egl,osmesa")
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--blender-path", default="")
    return parser.parse_args(argv)


def _start_default_renderer(args: argparse.Namespace, channel: Channel) -> Renderer:
    """Create the default backend, falling back through GL platforms by re-executing."""
    platforms = [p for p in args.gl_platforms.split(",") if p]
    if args.backend != "pyrender":
        return create_renderer(args.backend, gl_platform="", blender_path=args.blender_path)
    os.environ["PYOPENGL_PLATFORM"] = platforms[0]
    try:
        return create_renderer("pyrender", gl_platform=platforms[0], blender_path=None)
    except RenderBackendUnavailableError as exc:
        if len(platforms) < 2:
            raise
        log.warning("%s; trying %s", exc, platforms[1])
    argv = [
        f"--backend={args.backend}",
        f"--memory-mb={args.memory_mb}",
        f"--blender-path={args.blender_path}",
        f"--gl-platforms={','.join(platforms[1:])}",
    ]
    channel.restore_stdout()
    command = python_command("core.render.worker_main", *argv)
    os.execv(command[0], command)
    raise AssertionError("unreachable")  # pragma: no cover


def _inject_fault(kind: str, request: RenderRequest) -> None:
    """Test hook: make this real child misbehave the way a hostile file or a driver bug would."""
    log.warning("Injecting fault %r as asked by a test", kind)
    if kind == "sleep":
        request.output.parent.mkdir(parents=True, exist_ok=True)
        partial_output_path(request.output).write_bytes(b"partial render")
        time.sleep(3600)
    elif kind == "exit":
        os._exit(3)
    elif kind == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(10)
    elif kind == "memory":
        import numpy as np

        hoard = []
        while True:  # address space only (np.empty does not touch pages): no real RAM used
            hoard.append(np.empty(256 * 2**20, dtype=np.uint8))


class Worker:
    def __init__(self, args: argparse.Namespace, channel: Channel, default: Renderer) -> None:
        self.args = args
        self.channel = channel
        self.renderers: dict[str, Renderer] = {default.name: default}
        self.allow_faults = os.environ.get(FAULTS_ENV) == "1"

    def renderer_for(self, backend: str) -> Renderer:
        if backend not in self.renderers:
            platform = os.environ.get("PYOPENGL_PLATFORM") or self.args.gl_platforms.split(",")[0]
            if backend == "pyrender":
                os.environ["PYOPENGL_PLATFORM"] = platform
            self.renderers[backend] = create_renderer(
                backend, gl_platform=platform, blender_path=self.args.blender_path
            )
        return self.renderers[backend]

    def handle_render(self, message_id: Any, payload: dict[str, Any]) -> None:
        request = RenderRequest.from_json(payload)

        def progress(fraction: float, text: str) -> None:
            self.channel.send({"id": message_id, "type": "progress", "fraction": fraction, "message": text})

        restart = False
        try:
            request.validate()
            if request.fault and self.allow_faults:
                _inject_fault(request.fault, request)
            result = self.renderer_for(request.backend).render(request, progress)
        except RenderError as exc:
            error: RenderError = exc
        except MemoryError:
            error = RenderMemoryError(
                f"{request.source.name}: the model needs more than the render memory limit "
                f"({self.args.memory_mb} MB)"
            )
            restart = True
        except Exception as exc:
            log.exception("Unexpected failure rendering %s", request.source)
            error = RenderError(f"{request.source.name}: render failed ({type(exc).__name__}: {exc})")
            restart = True
        else:
            self.channel.send({"id": message_id, "type": "result", "result": result.to_json()})
            return
        self.channel.send(
            {
                "id": message_id,
                "type": "error",
                "error": type(error).__name__,
                "message": str(error),
                "restart": restart,
            }
        )

    def serve(self) -> None:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except ValueError:
                log.warning("Ignoring a malformed request line: %.200s", line)
                continue
            op = message.get("op")
            if op == "render":
                self.handle_render(message.get("id"), message.get("request", {}))
            elif op == "describe":
                described = {name: r.describe() for name, r in self.renderers.items()}
                self.channel.send({"id": message.get("id"), "type": "result", "result": described})
            elif op == "shutdown":
                break
            else:
                log.error("Unknown request op %r", op)
        for renderer in self.renderers.values():
            renderer.close()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    channel = Channel()
    started = time.monotonic()
    try:
        default = _start_default_renderer(args, channel)
    except RenderError as exc:
        channel.send({"type": "fatal", "error": type(exc).__name__, "message": str(exc)})
        return 2
    limit = apply_memory_limit(args.memory_mb)
    channel.send(
        {
            "type": "ready",
            "pid": os.getpid(),
            "startup_s": round(time.monotonic() - started, 3),
            "memory_limit_bytes": limit,
            **default.describe(),
        }
    )
    Worker(args, channel, default).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
