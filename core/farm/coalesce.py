"""Small steps of many jobs sent to the cluster as one Dask task.

A classification costs a worker ~60 ms while the per-task path (submit, the scheduler's bookkeeping,
a cancel Event long-polled per task, progress and result messages) costs ~16-28 ms: sent one task per
job, the farm spent a third of its time on overhead and the worker's batched forward pass saw few
images at once. Here lane threads hand their prepared calls to a ``StepCoalescer``; one thread per
kind of worker slot gathers them and submits each group as one task (``remote.run_remote_batch``),
whose jobs run side by side on the worker and meet in its inference batcher, so one forward pass
serves several jobs, as on the app's own inference lane.

The batch closes at ``max_jobs`` calls or ``window_s`` after its oldest call arrived, whichever comes
first. The window is counted from the oldest call's arrival, so a call that already waited while the
previous batch was being sent goes at once; a job alone pays at most ``window_s`` (5 ms, against a
per-task path of ~20 ms and a classification of ~60 ms), while the lane threads that a finished batch
frees come back within a few ms and go out together. ``max_jobs`` is the inference engine's batch size.

Each job keeps its own handle (``BatchedTask``): its own outcome (one corrupt image fails its own job
only), progress (events carry each job's key), cancel (its own Event, then the batch's doorbell; the
worker stops that job alone and says so at once, so the job does not wait for the rest of its batch),
and a lost worker fails every job of the batch as ``RecoverableError``, each retried by its runner.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from core.farm.dask_api import distributed
from core.farm.tasks import finished_value, run_batch_on_worker
from core.farm.wire import RemoteBatchCall, RemoteStepOutcome
from core.jobs.steps import RecoverableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.farm.wire import RemoteStepCall

log = logging.getLogger(__name__)

DEFAULT_WINDOW_S = 0.005
DEFAULT_MAX_JOBS = 8


class BatchedTask:
    """One job's step inside a batch task; the handle its lane thread waits on (tasks.RemoteTask)."""

    def __init__(self, gatherer: _Gatherer, client: Any, call: RemoteStepCall) -> None:
        self.call = call
        self.client = client
        self.queued_at = time.monotonic()
        self.doorbell: str | None = None  # set when the call is taken into a batch
        self.cancel_sent = False
        self._gatherer = gatherer
        self._result: Future[RemoteStepOutcome] = Future()

    def done(self) -> bool:
        return self._result.done()

    def on_done(self, callback: Callable[[], None]) -> None:
        self._result.add_done_callback(lambda _future: callback())

    def cancel(self) -> None:
        if self._gatherer.withdraw(self):
            self._result.set_result(
                RemoteStepOutcome("cancelled", "", message="Cancelled before it was sent to the farm")
            )
            return
        assert self.doorbell is not None
        self.cancel_sent = True
        dask = distributed()
        dask.Event(self.call.cancel_event, client=self.client).set()
        dask.Event(self.doorbell, client=self.client).set()
        if self.done():  # the batch ended meanwhile: its fan-out may have looked before we rang
            _clear_events(self.client, self.doorbell, [self])

    def outcome(self) -> RemoteStepOutcome:
        try:
            return self._result.result()
        except RecoverableError:
            raise
        except Exception as exc:  # the fan-out sets only RecoverableError; anything else is a bug
            raise RecoverableError(f"{self.call.step} on the farm failed: {exc}") from exc

    def close(self) -> None:
        """Nothing to do: the lane may stop waiting before the worker has read this job's cancel
        Event, so the Events are cleared when the whole batch is done (``_fan_out``)."""

    def _settle(self, outcome: RemoteStepOutcome | None, error: RecoverableError | None) -> None:
        if self._result.done():  # withdrawn meanwhile
            return
        if error is not None:
            self._result.set_exception(error)
        else:
            assert outcome is not None
            self._result.set_result(outcome)


class StepCoalescer:
    """Gathers small steps into batch tasks; one gatherer (and thread) per kind of worker slot."""

    def __init__(self, *, window_s: float = DEFAULT_WINDOW_S, max_jobs: int = DEFAULT_MAX_JOBS) -> None:
        self.window_s = window_s
        self.max_jobs = max_jobs
        self.batch_sizes: list[int] = []  # recent batch sizes, for the tests and the benchmark
        self._lock = threading.Lock()
        self._gatherers: dict[tuple[tuple[str, float], ...], _Gatherer] = {}
        self._closed = False

    def add(self, client: Any, call: RemoteStepCall, resources: dict[str, float] | None) -> BatchedTask:
        slot = tuple(sorted((resources or {}).items()))
        with self._lock:
            if self._closed:
                raise RecoverableError("the farm connection was closed")
            gatherer = self._gatherers.get(slot)
            if gatherer is None:
                gatherer = self._gatherers[slot] = _Gatherer(self, resources)
        task = BatchedTask(gatherer, client, call)
        gatherer.add(task)
        return task

    def close(self) -> None:
        with self._lock:
            self._closed = True
            gatherers, self._gatherers = list(self._gatherers.values()), {}
        for gatherer in gatherers:
            gatherer.close()

    def _record(self, size: int) -> None:
        with self._lock:
            self.batch_sizes = [*self.batch_sizes[-999:], size]


class _Gatherer:
    def __init__(self, owner: StepCoalescer, resources: dict[str, float] | None) -> None:
        self._owner = owner
        self._resources = resources
        self._ready = threading.Condition()
        self._waiting: deque[BatchedTask] = deque()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="farm-coalescer", daemon=True)
        self._thread.start()

    def add(self, task: BatchedTask) -> None:
        with self._ready:
            if not self._closed:
                self._waiting.append(task)
                self._ready.notify()
                return
        task._settle(None, RecoverableError("the farm connection was closed"))

    def withdraw(self, task: BatchedTask) -> bool:
        """True when ``task`` was still waiting here (it is then never sent)."""
        with self._ready:
            if task.doorbell is None and task in self._waiting:
                self._waiting.remove(task)
                return True
            return False

    def close(self) -> None:
        with self._ready:
            self._closed = True
            left, self._waiting = list(self._waiting), deque()
            self._ready.notify()
        for task in left:
            task._settle(None, RecoverableError("the farm connection was closed"))
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while True:
            batch_key = f"stratopipe-batch-{uuid.uuid4().hex}"
            batch = self._next_batch(f"{batch_key}-cancel")
            if batch is None:
                return
            self._submit(batch_key, batch)

    def _next_batch(self, doorbell: str) -> list[BatchedTask] | None:
        limit = self._owner.max_jobs
        with self._ready:
            while True:
                while not self._waiting and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return None
                deadline = self._waiting[0].queued_at + self._owner.window_s
                while 0 < len(self._waiting) < limit and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._ready.wait(remaining)
                if self._waiting:  # empty when every waiting call was withdrawn meanwhile
                    break
            # One client per batch: after a reconnect, calls made with the old one go in their own.
            client = self._waiting[0].client
            batch: list[BatchedTask] = []
            while self._waiting and len(batch) < limit and self._waiting[0].client is client:
                task = self._waiting.popleft()
                task.doorbell = doorbell
                batch.append(task)
            return batch

    def _submit(self, batch_key: str, batch: list[BatchedTask]) -> None:
        call = RemoteBatchCall(batch_key, f"{batch_key}-cancel", tuple(task.call for task in batch))
        client = batch[0].client
        self._owner._record(len(batch))
        log.debug("%d step(s) go to the farm as %s", len(batch), batch_key)
        try:
            future = client.submit(
                run_batch_on_worker, call, key=batch_key, pure=False, retries=0, resources=self._resources
            )
        except Exception as exc:  # noqa: BLE001 - a client closed or lost meanwhile: the runners retry
            log.info("Submitting a batch of %d steps failed: %s", len(batch), exc)
            for task in batch:
                task._settle(None, RecoverableError(f"{task.call.step} could not be sent to the farm: {exc}"))
            return
        future.add_done_callback(lambda done: _fan_out(client, call, batch, done))


def _fan_out(client: Any, call: RemoteBatchCall, batch: list[BatchedTask], future: Any) -> None:
    """Each job gets its own outcome (Dask runs this on its callback thread, not the event loop)."""
    try:
        outcomes = _outcomes(future, batch)
    except RecoverableError as error:
        for task in batch:
            task._settle(None, error)
    else:
        for task, outcome in zip(batch, outcomes, strict=True):
            task._settle(outcome, None)
    finally:
        try:
            future.release()
        except Exception:  # a client closing meanwhile: nothing left to tidy
            log.debug("Releasing batch %s failed", call.key, exc_info=True)
        _clear_events(client, call.doorbell, batch)


def _clear_events(client: Any, doorbell: str, batch: list[BatchedTask]) -> None:
    """A set Event stays on the scheduler: clear those of the cancelled jobs and the doorbell."""
    cancelled = [task for task in batch if task.cancel_sent]
    if not cancelled:
        return
    dask = distributed()
    try:
        for task in cancelled:
            dask.Event(task.call.cancel_event, client=client).clear()
        dask.Event(doorbell, client=client).clear()
    except Exception:  # a client closing meanwhile: the scheduler goes with it
        log.debug("Clearing the cancel Events of %s failed", doorbell, exc_info=True)


def _outcomes(future: Any, batch: list[BatchedTask]) -> list[RemoteStepOutcome]:
    steps = ", ".join(sorted({task.call.step for task in batch}))
    value = finished_value(future, f"a batch of {len(batch)} ({steps})")
    if not isinstance(value, list) or len(value) != len(batch):
        raise RecoverableError(f"a batch of {steps} on the farm returned {type(value).__name__}")
    if not all(isinstance(outcome, RemoteStepOutcome) for outcome in value):
        raise RecoverableError(f"a batch of {steps} on the farm returned something else than outcomes")
    return value
