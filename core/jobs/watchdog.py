"""The stall watchdog: a step that shows no sign of life for too long is stopped, whatever its lane.

Every yielded ``Progress`` is a heartbeat. A step silent for longer than its stall timeout has its
attempt's cancel token fired (which also kills a render child's process group); the runner then treats
the attempt as a recoverable failure, so the retry rules decide between another attempt and a failed
job, and the scheduler raises an alert. One thread watches every running step: steps on a thread pool
cannot be timed by the pool itself, and a per-step timer thread would cost a thread per running job.

The timeout is a setting (``stall_timeout_s``), overridden per step name (``step_stall_timeouts``) and
per job (``params["stall_timeout_s"]``, for a step known to think for a long time).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from core.jobs.steps import CancelToken
    from core.settings import Settings

log = logging.getLogger(__name__)

MAX_POLL_S = 1.0


@dataclass(frozen=True)
class StallReport:
    job_id: int | None
    step: str
    silent_s: float
    timeout_s: float

    @property
    def message(self) -> str:
        return f"no progress for {self.silent_s:.3g} s (stall timeout {self.timeout_s:g} s)"


def stall_timeout(settings: Settings, step: str, params: Mapping[str, Any]) -> float:
    """The job's own override, else the step's, else the setting."""
    override = params.get("stall_timeout_s")
    if isinstance(override, int | float) and override > 0:
        return float(override)
    return float(settings.step_stall_timeouts.get(step, settings.stall_timeout_s))


class StepWatch:
    """One running attempt of one step, as the watchdog sees it."""

    def __init__(
        self, job_id: int | None, step: str, timeout_s: float, token: CancelToken, now: float
    ) -> None:
        self.job_id = job_id
        self.step = step
        self.timeout_s = timeout_s
        self.token = token
        self.last_beat = now
        self.stalled: StallReport | None = None

    def beat(self, now: float | None = None) -> None:
        self.last_beat = time.monotonic() if now is None else now


class StallWatchdog:
    def __init__(self, on_stall: Callable[[StallReport], None], *, poll_s: float = MAX_POLL_S) -> None:
        self._on_stall = on_stall
        self._poll_s = poll_s
        self._watches: set[StepWatch] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a new watch: its timeout may be shorter than the current poll
        self._thread: threading.Thread | None = None

    def watch(self, job_id: int | None, step: str, timeout_s: float, token: CancelToken) -> StepWatch:
        watch = StepWatch(job_id, step, timeout_s, token, time.monotonic())
        with self._lock:
            self._watches.add(watch)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="stall-watchdog", daemon=True)
                self._thread.start()
        self._wake.set()
        return watch

    def release(self, watch: StepWatch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def check(self, now: float | None = None) -> list[StallReport]:
        """Stop every step silent past its timeout; the watchdog thread calls this each poll."""
        now = time.monotonic() if now is None else now
        with self._lock:
            due = [w for w in self._watches if w.stalled is None and now - w.last_beat > w.timeout_s]
            for watch in due:
                watch.stalled = StallReport(watch.job_id, watch.step, now - watch.last_beat, watch.timeout_s)
        reports: list[StallReport] = []
        for watch in due:
            assert watch.stalled is not None
            log.warning("Job %s step %s stalled: %s", watch.job_id, watch.step, watch.stalled.message)
            watch.token.cancel()
            reports.append(watch.stalled)
            try:
                self._on_stall(watch.stalled)
            except Exception:
                log.exception("Could not report a stalled step")
        return reports

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval())
            self._wake.clear()
            if not self._stop.is_set():
                self.check()

    def _interval(self) -> float:
        with self._lock:
            shortest = min((w.timeout_s for w in self._watches), default=self._poll_s * 4)
        return max(0.02, min(self._poll_s, shortest / 4))
