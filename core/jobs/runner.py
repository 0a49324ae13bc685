"""Running a job document's steps: progress, retries with backoff, cancel, stalls, pauses.

The runner knows nothing about threads or Qt: workers/ calls it on a lane, the CLI calls it on a plain
thread pool. Every state change is reported through ``on_update`` with the (mutated) document so the caller
can persist it and tell the UI.

Each attempt of a step runs with its own cancel token (a child of the job's): the stall watchdog fires
that one, so a stalled attempt is retried like any recoverable failure while a user's cancel ends the
job. A step that ignores its token and returns after the cancel is recorded as cancelled and its output
thrown away: the catalog never receives a product the user said they no longer wanted.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

from core.jobs import staging
from core.jobs.model import MAX_ATTEMPTS, JobDocument, JobState, StepRecord, StepStatus
from core.jobs.step_log import StepEvent, capturing, step_event
from core.jobs.steps import (
    CancelToken,
    InvalidInputError,
    JobCancelledError,
    StepContext,
    StepFunction,
    StepRegistry,
)
from core.jobs.watchdog import StallWatchdog, stall_timeout

if TYPE_CHECKING:
    from core.jobs.watchdog import StepWatch

log = logging.getLogger(__name__)

DEFAULT_BACKOFF_S: tuple[float, ...] = (0.5, 2.0, 8.0)
PROGRESS_INTERVAL_S = 0.1
# job params: step name -> the settings that step's re-run uses instead of the job's (see rerun_step)
RERUN_PARAM = "rerun_steps"

JobListener = Callable[[JobDocument], None]


class _Outcome(Enum):
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"  # at once: invalid input
    RETRY = "retry"  # recoverable error or stall


def _now() -> float:
    return time.time()


def run_job(
    doc: JobDocument,
    registry: StepRegistry,
    context: StepContext,
    *,
    on_update: JobListener | None = None,
    backoff_s: Sequence[float] = DEFAULT_BACKOFF_S,
    watchdog: StallWatchdog | None = None,
    should_pause: Callable[[], bool] | None = None,
) -> JobDocument:
    """Run every step not yet completed (so a recovered job resumes where it stopped).

    ``should_pause`` is asked after each step that has more after it: when it says so the job goes
    back to ``queued`` (the scheduler holds it) with its completed steps kept.
    """
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
            outcome, message = _attempt(doc, index, function, context, notify, watchdog)
            if outcome is _Outcome.DONE:
                outputs[step.name] = step.output
                break
            if outcome is _Outcome.CANCELLED:
                step.ended_at = _now()
                _mark_cancelled(doc, index)
                notify(doc)
                return doc
            if outcome is _Outcome.FAILED or step.attempts >= MAX_ATTEMPTS:
                if outcome is _Outcome.RETRY:
                    message = f"{message} (after {step.attempts} attempts)"
                _fail(doc, step_index=index, message=message, device=context.device)
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
        more = any(s.status == StepStatus.PENDING for s in doc.steps[index + 1 :])
        if more and should_pause is not None and should_pause():
            doc.state = JobState.QUEUED
            doc.progress = (index + 1) / total
            doc.message = f"Paused after {step.name}"
            notify(doc)
            return doc
    doc.state = JobState.COMPLETED
    doc.progress = 1.0
    doc.message = "Done"
    notify(doc)
    return doc


def _attempt(
    doc: JobDocument,
    index: int,
    function: StepFunction,
    context: StepContext,
    notify: JobListener,
    watchdog: StallWatchdog | None,
) -> tuple[_Outcome, str]:
    """One attempt of ``doc.steps[index]``; on DONE the step's record is complete."""
    step = doc.steps[index]
    step.attempts += 1
    doc.attempts = max(doc.attempts, step.attempts)
    step.status = StepStatus.RUNNING
    step.started_at = _now()
    step.ended_at = None
    step.error = None
    doc.message = step.name
    reruns: dict[str, Any] = doc.params.get(RERUN_PARAM) or {}
    overrides = dict(reruns.get(step.name) or {})
    # A re-run writes beside the earlier output; ``output`` keeps naming the earlier one until then.
    staged = staging.staged_paths(context.paths, doc.id, step.name) if step.name in reruns else None
    attempt_token = context.cancel.child()
    step_context = dataclasses.replace(
        context,
        cancel=attempt_token,
        params={**context.params, **overrides},
        paths=staged or context.paths,
        device=None,  # each attempt reports the device it used itself
    )
    timeout = stall_timeout(context.settings, step.name, step_context.params)
    watch = watchdog.watch(doc.id, step.name, timeout, attempt_token) if watchdog else None
    step_event(doc, step, StepEvent.START, f"attempt {step.attempts}, stall timeout {timeout:g} s")
    notify(doc)
    try:
        output = _drive(doc, index, function, step_context, notify, watch)
        stopped = _stopped_meanwhile(doc, step, context.cancel, watch)
        if stopped is None and staged is not None:
            output = staging.promote(output, staged, context.paths)
            staged = None
    except JobCancelledError:
        stopped = _stopped_meanwhile(doc, step, context.cancel, watch, returned=False) or (
            _Outcome.RETRY,
            "stopped",
        )
    except InvalidInputError as exc:
        step_event(doc, step, StepEvent.ERROR, str(exc), level=logging.WARNING)
        return _Outcome.FAILED, str(exc)
    except Exception as exc:  # any other failure is retried, then reported
        message = str(exc) or type(exc).__name__
        log.info("Job %s step %s attempt %d failed", doc.id, step.name, step.attempts, exc_info=True)
        step_event(doc, step, StepEvent.ERROR, message, level=logging.WARNING)
        return _Outcome.RETRY, message
    finally:
        context.device = step_context.device  # what this attempt used, failed or not
        if watch is not None and watchdog is not None:
            watchdog.release(watch)
        if staged is not None:
            staging.discard(staged)
    if stopped is not None:
        return stopped
    step.output = output
    step.status = StepStatus.COMPLETED
    step.ended_at = _now()
    step.device = step_context.device
    if step_context.device:
        doc.device = step_context.device
    step_event(doc, step, StepEvent.DONE, f"done in {step.duration_s or 0.0:.2f} s")
    return _Outcome.DONE, ""


def _stopped_meanwhile(
    doc: JobDocument,
    step: StepRecord,
    cancel: CancelToken,
    watch: StepWatch | None,
    *,
    returned: bool = True,
) -> tuple[_Outcome, str] | None:
    """Whether the user's cancel or the watchdog stopped the attempt (maybe while it ignored them and
    went on: then its output is discarded, never applied)."""
    late = "; it returned later and its output was discarded" if returned else ""
    if cancel.cancelled:
        event = StepEvent.DISCARDED if returned else StepEvent.CANCELLED
        step_event(doc, step, event, f"cancelled by the user{late}", level=logging.WARNING)
        return _Outcome.CANCELLED, "Cancelled"
    if watch is not None and watch.stalled is not None:
        message = f"stalled: {watch.stalled.message}"
        step_event(doc, step, StepEvent.STALLED, f"{message}{late}", level=logging.WARNING)
        return _Outcome.RETRY, message
    return None


def _drive(
    doc: JobDocument,
    index: int,
    function: StepFunction,
    context: StepContext,
    notify: JobListener,
    watch: StepWatch | None,
) -> dict[str, Any]:
    """Run the step's generator to its end, reporting progress (throttled) and beating the watchdog."""
    step = doc.steps[index]
    total = max(len(doc.steps), 1)
    last_report = 0.0
    with capturing(step):
        generator = function(context)
        while True:
            try:
                progress = next(generator)
            except StopIteration as finished:
                return dict(finished.value or {})
            if watch is not None:
                watch.beat()
            now = _now()
            if now - last_report >= PROGRESS_INTERVAL_S:
                last_report = now
                doc.progress = (index + min(max(progress.fraction, 0.0), 1.0)) / total
                doc.message = progress.message or step.name
                notify(doc)
            context.cancel.raise_if_cancelled()


def _fail(doc: JobDocument, *, step_index: int, message: str, device: str | None) -> None:
    step = doc.steps[step_index]
    step.status = StepStatus.FAILED
    step.error = message
    step.ended_at = _now()
    step.device = device
    for later in doc.steps[step_index + 1 :]:
        if later.status == StepStatus.PENDING:
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
            _reset_step(step)
    doc.state = JobState.QUEUED
    doc.error = None
    doc.attempts = 0
    doc.progress = 0.0
    doc.message = "Queued for retry"
    return doc


def reset_for_rerun(doc: JobDocument, step_name: str, overrides: dict[str, Any]) -> JobDocument:
    """One step of a finished job runs again with ``overrides``; its earlier output stays in place
    (record and files) until the new one succeeds."""
    step = doc.step(step_name)  # KeyError for a step the job does not have
    reruns: dict[str, Any] = dict(doc.params.get(RERUN_PARAM) or {})
    reruns[step_name] = dict(overrides)
    doc.params[RERUN_PARAM] = reruns
    doc.params["no_follow_up"] = True  # the follow-ups ran after the first run already
    _reset_step(step)
    doc.state = JobState.QUEUED
    doc.error = None
    doc.message = f"Re-running {step_name}"
    return doc


def parse_overrides(text: str) -> dict[str, Any]:
    """``key=value`` lines (a re-run's settings); values read as JSON where they are (512, true,
    "a b"), else kept as text. Blank lines and lines without ``=`` are ignored."""
    overrides: dict[str, Any] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            continue
        try:
            overrides[key.strip()] = json.loads(value.strip())
        except ValueError:
            overrides[key.strip()] = value.strip()
    return overrides


def format_overrides(overrides: dict[str, Any]) -> str:
    return "\n".join(f"{key}={json.dumps(value)}" for key, value in overrides.items())


def _reset_step(step: StepRecord) -> None:
    step.status = StepStatus.PENDING
    step.error = None
    step.attempts = 0
    step.started_at = None
    step.ended_at = None


__all__ = [
    "CancelToken",
    "format_overrides",
    "parse_overrides",
    "reset_for_rerun",
    "reset_for_retry",
    "run_job",
]
