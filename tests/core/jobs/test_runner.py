"""Job documents run step by step: progress, retries with backoff, invalid input, cancel, resume."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

from core.jobs.model import JobDocument, JobState, StepStatus
from core.jobs.runner import reset_for_retry, run_job
from core.jobs.steps import (
    CancelToken,
    InvalidInputError,
    Progress,
    RecoverableError,
    StepContext,
    StepRegistry,
)
from core.paths import AppPaths
from core.settings import Settings


def _context(tmp_path: Path, cancel: CancelToken | None = None) -> StepContext:
    return StepContext(
        asset=None, paths=AppPaths.resolve(tmp_path), settings=Settings(), cancel=cancel or CancelToken()
    )


def test_steps_run_in_order_and_record_outputs_durations_and_device(tmp_path: Path) -> None:
    calls: list[str] = []

    def probe(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        calls.append("probe")
        yield Progress(0.5, "reading header")
        ctx.device = "cpu"
        return {"width": 64}

    def thumbnail(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        calls.append("thumbnail")
        assert ctx.params["outputs"]["probe"] == {"width": 64}  # later steps see earlier outputs
        yield Progress(1.0)
        return {"path": "t.jpg"}

    registry = StepRegistry()
    registry.register("probe", probe)
    registry.register("thumbnail", thumbnail)
    updates: list[str] = []
    doc = run_job(
        JobDocument.new("thumbnail", ["probe", "thumbnail"]),
        registry,
        _context(tmp_path),
        on_update=lambda d: updates.append(str(d.state)),
    )
    assert calls == ["probe", "thumbnail"]
    assert doc.state == JobState.COMPLETED
    assert doc.step("probe").device == "cpu"
    assert doc.step("thumbnail").output == {"path": "t.jpg"}
    assert all(s.duration_s is not None and s.duration_s >= 0 for s in doc.steps)
    assert updates[0] == "running"
    assert updates[-1] == "completed"


def test_recoverable_errors_retry_then_succeed(tmp_path: Path) -> None:
    attempts = []

    def flaky(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        attempts.append(1)
        if len(attempts) < 3:
            raise RecoverableError("file is busy")
        yield Progress(1.0)
        return {}

    registry = StepRegistry()
    registry.register("flaky", flaky)
    doc = run_job(JobDocument.new("x", ["flaky"]), registry, _context(tmp_path), backoff_s=(0, 0))
    assert doc.state == JobState.COMPLETED
    assert doc.step("flaky").attempts == 3


def test_errors_give_up_after_three_attempts_with_the_message(tmp_path: Path) -> None:
    def broken(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        raise OSError("disk on fire")
        yield Progress(0)

    registry = StepRegistry()
    registry.register("broken", broken)
    registry.register("after", broken)
    doc = run_job(JobDocument.new("x", ["broken", "after"]), registry, _context(tmp_path), backoff_s=(0,))
    assert doc.state == JobState.FAILED
    assert doc.step("broken").attempts == 3
    assert "disk on fire" in (doc.error or "")
    assert doc.step("after").status == StepStatus.SKIPPED


def test_invalid_input_fails_at_once(tmp_path: Path) -> None:
    def invalid(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        raise InvalidInputError("model.glb: not a glTF file (bad magic)")
        yield Progress(0)

    registry = StepRegistry()
    registry.register("render", invalid)
    doc = run_job(JobDocument.new("render", ["render"]), registry, _context(tmp_path))
    assert doc.state == JobState.FAILED
    assert doc.step("render").attempts == 1
    assert doc.error == "render: model.glb: not a glTF file (bad magic)"


def test_cancel_stops_between_units_of_work(tmp_path: Path) -> None:
    cancel = CancelToken()
    done: list[int] = []

    def long(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        for i in range(100):
            ctx.cancel.raise_if_cancelled()
            done.append(i)
            if i == 4:
                cancel.cancel()
            yield Progress(i / 100)
        return {}

    registry = StepRegistry()
    registry.register("long", long)
    doc = run_job(JobDocument.new("x", ["long"]), registry, _context(tmp_path, cancel))
    assert doc.state == JobState.CANCELLED
    assert len(done) == 5


def test_a_retried_job_resumes_after_its_completed_steps(tmp_path: Path) -> None:
    calls: list[str] = []
    fail = [True]

    def first(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        calls.append("first")
        yield Progress(1)
        return {"ok": 1}

    def second(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        calls.append("second")
        if fail[0]:
            raise InvalidInputError("no")
        yield Progress(1)
        return {}

    registry = StepRegistry()
    registry.register("first", first)
    registry.register("second", second)
    doc = run_job(JobDocument.new("x", ["first", "second"]), registry, _context(tmp_path))
    assert doc.state == JobState.FAILED
    fail[0] = False
    doc = run_job(reset_for_retry(doc), registry, _context(tmp_path))
    assert doc.state == JobState.COMPLETED
    assert calls == ["first", "second", "second"]
