"""Runs ingest batches off the UI thread and feeds new assets to the job scheduler.

The batch driver runs on a superqt generator worker (started by ``BackgroundWork``); each file is
examined on the media lane. As soon as a group of files is registered, their thumbnail jobs are
queued, so thumbnails start arriving while the rest of the batch is still being examined.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import GeneratorWorker, create_worker

from core.ingest import Ingestor, IngestProgress, IngestReport
from core.ingest_jobs import ingest_with_jobs
from core.jobs.steps import CancelToken
from core.pipeline import jobs_after_ingest

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.jobs.steps import StepRegistry
    from core.media.limits import MediaLimits
    from core.paths import AppPaths
    from core.profiles import ProcessingProfile
    from workers.background import BackgroundWork
    from workers.job_controller import JobController
    from workers.lanes import Lanes

log = logging.getLogger(__name__)


class IngestController(QObject):
    progress = Signal(object)  # IngestProgress
    assets_added = Signal(object)  # list[AssetRecord]
    finished = Signal(object)  # IngestReport
    failed = Signal(str)  # a fatal error of the whole batch (not of one file)
    sequence_split = Signal(int, object)  # the sequence's asset id (gone), IngestReport of its images

    def __init__(
        self,
        catalog: Catalog,
        paths: AppPaths,
        limits: MediaLimits,
        lanes: Lanes,
        jobs: JobController,
        registry: StepRegistry,
        background: BackgroundWork,
        roots: Mapping[str, str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._ingestor = Ingestor(catalog, paths, limits, lanes.media, roots=roots)
        self._jobs = jobs
        self._registry = registry
        self._background = background
        self._media_threads = lanes.media.pool.maxThreadCount()
        self._cancel: CancelToken | None = None
        self._worker: GeneratorWorker[Any, Any, Any] | None = None

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def ingest(
        self, paths: list[Path], project_id: int, copy: bool = False, profile: ProcessingProfile | None = None
    ) -> None:
        """Ingest on a worker; ``profile`` (None: the default one) says which follow-up jobs are queued."""
        if self._worker is not None:
            raise RuntimeError("An ingest is already running; wait for it or cancel it")
        cancel = CancelToken()
        self._cancel = cancel
        # A failure of the whole batch is reported by ``failed`` (and logged), not re-raised as uncaught.
        worker: GeneratorWorker[Any, Any, Any] = create_worker(
            self._drive,
            list(paths),
            project_id,
            copy,
            cancel,
            profile,
            _start_thread=False,
            _ignore_errors=True,
        )
        worker.yielded.connect(self._on_yielded)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        # By id, not the worker itself: a slot holding its own worker is a cycle through C++.
        worker.finished.connect(partial(self._forget, id(worker)))
        self._worker = worker
        self._background.start(worker)

    def split_sequence(self, record: AssetRecord) -> None:
        """The user says a sequence is separate images: replace it by one asset per frame, off the UI
        thread, and queue their thumbnails as after an ingest."""
        self._background.call(
            partial(self._ingestor.split_sequence, record.id),
            partial(self._on_split, record.id),
            errored=self._on_split_failed,
        )

    def _on_split(self, sequence_id: int, report: IngestReport) -> None:
        records = self._catalog.get_assets(report.added)
        docs = [job for r in records for job in jobs_after_ingest(r.id, r.project_id, r.kind, self._registry)]
        if docs:
            self._jobs.submit(docs)
        log.info("Split sequence %d into %d image(s)", sequence_id, len(records))
        self.sequence_split.emit(sequence_id, report)

    def _on_split_failed(self, exc: Exception) -> None:
        log.error("Splitting a sequence failed: %s", exc, exc_info=exc)
        self.failed.emit(f"Could not split the sequence: {exc}")

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()

    def _drive(
        self,
        paths: list[Path],
        project_id: int,
        copy: bool,
        cancel: CancelToken,
        profile: ProcessingProfile | None,
    ) -> Generator[tuple[IngestProgress, list[AssetRecord]], None, IngestReport]:
        return (
            yield from ingest_with_jobs(
                self._ingestor,
                self._jobs.scheduler,
                self._catalog,
                self._registry,
                paths,
                project_id,
                copy_into_library=copy,
                cancel=cancel,
                max_in_flight=max(4, 2 * self._media_threads),
                profile=profile,
            )
        )

    def _on_yielded(self, item: tuple[IngestProgress, list[AssetRecord]]) -> None:
        progress, records = item
        if records:
            self.assets_added.emit(records)
        self.progress.emit(progress)

    def _on_returned(self, report: IngestReport) -> None:
        log.info("%s in %.1f s", report.summary, report.seconds)
        # Idle before announcing it: a receiver may start the next ingest (one queued by a drop).
        self._worker, self._cancel = None, None
        self.finished.emit(report)

    def _on_errored(self, exc: Exception) -> None:
        log.error("Ingest failed: %s", exc, exc_info=exc)
        self._worker, self._cancel = None, None
        self.failed.emit(str(exc))

    def _forget(self, worker_id: int) -> None:
        """The worker ended without an outcome (quit at exit): the controller is idle all the same."""
        if self._worker is not None and id(self._worker) == worker_id:
            self._worker, self._cancel = None, None
