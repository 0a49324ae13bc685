"""Per-lane long-lived resources: the render lane's warm child process, the inference lane's engine.

Created lazily on the lane's own thread at first use (so start-up pays nothing) and closed at exit.
Steps find them in ``ctx.params`` and fall back to short-lived ones when run without a lane.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from core.jobs.model import Lane

if TYPE_CHECKING:
    from core.paths import AppPaths
    from core.settings import Settings

log = logging.getLogger(__name__)


class LaneResources:
    def __init__(self, paths: AppPaths, settings: Settings) -> None:
        self._paths = paths
        self._settings = settings
        self._lock = threading.Lock()
        self._render_service: Any = None
        self._render_service_config: tuple[object, ...] = ()
        self._inference_engine: Any = None
        self._classify_batcher: Any = None

    def params(self, lane: Lane) -> dict[str, Any]:
        if lane == Lane.RENDER:
            return {"render_service": self._render()}
        if lane == Lane.INFERENCE:
            engine, batcher = self._inference()
            return {"inference_engine": engine, "classify_batcher": batcher}
        return {}

    def _render_config(self) -> tuple[object, ...]:
        settings = self._settings
        return (
            settings.render_timeout_s,
            settings.render_memory_mb,
            settings.render_backend,
            settings.blender_path,
        )

    def _render(self) -> Any:
        """The warm render process, replaced when its settings changed (Preferences apply at once).

        Called by a job starting on the render lane; that lane runs one job at a time, so the old
        process is idle when it is closed here.
        """
        stale = None
        with self._lock:
            wanted = self._render_config()
            if self._render_service is not None and self._render_service_config != wanted:
                log.info("Render settings changed: starting a new render process")
                stale, self._render_service = self._render_service, None
            if self._render_service is None:
                from core.render.service import RenderService

                self._render_service = RenderService(
                    timeout_s=self._settings.render_timeout_s,
                    memory_mb=self._settings.render_memory_mb,
                    backend=self._settings.render_backend,
                    blender_path=self._settings.blender_path or None,
                )
                self._render_service_config = wanted
            service = self._render_service
        if stale is not None:
            stale.close()
        return service

    def _inference(self) -> tuple[Any, Any]:
        with self._lock:
            if self._inference_engine is None:
                from core.ai.device import choose_device
                from core.ai.inference import InferenceEngine
                from core.ai.models import resolve_model_dir

                choice = choose_device(self._settings.inference_device)
                log.info("Inference lane uses %s (%s)", choice.device, choice.reason)
                self._inference_engine = InferenceEngine(
                    choice, resolve_model_dir(self._settings, self._paths)
                )
                from core.ai.batcher import ClassifyBatcher

                self._classify_batcher = ClassifyBatcher(self._inference_engine)
            return self._inference_engine, self._classify_batcher

    def close(self) -> None:
        with self._lock:
            service, self._render_service = self._render_service, None
            batcher, self._classify_batcher = self._classify_batcher, None
            engine, self._inference_engine = self._inference_engine, None
        if batcher is not None:
            batcher.close()
        if engine is not None:
            engine.close()  # its warm upscaler child processes
        if service is not None:
            try:
                service.close()
            except Exception:
                log.exception("Closing the render service failed")
