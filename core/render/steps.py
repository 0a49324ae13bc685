"""Job steps for geometry renders (core/jobs/steps.py contract).

Each step renders ``ctx.asset`` through a ``RenderService``: the warm one the app passes in
``ctx.params["render_service"]``, or a short-lived one made from the settings. Params: ``size``,
``frames``, ``fps``, ``transparent``, ``backend``, ``up_axis``. Outputs land in
``artifact_dir/<hash[:2]>/<hash>_<product>_<size>.png|mp4``.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.jobs.steps import (
    InvalidInputError,
    JobCancelledError,
    Progress,
    RecoverableError,
    StepContext,
    StepOutput,
)
from core.render.api import (
    InvalidModelError,
    Product,
    RenderBackendUnavailableError,
    RenderCrashedError,
    RenderError,
    RenderMemoryError,
    RenderRequest,
    RenderResult,
    RenderTimeoutError,
)
from core.render.service import RenderService

if TYPE_CHECKING:
    from collections.abc import Generator

PREVIEW_SIZE = 2048
TURNTABLE_SIZE = 512
# A turntable renders many frames: its wall-time limit scales with them (per 12 frames).
TURNTABLE_FRAMES_PER_TIMEOUT = 12


def artifact_path(ctx: StepContext, product: Product, size: int) -> Path:
    asset = ctx.asset
    if asset is None:
        raise InvalidInputError("This render step needs an asset")
    digest = asset.content_hash
    suffix = "mp4" if product == "turntable" else "png"
    return ctx.paths.artifact_dir / digest[:2] / f"{digest}_{product}_{size}.{suffix}"


def _request(ctx: StepContext, product: Product, default_size: int) -> RenderRequest:
    if ctx.asset is None:
        raise InvalidInputError("This render step needs an asset")
    params = ctx.params
    size = int(params.get("size", default_size))
    return RenderRequest(
        source=Path(ctx.asset.path),
        output=artifact_path(ctx, product, size),
        size=size,
        product=product,
        frames=int(params.get("frames", 36)),
        fps=int(params.get("fps", 24)),
        transparent=bool(params.get("transparent", False)),
        backend=str(params.get("backend", ctx.settings.render_backend)),
        up_axis=params.get("up_axis", "auto"),
    )


def _translate(error: RenderError) -> Exception:
    """Map render failures onto the job runner's retry policy."""
    if isinstance(error, RenderCrashedError):
        return RecoverableError(str(error))  # a driver hiccup may not happen twice
    if isinstance(
        error,
        InvalidModelError | RenderTimeoutError | RenderMemoryError | RenderBackendUnavailableError,
    ):
        return InvalidInputError(str(error))  # the same file would fail the same way again
    return RecoverableError(str(error))


def _run(
    ctx: StepContext, request: RenderRequest, timeout_s: float | None = None
) -> Generator[Progress, None, StepOutput]:
    """Render in a helper thread so the step can keep yielding progress while the child works."""
    provided = ctx.params.get("render_service")
    service: RenderService = provided or RenderService(
        timeout_s=ctx.settings.render_timeout_s,
        memory_mb=ctx.settings.render_memory_mb,
        backend=request.backend,
        blender_path=ctx.settings.blender_path,
    )
    updates: queue.Queue[tuple[float, str]] = queue.Queue()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = service.render(
                request,
                ctx.cancel,
                timeout_s=timeout_s,
                on_progress=lambda fraction, text: updates.put((fraction, text)),
            )
        except BaseException as exc:  # noqa: BLE001 - handed over to the step's thread
            outcome["error"] = exc

    yield Progress(0.0, f"Rendering {request.product} of {request.source.name}")
    thread = threading.Thread(target=work, name="render-step", daemon=True)
    thread.start()
    try:
        while thread.is_alive() or not updates.empty():
            try:
                fraction, text = updates.get(timeout=0.1)
            except queue.Empty:
                continue
            yield Progress(min(max(fraction, 0.0), 1.0) * 0.98, text)
        thread.join()
    finally:
        if provided is None:
            thread.join()
            service.close()
    error = outcome.get("error")
    if isinstance(error, JobCancelledError):
        raise error
    if isinstance(error, RenderError):
        raise _translate(error) from error
    if error is not None:
        raise error
    result: RenderResult = outcome["result"]
    ctx.device = result.device
    yield Progress(1.0, f"Rendered {request.product}")
    return {
        "path": str(result.output),
        "backend": result.backend,
        "gl_platform": result.gl_platform,
        "gl_renderer": result.gl_renderer,
        "seconds": round(result.seconds, 3),
        "width": result.width,
        "height": result.height,
        "frames": result.frames,
        "warnings": result.warnings,
    }


def render_thumbnail_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    from core.profiles import thumbnail_size_for

    request = _request(ctx, "thumbnail", thumbnail_size_for(ctx.params, ctx.settings.thumbnail_size))
    return (yield from _run(ctx, request))


def render_preview_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    request = _request(ctx, "preview", PREVIEW_SIZE)
    return (yield from _run(ctx, request))


def render_turntable_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    request = _request(ctx, "turntable", TURNTABLE_SIZE)
    scale = max(1.0, request.frames / TURNTABLE_FRAMES_PER_TIMEOUT)
    return (yield from _run(ctx, request, timeout_s=ctx.settings.render_timeout_s * scale))
