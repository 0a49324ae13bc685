"""What a farm worker process keeps between tasks: its own folders and the lanes' warm resources
(one render child, one inference engine with its batcher), as the desktop app's lanes do.

The preload module creates it when the worker starts (so a stock ``dask worker`` started with
``--preload core.farm.preload`` warms up before its first task); a worker started without it gets
one at its first task. It lives in the worker's ``extensions`` and is closed at the worker's teardown.
"""

from __future__ import annotations

import ctypes
import logging
import sys
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
# glibc's mallopt parameters (malloc.h) and the values a worker runs with; see keep_freed_memory.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD_BYTES = 128 * 2**20
MMAP_THRESHOLD_BYTES = 32 * 2**20  # the ceiling glibc's own sliding threshold stops at (64-bit)


def keep_freed_memory() -> bool:
    """Let this process reuse the memory torch frees instead of mapping it afresh for every tensor.

    A Dask nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, and setting any malloc
    threshold also stops glibc from raising its mmap threshold as large blocks are freed: every
    activation map of a forward pass is then a new mmap, faulted in and zeroed page by page.
    Measured on this project's classifier (bench/bench_farm.py, one torch thread): 75 ms a photo on a
    stock worker, 67 ms with only the trim threshold raised through the environment, 47 ms in the app
    (glibc's defaults) and 34 ms with both thresholds set here. Set at run time (``mallopt``), it
    works whatever environment the worker was spawned with. False where there is no glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and other C libraries: nothing to tune this way
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    trim = int(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    mmap = int(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    return trim == 1 and mmap == 1


class FarmWorkerState:
    def __init__(self, paths: AppPaths | None = None) -> None:
        if not keep_freed_memory():
            log.info("malloc thresholds left as they are (no glibc)")
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
