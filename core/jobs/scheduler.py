"""The job scheduler: runs job documents on lanes, persists them, applies their products.

Plain Python over ``concurrent.futures.Executor`` lanes, so one piece of code serves the CLI (thread pools)
and the desktop app (workers/ hands in QThreadPool-backed executors and forwards the listener calls to Qt
signals). All catalog writes go through the single ``writer`` executor: they are serialised by design.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.catalog.stores import LEASE_RENEW_S
from core.ingest import sequence_frames
from core.jobs.model import JobDocument, JobState, Lane, StepStatus
from core.jobs.runner import reset_for_retry, run_job
from core.jobs.steps import AssetRef, CancelToken, StepContext, StepRegistry
from core.notify import QUIET_KINDS, BatchSummary, BatchTracker
from core.pipeline import JOB_KINDS, apply_job_failure, apply_step_output, jobs_after, lane_of

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from core.catalog.catalog import Catalog
    from core.paths import AppPaths
    from core.settings import Settings

log = logging.getLogger(__name__)


class SchedulerListener(Protocol):
    def job_updated(self, doc: JobDocument) -> None: ...
    def asset_changed(self, asset_id: int) -> None: ...
    def batch_finished(self, summary: BatchSummary) -> None: ...


class NullListener:
    def job_updated(self, doc: JobDocument) -> None:
        pass

    def asset_changed(self, asset_id: int) -> None:
        pass

    def batch_finished(self, summary: BatchSummary) -> None:
        pass


@dataclass
class _Outstanding:
    count: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)

    def add(self, n: int = 1) -> None:
        with self.condition:
            self.count += n

    def done(self) -> None:
        with self.condition:
            self.count -= 1
            if self.count <= 0:
                self.condition.notify_all()

    def wait(self, timeout: float | None) -> bool:
        with self.condition:
            return self.condition.wait_for(lambda: self.count <= 0, timeout)


LaneParams = Callable[[Lane], dict[str, Any]]


class JobScheduler:
    def __init__(
        self,
        catalog: Catalog,
        registry: StepRegistry,
        paths: AppPaths,
        settings: Settings,
        lanes: Mapping[Lane, Executor],
        writer: Executor,
        *,
        listener: SchedulerListener | None = None,
        lane_params: LaneParams | None = None,
    ) -> None:
        self._catalog = catalog
        self._registry = registry
        self._paths = paths
        self._settings = settings
        self._lanes = lanes
        self._writer = writer
        self._listener: SchedulerListener = listener or NullListener()
        self._lane_params = lane_params or (lambda _lane: {})
        self._tokens: dict[int, CancelToken] = {}
        self._lock = threading.Lock()
        self._outstanding = _Outstanding()
        self._batches = BatchTracker()
        self._job_batch: dict[int, str] = {}
        self._closed = False
        self._paused = False
        self._held: list[JobDocument] = []
        self._heartbeat_stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    # ---- public API -----------------------------------------------------------------------------

    def submit(self, docs: list[JobDocument], *, batch_id: str | None = None, batch_kind: str = "") -> None:
        if not docs or self._closed:
            return
        for doc in docs:
            doc.state = JobState.QUEUED
        known = [d.id for d in docs if d.id is not None]
        self._catalog.jobs.add([d for d in docs if d.id is None])
        if known:
            # A job another live process owns is its to run: never run one job twice.
            owned = self._catalog.jobs.claim(known)
            docs = [d for d in docs if d.id not in known or d.id in owned]
            if not docs:
                return
        self._start_heartbeat()
        if batch_id is not None:
            self._batches.add_jobs(batch_id, batch_kind or docs[0].kind, docs)
        with self._lock:
            for doc in docs:
                assert doc.id is not None
                self._tokens[doc.id] = CancelToken()
                if batch_id is not None:
                    self._job_batch[doc.id] = batch_id
        self._outstanding.add(len(docs))
        for doc in docs:
            self._listener.job_updated(copy.deepcopy(doc))
            self._dispatch(doc)

    def close_batch(
        self,
        batch_id: str,
        kind: str,
        *,
        failures: list[tuple[str, str]] | None = None,
        note: str = "",
        asset_names: dict[int, str] | None = None,
    ) -> None:
        """No more jobs join ``batch_id``; its summary comes once its jobs are done."""
        if asset_names:
            self._batches.name_assets(batch_id, asset_names)
        summary = self._batches.close(batch_id, kind, failures=failures, note=note)
        if summary is not None:
            self._batch_done(summary)

    def name_batch_assets(self, batch_id: str, names: dict[int, str]) -> None:
        self._batches.name_assets(batch_id, names)

    def cancel(self, job_id: int) -> None:
        with self._lock:
            token = self._tokens.get(job_id)
        if token is not None:
            token.cancel()
            self._release_held({job_id})

    def cancel_all(self) -> None:
        with self._lock:
            tokens = list(self._tokens)
        for job_id in tokens:
            self.cancel(job_id)

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Hold queued jobs (new ones too) until ``resume``; running jobs finish. Held jobs stay queued
        and leased to this process, so quitting while paused leaves them for the next start's recover."""
        with self._lock:
            self._paused = True
        log.info("Jobs paused: queued jobs wait, running ones finish")

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            held, self._held = self._held, []
        log.info("Jobs resumed (%d were waiting)", len(held))
        for doc in held:
            self._dispatch(doc)

    def retry(self, job_id: int) -> JobDocument | None:
        doc = self._catalog.jobs.get(job_id)
        if doc is None or doc.state not in (JobState.FAILED, JobState.CANCELLED):
            return None
        if job_id not in self._catalog.jobs.claim([job_id]):
            return None
        reset_for_retry(doc)
        self._catalog.jobs.save(doc)
        self.submit([doc])
        return doc

    def recover(self) -> list[JobDocument]:
        """Re-run jobs that a crashed or killed process left running or queued (their completed steps
        are kept). Every entry point calls it at start; jobs a live process owns are left to it."""
        with self._lock:
            in_flight = list(self._tokens)
        recovered = self._catalog.jobs.recover_interrupted(in_flight)
        if recovered:
            log.info("Recovered %d interrupted job(s)", len(recovered))
            self.submit(recovered)
        return recovered

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._outstanding.wait(timeout)

    def active_count(self) -> int:
        return max(self._outstanding.count, 0)

    def shutdown(self) -> None:
        """Stop accepting jobs and cancel the running ones; they are recovered at next start if cut."""
        self._closed = True  # first: held jobs are not released into lanes that are stopping
        self.cancel_all()
        self._heartbeat_stop.set()

    # ---- leases ---------------------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        with self._lock:
            if self._heartbeat is not None:
                return
            self._heartbeat = threading.Thread(target=self._renew_leases, name="job-leases", daemon=True)
        self._heartbeat.start()

    def _renew_leases(self) -> None:
        """Keep this process's jobs leased while it holds them. Its own thread rather than the writer
        lane: a backlog of catalog writes must not let a live job's lease run out."""
        while not self._heartbeat_stop.wait(LEASE_RENEW_S):
            with self._lock:
                held = list(self._tokens)
            if not held:
                continue
            try:
                kept = self._catalog.jobs.renew(held)
            except Exception:
                log.exception("Could not renew job leases")
                continue
            for job_id in set(held) - kept:
                log.warning("Job %s was taken over by another process; stopping it here", job_id)
                self.cancel(job_id)

    # ---- running --------------------------------------------------------------------------------

    def _dispatch(self, doc: JobDocument) -> None:
        with self._lock:
            if self._paused:
                self._held.append(doc)
                return
        self._lanes[lane_of(doc.kind)].submit(self._execute, doc)

    def _release_held(self, job_ids: set[int]) -> None:
        """A cancelled job leaves the hold to run through its lane, which records it as cancelled."""
        with self._lock:
            if self._closed:
                return
            released = [d for d in self._held if d.id in job_ids]
            self._held = [d for d in self._held if d.id not in job_ids]
        for doc in released:
            self._lanes[lane_of(doc.kind)].submit(self._execute, doc)

    def _execute(self, doc: JobDocument) -> None:
        assert doc.id is not None
        with self._lock:
            token = self._tokens.setdefault(doc.id, CancelToken())
            # Queued in a lane before the pause: hold it now rather than start it.
            if self._paused and not token.cancelled:
                self._held.append(doc)
                return
        try:
            asset = self._asset_ref(doc.asset_id) if doc.asset_id is not None else None
            if doc.asset_id is not None and asset is None:
                doc.state = JobState.CANCELLED
                doc.message = "The asset was removed"
                self._persist(doc, applied=set())
            else:
                context = StepContext(
                    asset=asset,
                    paths=self._paths,
                    settings=self._settings,
                    cancel=token,
                    params={**doc.params, **self._lane_params(lane_of(doc.kind))},
                )
                applied = {s.name for s in doc.steps if s.status == StepStatus.COMPLETED}
                last_states: list[str] = []

                def on_update(current: JobDocument) -> None:
                    states = [str(current.state), *(str(s.status) for s in current.steps)]
                    if states != last_states:
                        last_states[:] = states
                        self._persist(current, applied)
                    else:
                        self._listener.job_updated(copy.deepcopy(current))

                run_job(doc, self._registry, context, on_update=on_update)
        except Exception as exc:
            log.exception("Job %s crashed", doc.id)
            doc.state = JobState.FAILED
            doc.error = f"Internal error: {exc}"
            self._persist(doc, applied=set())
        finally:
            self._writer.submit(self._after_job, copy.deepcopy(doc))

    def _persist(self, doc: JobDocument, applied: set[str]) -> None:
        snapshot = copy.deepcopy(doc)
        newly_done = [
            s.name for s in snapshot.steps if s.status == StepStatus.COMPLETED and s.name not in applied
        ]
        applied.update(newly_done)
        self._outstanding.add()
        self._writer.submit(self._write, snapshot, newly_done)
        self._listener.job_updated(copy.deepcopy(snapshot))

    def _write(self, snapshot: JobDocument, newly_done: list[str]) -> None:
        try:
            if not self._catalog.jobs.save(snapshot):
                log.warning("Job %s belongs to another process now; not recording it here", snapshot.id)
                return
            changed = False
            for step_name in newly_done:
                changed |= apply_step_output(self._catalog, snapshot, step_name)
            if snapshot.state == JobState.FAILED:
                changed |= apply_job_failure(self._catalog, snapshot)
            if changed and snapshot.asset_id is not None:
                self._listener.asset_changed(snapshot.asset_id)
        except Exception:
            log.exception("Could not record job %s", snapshot.id)
        finally:
            self._outstanding.done()

    def _after_job(self, doc: JobDocument) -> None:
        """On the writer lane, after the job's own writes: follow-ups, batch bookkeeping."""
        try:
            assert doc.id is not None
            with self._lock:
                self._tokens.pop(doc.id, None)
                batch_id = self._job_batch.pop(doc.id, None)
            follow_ups: list[JobDocument] = []
            if doc.asset_id is not None and not self._closed:
                record = self._catalog.get_asset(doc.asset_id)
                if record is not None:
                    follow_ups = jobs_after(doc, record.kind, self._registry)
            if follow_ups:
                child_batch = f"{batch_id}/{follow_ups[0].kind}" if batch_id else None
                self.submit(follow_ups, batch_id=child_batch, batch_kind=follow_ups[0].kind)
            summary = self._batches.finish(doc)
            if summary is not None:
                self._batch_done(summary)
        except Exception:
            log.exception("Could not finish job %s", doc.id)
        finally:
            self._outstanding.done()

    def _batch_done(self, summary: BatchSummary) -> None:
        # Follow-up batches of this batch are complete once every job that could spawn them finished.
        for kind in JOB_KINDS:
            child = f"{summary.batch_id}/{kind}"
            child_summary = self._batches.close(child, kind)
            if child_summary is not None and child_summary.total:
                self._batch_done(child_summary)
        if summary.total and (summary.failed or summary.kind not in QUIET_KINDS):
            self._listener.batch_finished(summary)

    def _asset_ref(self, asset_id: int) -> AssetRef | None:
        record = self._catalog.get_asset(asset_id)
        if record is None:
            return None
        frames: tuple[Path, ...] = sequence_frames(record.metadata) if record.is_sequence else ()

        return AssetRef(
            id=record.id,
            path=Path(record.path),
            kind=record.kind,
            content_hash=record.content_hash,
            metadata=record.metadata,
            frames=frames,
        )


def new_batch_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:10]}"
