"""Structured log lines of job steps, kept in the step's own record.

The runner says ``step_start``, ``step_done`` and ``step_error`` through :mod:`logging` with the job and
step ids in ``extra`` (so the rotating log file and the crash dialog's ring buffer get them too), and
appends the same line to the step's record. While a step runs, whatever it logs on its own thread at
INFO or above is appended as well: the Jobs panel can then show why a step did what it did without
anyone opening the log file. Records keep only their newest lines (``STEP_LOG_LIMIT``).
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from core.jobs.model import JobDocument, StepRecord

log = logging.getLogger(__name__)


class StepEvent(StrEnum):
    START = "step_start"
    DONE = "step_done"
    ERROR = "step_error"  # an attempt failed (retried or not)
    CANCELLED = "step_cancelled"
    STALLED = "step_stalled"
    DISCARDED = "step_discarded"  # returned after a cancel: its output is thrown away
    LOG = "log"  # a line the step's own code logged


def step_event(
    doc: JobDocument, step: StepRecord, event: StepEvent, message: str, *, level: int = logging.INFO
) -> None:
    """Log ``event`` with the job and step ids, and keep it in the step's record."""
    extra = {"event": str(event), "job_id": doc.id, "step": step.name, "attempt": step.attempts}
    log.log(
        level,
        "%s job=%s step=%s attempt=%d: %s",
        event,
        doc.id,
        step.name,
        step.attempts,
        message,
        extra=extra,
    )
    step.add_log(_line(event, logging.getLevelName(level), message, step.attempts))


def _line(event: StepEvent, level: str, message: str, attempt: int) -> dict[str, Any]:
    return {
        "t": round(time.time(), 3),
        "event": str(event),
        "level": level,
        "attempt": attempt,
        "message": message,
    }


class _ThreadCapture(logging.Handler):
    """Routes records logged on a thread that runs a step into that step's record."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._current = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        step: StepRecord | None = getattr(self._current, "step", None)
        if step is None or getattr(record, "event", None) is not None:
            return  # not in a step, or one of step_event's own lines (kept already)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        step.add_log(_line(StepEvent.LOG, record.levelname, message.splitlines()[0][:500], step.attempts))

    def bind(self, step: StepRecord | None) -> StepRecord | None:
        previous: StepRecord | None = getattr(self._current, "step", None)
        self._current.step = step
        return previous


_capture = _ThreadCapture()
_install_lock = threading.Lock()


@contextmanager
def capturing(step: StepRecord) -> Iterator[None]:
    """While the block runs, INFO+ records logged on this thread go into ``step``'s record."""
    with _install_lock:
        root = logging.getLogger()
        if _capture not in root.handlers:
            root.addHandler(_capture)
    previous = _capture.bind(step)
    try:
        yield
    finally:
        _capture.bind(previous)
