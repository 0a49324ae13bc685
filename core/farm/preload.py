"""``dask worker SCHEDULER --preload core.farm.preload``: a stock Dask worker that runs StratoPipe steps.

It creates the worker's StratoPipe state (its folders, lazily started render child and inference
engine) and closes it when the worker stops, so no render child outlives its worker.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.farm.worker_state import EXTENSION_NAME, FarmWorkerState

if TYPE_CHECKING:
    from distributed import Worker

log = logging.getLogger(__name__)


def dask_setup(worker: Worker) -> None:
    worker.extensions[EXTENSION_NAME] = FarmWorkerState()
    log.info("StratoPipe farm worker ready (%s)", worker.address)


def dask_teardown(worker: Worker) -> None:
    state = worker.extensions.pop(EXTENSION_NAME, None)
    if isinstance(state, FarmWorkerState):
        state.close()
