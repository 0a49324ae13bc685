"""Qt face of the job scheduler: its listener calls become signals carrying plain dataclasses."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from core.jobs.scheduler import JobScheduler, LaneParams

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from core.jobs.model import JobDocument, Lane
    from core.jobs.steps import StepRegistry
    from core.notify import BatchSummary
    from core.paths import AppPaths
    from core.settings import Settings
    from workers.lanes import Lanes

log = logging.getLogger(__name__)


class JobController(QObject):
    # Emitted from lane threads; Qt queues them to receivers living on the UI thread.
    job_updated = Signal(object)  # JobDocument (a private copy)
    asset_changed = Signal(object)  # AssetRecord after a job changed it
    batch_finished = Signal(object)  # BatchSummary
    alert_raised = Signal(object)  # JobAlert (a stalled step, jobs recovered after a crash)
    queue_changed = Signal()  # a lane or job was paused, resumed, stepped or bumped

    def __init__(
        self,
        catalog: Catalog,
        registry: StepRegistry,
        paths: AppPaths,
        settings: Settings,
        lanes: Lanes,
        lane_params: LaneParams | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.scheduler = JobScheduler(
            catalog,
            registry,
            paths,
            settings,
            lanes.by_name(),
            lanes.writer,
            listener=_SignalListener(self),
            lane_params=lane_params,
            alerts=self.alert_raised.emit,
        )

    # Intents from the UI -------------------------------------------------------------------------
    def submit(self, docs: list[JobDocument], batch_id: str | None = None, batch_kind: str = "") -> None:
        self.scheduler.submit(docs, batch_id=batch_id, batch_kind=batch_kind)

    def cancel(self, job_id: int) -> None:
        self.scheduler.cancel(job_id)

    def retry(self, job_id: int) -> None:
        self.scheduler.retry(job_id)

    def rerun_step(self, job_id: int, step: str, overrides: dict[str, Any]) -> bool:
        return self.scheduler.rerun_step(job_id, step, overrides) is not None

    # Queue control: every change is announced so the Jobs panel and the tray menu agree.
    def set_paused(self, paused: bool, lane: Lane | None = None) -> None:
        if paused:
            self.scheduler.pause(lane)
        else:
            self.scheduler.resume(lane)
        self.queue_changed.emit()

    def set_job_held(self, job_id: int, held: bool) -> None:
        if held:
            self.scheduler.hold(job_id)
        else:
            self.scheduler.release(job_id)
        self.queue_changed.emit()

    def step(self, job_id: int) -> bool:
        stepped = self.scheduler.step(job_id)
        self.queue_changed.emit()
        return stepped

    def bump(self, job_id: int) -> bool:
        bumped = self.scheduler.bump(job_id)
        self.queue_changed.emit()
        return bumped

    def active_count(self) -> int:
        return self.scheduler.active_count()

    def shutdown(self) -> None:
        self.scheduler.shutdown()


class _SignalListener:
    """The scheduler's listener: turns its calls (on lane threads) into the controller's signals."""

    def __init__(self, controller: JobController) -> None:
        self._controller = controller

    def job_updated(self, doc: JobDocument) -> None:
        self._controller.job_updated.emit(doc)

    def asset_changed(self, asset_id: int) -> None:
        record = self._controller.catalog.get_asset(asset_id)
        if record is not None:
            self._controller.asset_changed.emit(record)

    def batch_finished(self, summary: BatchSummary) -> None:
        self._controller.batch_finished.emit(summary)
