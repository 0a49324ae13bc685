"""Running a job document's steps: progress, retries with backoff, cancel.

The runner knows nothing about threads or Qt: workers/ calls it on a lane, the CLI calls it on a plain
thread pool. Every state change is reported through ``on_update`` with the (mutated) document so the caller
can persist it and tell the UI.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Sequence

from core.jobs.model import MAX_ATTEMPTS, JobDocument, JobState, StepStatus
from core.jobs.steps import (
    CancelToken,
    InvalidInputError,
    JobCancelledError,
    StepContext,
    StepRegistry,
)

log = logging.getLogger(__name__)

DEFAULT_BACKOFF_S: tuple[float, ...] = (0.5, 2.0, 8.0)
PROGRESS_INTERVAL_S = 0.1

JobListener = Callable[[JobDocument], None]


def _now() -> float:
    return time.time()


def run_job(
    doc: JobDocument,
    registry: StepRegistry,
    context: StepContext,
    *,
    on_update: JobListener | None = None,
    backoff_s: Sequence[float] = DEFAULT_BACKOFF_S,
) -> JobDocument:
    """Run every step not yet completed (so a recovered job resumes where it stopped)."""
    notify = on_update or (lambda _doc: None)
    cancel = context.cancel
    doc.state = JobState.RUNNING
    doc.error = None
    notify(doc)
    outputs: dict[str, dict[str, object]] = context.params.setdefault("outputs", {})
    total = max(len(doc.steps), 1)
    for index, step in enumerate(doc.steps):
        if step.status in (StepStatus.COMPLETED, StepStatus.SKIPPED):
            outputs[step.name] = step.output
            continue
        if cancel.cancelled:
            _mark_cancelled(doc, index)
            notify(doc)
            return doc
        function = registry.get(step.name)
        while True:
            step.attempts += 1
            doc.attempts = max(doc.attempts, step.attempts)
            step.status = StepStatus.RUNNING
            step.started_at = _now()
            step.ended_at = None
            step.error = None
            doc.message = step.name
            notify(doc)
            _forget_device(context)
            last_report = 0.0
            try:
                generator = function(context)
                while True:
                    try:
                        progress = next(generator)
                    except StopIteration as finished:
                        step.output = dict(finished.value or {})
                        break
                    now = _now()
                    if now - last_report >= PROGRESS_INTERVAL_S:
                        last_report = now
                        doc.progress = (index + min(max(progress.fraction, 0.0), 1.0)) / total
                        doc.message = progress.message or step.name
                        notify(doc)
                    cancel.raise_if_cancelled()
            except JobCancelledError:
                step.ended_at = _now()
                _mark_cancelled(doc, index)
                notify(doc)
                return doc
            except InvalidInputError as exc:
                _fail(doc, step_index=index, message=str(exc), device=context.device)
                notify(doc)
                return doc
            except Exception as exc:  # noqa: BLE001 - any other failure is retried, then reported
                message = str(exc) or type(exc).__name__
                log.warning(
                    "Job %s step %s attempt %d failed: %s\n%s",
                    doc.id,
                    step.name,
                    step.attempts,
                    message,
                    traceback.format_exc(),
                )
                if step.attempts >= MAX_ATTEMPTS:
                    _fail(
                        doc,
                        step_index=index,
                        message=f"{message} (after {step.attempts} attempts)",
                        device=context.device,
                    )
                    notify(doc)
                    return doc
                step.status = StepStatus.PENDING
                step.error = message
                step.ended_at = _now()
                doc.message = f"{step.name}: retrying after error: {message}"
                notify(doc)
                delay = backoff_s[min(step.attempts - 1, len(backoff_s) - 1)] if backoff_s else 0.0
                if cancel.wait(delay):
                    _mark_cancelled(doc, index)
                    notify(doc)
                    return doc
                continue
            step.status = StepStatus.COMPLETED
            step.ended_at = _now()
            step.device = context.device
            if context.device:
                doc.device = context.device
            outputs[step.name] = step.output
            break
    doc.state = JobState.COMPLETED
    doc.progress = 1.0
    doc.message = "Done"
    notify(doc)
    return doc


def _forget_device(context: StepContext) -> None:
    """Each attempt reports the device it used itself; a stale value must not leak into it."""
    context.device = None


def _fail(doc: JobDocument, *, step_index: int, message: str, device: str | None) -> None:
    step = doc.steps[step_index]
    step.status = StepStatus.FAILED
    step.error = message
    step.ended_at = _now()
    step.device = device
    for later in doc.steps[step_index + 1 :]:
        later.status = StepStatus.SKIPPED
    doc.state = JobState.FAILED
    doc.error = f"{step.name}: {message}"
    doc.message = doc.error


def _mark_cancelled(doc: JobDocument, step_index: int) -> None:
    for step in doc.steps[step_index:]:
        if step.status in (StepStatus.PENDING, StepStatus.RUNNING):
            step.status = StepStatus.CANCELLED
    doc.state = JobState.CANCELLED
    doc.message = "Cancelled"


def reset_for_retry(doc: JobDocument) -> JobDocument:
    """A user's "retry" of a failed or cancelled job: failed steps run again with fresh attempts."""
    for step in doc.steps:
        if step.status != StepStatus.COMPLETED:
            step.status = StepStatus.PENDING
            step.error = None
            step.attempts = 0
            step.started_at = None
            step.ended_at = None
    doc.state = JobState.QUEUED
    doc.error = None
    doc.attempts = 0
    doc.progress = 0.0
    doc.message = "Queued for retry"
    return doc


__all__ = ["CancelToken", "reset_for_retry", "run_job"]
