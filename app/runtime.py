"""What every entry point needs: resolved dirs, settings, the catalog and the step registry."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.ai.batcher import INFERENCE_JOBS_IN_FLIGHT
from core.catalog.catalog import Catalog
from core.farm.executor import FarmExecutor, farm_address
from core.jobs.model import Lane
from core.jobs.scheduler import JobScheduler, SchedulerListener
from core.media.limits import MediaLimits
from core.paths import AppPaths
from core.pipeline import build_registry
from core.settings import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Executor

    from core.farm.executor import FarmStatus
    from core.jobs.steps import StepRegistry
    from core.lane_resources import LaneResources

log = logging.getLogger(__name__)

# Jobs in flight in the render and inference lanes when those steps run on a farm: the lanes' threads
# then only wait for the cluster, and the farm batches inference jobs that arrive together
# (core/farm/coalesce.py: up to 8 a task).
FARM_JOBS_IN_FLIGHT = 16


@dataclass
class Runtime:
    paths: AppPaths
    settings: Settings
    catalog: Catalog
    registry: StepRegistry
    limits: MediaLimits = field(init=False)
    # Render and inference steps go to this Dask cluster (settings' execution, or --executor).
    farm: FarmExecutor | None = None

    def __post_init__(self) -> None:
        self.limits = MediaLimits.from_settings(self.settings)

    @property
    def media_threads(self) -> int:
        return self.settings.media_threads or os.cpu_count() or 2

    @property
    def render_threads(self) -> int:
        """One local render child renders one job at a time; a farm renders many."""
        return FARM_JOBS_IN_FLIGHT if self.farm is not None else 1

    @property
    def inference_threads(self) -> int:
        """Jobs prepare images side by side (one batcher thread runs the model); more on a farm."""
        return FARM_JOBS_IN_FLIGHT if self.farm is not None else INFERENCE_JOBS_IN_FLIGHT

    def close(self) -> None:
        if self.farm is not None:
            self.farm.close()
        self.catalog.close()


def open_runtime(
    data_dir: str | None = None,
    executor: str | None = None,
    on_farm_status: Callable[[FarmStatus], None] | None = None,
) -> Runtime:
    """``executor``: ``local`` or ``dask://HOST:PORT``, over the settings' ``execution``."""
    paths = AppPaths.resolve(data_dir).ensure()
    settings = load_settings(paths.settings_file)
    farm = None
    address = farm_address(settings, executor)
    if address is not None:
        farm = FarmExecutor.from_settings(settings, address, on_farm_status)
        log.info("Render and inference steps go to the farm at %s", address)
    catalog = Catalog(paths.catalog_file)
    log.info("Catalog %s", paths.catalog_file)
    return Runtime(paths, settings, catalog, build_registry(executor=farm), farm=farm)


class HeadlessLanes:
    """Thread-pool lanes for command-line runs (the app uses QThreadPool lanes instead)."""

    def __init__(
        self, media_threads: int, render_threads: int = 1, inference_threads: int = INFERENCE_JOBS_IN_FLIGHT
    ) -> None:
        self.media = ThreadPoolExecutor(media_threads, thread_name_prefix="media")
        self.render = ThreadPoolExecutor(render_threads, thread_name_prefix="render")
        self.inference = ThreadPoolExecutor(inference_threads, thread_name_prefix="inference")
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="catalog-writer")

    def by_name(self) -> dict[Lane, Executor]:
        return {Lane.MEDIA: self.media, Lane.RENDER: self.render, Lane.INFERENCE: self.inference}

    def shutdown(self) -> None:
        """As the app's lanes: work lanes stop first, then the writer drains their catalog writes."""
        for pool in (self.media, self.render, self.inference):
            pool.shutdown(wait=True, cancel_futures=True)
        self.writer.shutdown(wait=True)


def headless_scheduler(
    runtime: Runtime,
    lanes: HeadlessLanes,
    listener: SchedulerListener | None = None,
    resources: LaneResources | None = None,
) -> JobScheduler:
    """A scheduler over thread-pool lanes; with ``resources``, renders reuse one warm child process
    and classification is batched, as in the app. Like the app at start, it first takes over the jobs
    an interrupted process left behind (a killed ``stratopipe ingest``)."""
    scheduler = JobScheduler(
        runtime.catalog,
        runtime.registry,
        runtime.paths,
        runtime.settings,
        lanes.by_name(),
        lanes.writer,
        listener=listener,
        lane_params=resources.params if resources is not None else None,
    )
    scheduler.recover()
    return scheduler
