"""One job's step on the cluster, as the lane thread waiting for it sees it.

A step goes either as a Dask task of its own (``SingleTask``: renders, enhancements, anything big) or
inside a task shared with other jobs' small steps (``coalesce.BatchedTask``). Both give the lane
thread the same handle: done or not, cancel it, its outcome, clean up; ``FarmExecutor`` drives either
the same way, so a job's progress, cancel, failure and retries do not depend on how it travelled.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from core.farm.dask_api import distributed
from core.farm.wire import RemoteStepOutcome
from core.jobs.steps import RecoverableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.farm.wire import RemoteBatchCall, RemoteStepCall

log = logging.getLogger(__name__)


class RemoteTask(Protocol):
    def done(self) -> bool: ...

    def on_done(self, callback: Callable[[], None]) -> None:
        """``callback()`` once the outcome is there (at once if it already is), on any thread."""

    def cancel(self) -> None:
        """Ask the worker to stop this job's step (a withdrawn, not yet sent step is done at once)."""

    def outcome(self) -> RemoteStepOutcome:
        """The worker's outcome; a lost worker or scheduler raises ``RecoverableError``."""

    def close(self) -> None:
        """After the lane thread is done with it, whatever happened."""


class SingleTask:
    """One step, one Dask task (``retries=0``: the runner's retries are the only ones)."""

    def __init__(self, client: Any, call: RemoteStepCall, resources: dict[str, float] | None) -> None:
        self._client = client
        self._call = call
        self._cancel_sent = False
        self._future: Any = client.submit(
            _run_on_worker, call, key=call.key, pure=False, retries=0, resources=resources
        )

    def done(self) -> bool:
        return bool(self._future.done())

    def on_done(self, callback: Callable[[], None]) -> None:
        self._future.add_done_callback(lambda _future: callback())

    def cancel(self) -> None:
        distributed().Event(self._call.cancel_event, client=self._client).set()
        self._cancel_sent = True

    def outcome(self) -> RemoteStepOutcome:
        value = finished_value(self._future, self._call.step)
        if not isinstance(value, RemoteStepOutcome):
            raise RecoverableError(f"{self._call.step} on the farm returned {type(value).__name__}")
        return value

    def close(self) -> None:
        future = self._future
        if self._cancel_sent and future.done():  # a set Event stays on the scheduler
            distributed().Event(self._call.cancel_event, client=self._client).clear()
        if not future.done():
            future.cancel()
        future.release()  # the scheduler forgets the result as soon as we have it


def finished_value(future: Any, what: str) -> object:
    """A finished Dask future's value, a lost worker or scheduler as ``RecoverableError``."""
    try:
        value: object = future.result()
    except distributed().KilledWorker as exc:
        raise RecoverableError(f"the farm worker running {what} was lost ({exc})") from exc
    except Exception as exc:  # a lost scheduler or worker: our runner retries
        raise RecoverableError(f"{what} on the farm failed: {type(exc).__name__}: {exc}") from exc
    return value


def _run_on_worker(call: RemoteStepCall) -> RemoteStepOutcome:
    from core.farm.remote import run_remote_step

    return run_remote_step(call)


def run_batch_on_worker(batch: RemoteBatchCall) -> list[RemoteStepOutcome]:
    from core.farm.remote import run_remote_batch

    return run_remote_batch(batch)
