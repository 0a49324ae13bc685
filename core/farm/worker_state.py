"""What a farm worker process keeps between tasks: its own folders and the lanes' warm resources
(one render child, one inference engine with its batcher), as the desktop app's lanes do.

The preload module creates it when the worker starts (so a stock ``dask worker`` started with
``--preload core.farm.preload`` warms up before its first task); a worker started without it gets
one at its first task. It lives in the worker's ``extensions`` and is closed at the worker's teardown.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from core.jobs.model import Lane
from core.lane_resources import LaneResources
from core.paths import AppPaths

if TYPE_CHECKING:
    from distributed import Worker

    from core.settings import Settings

log = logging.getLogger(__name__)

EXTENSION_NAME = "stratopipe"


class FarmWorkerState:
    def __init__(self, paths: AppPaths | None = None) -> None:
        self.paths = (paths or AppPaths.resolve()).ensure()
        self._lock = threading.Lock()
        # Warm resources per settings that shape them; a studio rarely has more than one.
        self._resources: dict[str, LaneResources] = {}

    def lane_params(self, step: str, settings: Settings) -> dict[str, Any]:
        from core.pipeline import STEP_LANES

        lane = STEP_LANES.get(step)
        if lane not in (Lane.RENDER, Lane.INFERENCE):
            return {}
        shape = settings.model_dump_json(
            include={
                "render_timeout_s",
                "render_memory_mb",
                "render_backend",
                "blender_path",
                "inference_device",
                "model_dir",
            }
        )
        with self._lock:
            resources = self._resources.get(shape)
            if resources is None:
                resources = self._resources[shape] = LaneResources(self.paths, settings)
        return resources.params(lane)

    def close(self) -> None:
        with self._lock:
            resources, self._resources = list(self._resources.values()), {}
        for item in resources:
            item.close()


def farm_state(worker: Worker) -> FarmWorkerState:
    state = worker.extensions.get(EXTENSION_NAME)
    if not isinstance(state, FarmWorkerState):
        log.info("StratoPipe state created at the first task (worker started without the preload)")
        state = worker.extensions[EXTENSION_NAME] = FarmWorkerState()
    return state
