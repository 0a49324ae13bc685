"""The job scheduler: runs job documents on lanes, persists them, applies their products.

Plain Python over ``concurrent.futures.Executor`` lanes, so one piece of code serves the CLI (thread pools)
and the desktop app (workers/ hands in QThreadPool-backed executors and forwards the listener calls to Qt
signals). All catalog writes go through the single ``writer`` executor: they are serialised by design.

Queue control: jobs wait in a :class:`LaneQueue` (priority order, per-lane and global pause, held jobs,
one step at a time); a :class:`StallWatchdog` stops silent steps on every lane and raises an alert.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from core.jobs.assets import asset_ref
from core.jobs.lane_queue import LaneQueue
from core.jobs.leases import LeaseHeartbeat
from core.jobs.listener import NullListener, Outstanding, SchedulerListener
from core.jobs.model import JobDocument, JobState, Lane, Priority, StepStatus
from core.jobs.runner import DEFAULT_BACKOFF_S, reset_for_rerun, reset_for_retry, run_job
from core.jobs.steps import CancelToken, StepContext, StepRegistry
from core.jobs.watchdog import StallReport, StallWatchdog
from core.notify import (
    USER_BATCH_PREFIX,
    BatchSummary,
    BatchTracker,
    JobAlert,
    is_quiet,
    recovered_alert,
    stall_alert,
)
from core.pipeline import JOB_KINDS, apply_job_failure, apply_step_output, jobs_after, lane_of

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from core.catalog.catalog import Catalog
    from core.paths import AppPaths
    from core.settings import Settings

log = logging.getLogger(__name__)


LaneParams = Callable[[Lane], dict[str, Any]]
AlertSink = Callable[[JobAlert], None]


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
        alerts: AlertSink | None = None,
        backoff_s: Sequence[float] = DEFAULT_BACKOFF_S,
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
        self._outstanding = Outstanding()
        self._batches = BatchTracker()
        self._job_batch: dict[int, str] = {}
        self._closed = False
        self.queue = LaneQueue()  # the UI reads the pause state from it
        self._alerts: AlertSink = alerts or (lambda _alert: None)
        self._backoff_s = tuple(backoff_s)
        self.watchdog = StallWatchdog(self._on_stall)
        self._leases = LeaseHeartbeat(catalog.jobs, self._job_ids_in_hand, self.cancel)

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
        self._leases.start()
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
        """Cancel a job: a waiting one is recorded cancelled now, a running one when its step stops."""
        with self._lock:
            token = self._tokens.get(job_id)
        waiting = None if self._closed else self.queue.remove(job_id)
        if token is not None:
            token.cancel()
        if waiting is not None:
            self._record_cancelled(waiting)

    def cancel_all(self) -> None:
        with self._lock:
            tokens = list(self._tokens)
        for job_id in tokens:
            self.cancel(job_id)

    @property
    def paused(self) -> bool:
        """Everything is paused (``pause()`` without a lane)."""
        return self.queue.all_paused

    def pause(self, lane: Lane | None = None) -> None:
        """Hold the queued jobs of ``lane`` (every lane when None), new ones too, until ``resume``;
        running jobs finish. Held jobs stay queued and leased to this process, so quitting while
        paused leaves them for the next start's recover."""
        self.queue.pause(lane)
        log.info("Jobs paused (%s): queued jobs wait, running ones finish", lane or "all lanes")

    def resume(self, lane: Lane | None = None) -> None:
        log.info("Jobs resumed (%s)", lane or "all lanes")
        for each in self.queue.resume(lane):
            self._feed(each)

    def hold(self, job_id: int) -> None:
        """Pause one job: a queued one waits, a running one stops after its current step."""
        self.queue.hold(job_id)

    def release(self, job_id: int) -> None:
        if (lane := self.queue.release(job_id)) is not None:
            self._feed(lane)

    def step(self, job_id: int) -> bool:
        """Run the next step of a paused (held, or in a paused lane) job, then hold it again."""
        lane = self.queue.let_one_step(job_id)
        if lane is not None:
            self._feed(lane)
        return lane is not None

    def bump(self, job_id: int) -> bool:
        """Move a queued job to the top of its lane (it still waits while its lane is paused)."""
        bumped = self.queue.bump(job_id)
        if bumped is None:
            return False
        lane, doc = bumped
        log.info("Job %s bumped to the top of the %s lane", job_id, lane)
        self._persist(doc, {s.name for s in doc.steps if s.status == StepStatus.COMPLETED})
        self._feed(lane)
        return True

    def rerun_step(
        self, job_id: int, step: str, overrides: dict[str, Any] | None = None
    ) -> JobDocument | None:
        """Run one step of a finished job again with ``overrides`` on its params. The earlier output
        stays (catalog and files) until the new one succeeds; None when the job cannot be re-run."""
        doc = self._catalog.jobs.get(job_id)
        if doc is None or not doc.state.finished or step not in {s.name for s in doc.steps}:
            return None
        if job_id not in self._catalog.jobs.claim([job_id]):
            return None
        reset_for_rerun(doc, step, overrides or {})
        doc.priority = max(doc.priority, Priority.USER)
        self._catalog.jobs.save(doc)
        self.submit([doc])
        return doc

    def retry(self, job_id: int) -> JobDocument | None:
        doc = self._catalog.jobs.get(job_id)
        if doc is None or doc.state not in (JobState.FAILED, JobState.CANCELLED):
            return None
        if job_id not in self._catalog.jobs.claim([job_id]):
            return None
        reset_for_retry(doc)
        doc.priority = max(doc.priority, Priority.USER)  # asked for now
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
            self._alerts(recovered_alert(len(recovered), recovered[0].id))
        return recovered

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._outstanding.wait(timeout)

    def active_count(self) -> int:
        return max(self._outstanding.count, 0)

    def shutdown(self) -> None:
        """Stop accepting jobs and cancel the running ones; they are recovered at next start if cut."""
        self._closed = True  # first: waiting jobs are not released into lanes that are stopping
        self.cancel_all()
        self._leases.stop()
        self.watchdog.stop()

    # ---- running --------------------------------------------------------------------------------

    def _dispatch(self, doc: JobDocument) -> None:
        lane = lane_of(doc.kind)
        self.queue.put(lane, doc)
        self._feed(lane)

    def _feed(self, lane: Lane) -> None:
        """Give the lane's executor one ticket per runnable waiting job (see core/jobs/lane_queue.py)."""
        if self._closed:
            return
        for _ in range(self.queue.new_tickets(lane)):
            self._lanes[lane].submit(self._run_next, lane)

    def _run_next(self, lane: Lane) -> None:
        taken = self.queue.take(lane)
        if taken is not None:
            self._execute(taken.doc, one_step=taken.one_step)

    def _record_cancelled(self, doc: JobDocument) -> None:
        """A job cancelled while it waited: recorded at once, not when its lane gets round to it."""
        for step in doc.steps:
            if step.status in (StepStatus.PENDING, StepStatus.RUNNING):
                step.status = StepStatus.CANCELLED
        doc.state = JobState.CANCELLED
        doc.message = "Cancelled"
        self._persist(doc, applied=set())
        self._writer.submit(self._after_job, copy.deepcopy(doc))

    def _execute(self, doc: JobDocument, *, one_step: bool = False) -> None:
        assert doc.id is not None
        with self._lock:
            token = self._tokens.setdefault(doc.id, CancelToken())
        try:
            asset = asset_ref(self._catalog, doc.asset_id) if doc.asset_id is not None else None
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

                run_job(
                    doc,
                    self._registry,
                    context,
                    on_update=on_update,
                    backoff_s=self._backoff_s,
                    watchdog=self.watchdog,
                    should_pause=lambda: self.queue.stop_after_step(doc.id, one_step),
                )
        except Exception as exc:
            log.exception("Job %s crashed", doc.id)
            doc.state = JobState.FAILED
            doc.error = f"Internal error: {exc}"
            self._persist(doc, applied=set())
        finally:
            if doc.state == JobState.QUEUED and not self._closed:
                self._dispatch(doc)  # paused between steps: back to wait for its lane
            else:
                self._writer.submit(self._after_job, copy.deepcopy(doc))

    def _on_stall(self, report: StallReport) -> None:
        self._alerts(stall_alert(report.job_id, report.step, report.message))

    def _job_ids_in_hand(self) -> list[int]:
        with self._lock:
            return list(self._tokens)

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
        if summary.total and (summary.failed or not is_quiet(summary)):
            self._listener.batch_finished(summary)


def new_batch_id(kind: str, *, requested: bool = False) -> str:
    """A fresh batch id; ``requested``: a user asked for it from a menu (it always notifies)."""
    return f"{USER_BATCH_PREFIX if requested else ''}{kind}-{uuid.uuid4().hex[:10]}"


__all__ = ["AlertSink", "JobScheduler", "LaneParams", "SchedulerListener", "new_batch_id"]
