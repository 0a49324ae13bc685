"""Queue control on the real scheduler: priorities, pausing lanes and jobs, stepping, bumping, the stall
watchdog, cancels that are never lost, re-running one step, structured step logs, alerts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.jobs.model import JobDocument, JobState, Lane, Priority, StepStatus
from core.jobs.scheduler import JobScheduler
from core.jobs.steps import Progress, StepContext, StepRegistry
from core.notify import AlertKind, BatchSummary, JobAlert
from core.paths import AppPaths
from core.pipeline import make_job
from core.settings import Settings

Step = Generator[Progress, None, dict[str, Any]]


class Recorder:
    def __init__(self) -> None:
        self.alerts: list[JobAlert] = []
        self.summaries: list[BatchSummary] = []

    def job_updated(self, doc: JobDocument) -> None:
        pass

    def asset_changed(self, asset_id: int) -> None:
        pass

    def batch_finished(self, summary: BatchSummary) -> None:
        self.summaries.append(summary)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


@pytest.fixture
def asset_ids(catalog: Catalog) -> list[int]:
    project = catalog.ensure_project("Q")
    ids = catalog.add_assets(
        [NewAsset(project.id, f"a{i}.png", f"/a{i}.png", "image", f"h{i}", 1) for i in range(6)]
    )
    return sorted(ids.values())


class Harness:
    """A real scheduler over thread pools: one thread for media (so order is observable), two for render."""

    def __init__(self, catalog: Catalog, tmp_path: Path, registry: StepRegistry, settings: Settings) -> None:
        self.media = ThreadPoolExecutor(1)
        self.render = ThreadPoolExecutor(2)
        self.writer = ThreadPoolExecutor(1)
        self.recorder = Recorder()
        self.paths = AppPaths.resolve(tmp_path / "data").ensure()
        lanes = {Lane.MEDIA: self.media, Lane.RENDER: self.render, Lane.INFERENCE: self.render}
        self.scheduler = JobScheduler(
            catalog,
            registry,
            self.paths,
            settings,
            lanes,
            self.writer,
            listener=self.recorder,
            alerts=self.recorder.alerts.append,
            backoff_s=(0.01,),
        )

    def close(self) -> None:
        self.scheduler.shutdown()
        for pool in (self.media, self.render, self.writer):
            pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def harness_factory(catalog: Catalog, tmp_path: Path) -> Iterator[Any]:
    made: list[Harness] = []

    def make(registry: StepRegistry, settings: Settings | None = None) -> Harness:
        harness = Harness(catalog, tmp_path, registry, settings or Settings())
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def _recording_registry(order: list[int]) -> StepRegistry:
    def thumbnail(ctx: StepContext) -> Step:
        assert ctx.asset is not None
        order.append(ctx.asset.id)
        yield Progress(1.0)
        return {"thumbnail": f"/thumbs/{ctx.asset.id}.jpg"}

    registry = StepRegistry()
    registry.register("thumbnail", thumbnail)
    return registry


def test_what_the_user_asked_for_runs_before_background_work_and_a_bump_goes_first(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int]
) -> None:
    order: list[int] = []
    harness = harness_factory(_recording_registry(order))
    scheduler: JobScheduler = harness.scheduler
    scheduler.pause(Lane.MEDIA)
    background = [make_job("thumbnail", i, 1) for i in asset_ids[:4]]
    for doc in background:
        doc.priority = Priority.BACKGROUND
    scheduler.submit(background)
    asked = make_job("thumbnail", asset_ids[4], 1)
    asked.priority = Priority.USER
    scheduler.submit([asked])
    assert next(d.asset_id for d in scheduler.queue.waiting(Lane.MEDIA)) == asset_ids[4]
    assert scheduler.bump(background[2].id or 0)
    assert order == [], "a paused lane starts nothing"

    scheduler.resume(Lane.MEDIA)
    assert scheduler.wait_idle(10)
    assert order == [asset_ids[2], asset_ids[4], asset_ids[0], asset_ids[1], asset_ids[3]]
    stored = catalog.jobs.get(background[2].id or 0)
    assert stored is not None
    assert stored.priority == Priority.TOP, "the bump is recorded for recovery"


def test_pausing_one_lane_leaves_the_others_running(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int]
) -> None:
    def step(ctx: StepContext) -> Step:
        yield Progress(1.0)
        return {"path": "/x.png"}

    registry = StepRegistry()
    for name in ("thumbnail", "render_thumbnail", "render_preview"):
        registry.register(name, step)
    harness = harness_factory(registry)
    scheduler: JobScheduler = harness.scheduler
    scheduler.pause(Lane.MEDIA)
    thumb = make_job("thumbnail", asset_ids[0], 1)
    render = make_job("render", asset_ids[1], 1)
    scheduler.submit([thumb, render])
    _wait_for(lambda: (d := catalog.jobs.get(render.id or 0)) is not None and d.state == JobState.COMPLETED)
    time.sleep(0.1)
    waiting = catalog.jobs.get(thumb.id or 0)
    assert waiting is not None
    assert waiting.state == JobState.QUEUED
    assert scheduler.queue.lane_paused(Lane.MEDIA)
    assert not scheduler.queue.lane_paused(Lane.RENDER)

    scheduler.pause()  # everything, then resume everything: the lane's own pause goes too
    scheduler.resume()
    assert scheduler.wait_idle(10)
    done = catalog.jobs.get(thumb.id or 0)
    assert done is not None
    assert done.state == JobState.COMPLETED


def _two_step_registry(ran: list[str], gate: threading.Event | None = None) -> StepRegistry:
    def render_thumbnail(ctx: StepContext) -> Step:
        if gate is not None:
            while not gate.wait(0.01):
                yield Progress(0.5, "waiting")
        ran.append("render_thumbnail")
        yield Progress(1.0)
        return {"path": "/thumb.png"}

    def render_preview(ctx: StepContext) -> Step:
        ran.append("render_preview")
        yield Progress(1.0)
        return {"path": "/preview.png"}

    registry = StepRegistry()
    registry.register("render_thumbnail", render_thumbnail)
    registry.register("render_preview", render_preview)
    return registry


def test_a_paused_job_runs_one_step_at_a_time(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int]
) -> None:
    ran: list[str] = []
    harness = harness_factory(_two_step_registry(ran))
    scheduler: JobScheduler = harness.scheduler
    scheduler.pause()
    job = make_job("render", asset_ids[0], 1)
    scheduler.submit([job])
    assert job.id is not None
    assert scheduler.step(job.id)

    def stored() -> JobDocument:
        doc = catalog.jobs.get(job.id or 0)
        assert doc is not None
        return doc

    _wait_for(lambda: stored().steps[0].status == StepStatus.COMPLETED and stored().state == JobState.QUEUED)
    time.sleep(0.1)
    assert ran == ["render_thumbnail"], "one step, then it waits again"
    assert stored().message == "Paused after render_thumbnail"
    assert stored().steps[1].status == StepStatus.PENDING

    assert scheduler.step(job.id)
    _wait_for(lambda: stored().state == JobState.COMPLETED)
    assert ran == ["render_thumbnail", "render_preview"]
    assert not scheduler.step(job.id), "a finished job has no step left"


def test_holding_a_running_job_stops_it_after_its_step_and_release_goes_on(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int]
) -> None:
    ran: list[str] = []
    gate = threading.Event()
    harness = harness_factory(_two_step_registry(ran, gate))
    scheduler: JobScheduler = harness.scheduler
    job = make_job("render", asset_ids[0], 1)
    scheduler.submit([job])
    assert job.id is not None
    _wait_for(lambda: (d := catalog.jobs.get(job.id or 0)) is not None and d.state == JobState.RUNNING)
    scheduler.hold(job.id)
    gate.set()
    _wait_for(lambda: (d := catalog.jobs.get(job.id or 0)) is not None and d.state == JobState.QUEUED)
    time.sleep(0.1)
    assert ran == ["render_thumbnail"]
    scheduler.release(job.id)
    assert scheduler.wait_idle(10)
    assert ran == ["render_thumbnail", "render_preview"]


def test_cancelling_a_waiting_job_records_it_at_once(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int]
) -> None:
    harness = harness_factory(_recording_registry([]))
    scheduler: JobScheduler = harness.scheduler
    scheduler.pause()
    job = make_job("thumbnail", asset_ids[0], 1)
    scheduler.submit([job])
    scheduler.cancel(job.id or 0)
    assert scheduler.wait_idle(5), "the cancelled job does not wait for the pause to end"
    doc = catalog.jobs.get(job.id or 0)
    assert doc is not None
    assert doc.state == JobState.CANCELLED
    assert doc.steps[0].status == StepStatus.CANCELLED


def test_a_silent_step_is_stopped_retried_and_alerted_on_any_lane(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int]
) -> None:
    attempts: list[int] = []

    def thumbnail(ctx: StepContext) -> Step:
        attempts.append(1)
        if len(attempts) == 1:
            ctx.cancel.wait(30)  # silent: no progress until something cancels it
            ctx.cancel.raise_if_cancelled()
        yield Progress(1.0)
        return {"thumbnail": "/t.jpg"}

    registry = StepRegistry()
    registry.register("thumbnail", thumbnail)
    harness = harness_factory(registry, Settings(stall_timeout_s=0.3))
    job = make_job("thumbnail", asset_ids[0], 1)
    started = time.monotonic()
    harness.scheduler.submit([job])
    assert harness.scheduler.wait_idle(10)
    assert time.monotonic() - started < 5
    doc = catalog.jobs.get(job.id or 0)
    assert doc is not None
    assert doc.state == JobState.COMPLETED, "the second attempt ran"
    assert doc.steps[0].attempts == 2
    events = [line["event"] for line in doc.steps[0].log]
    assert events == ["step_start", "step_stalled", "step_start", "step_done"]
    [alert] = harness.recorder.alerts
    assert alert.kind == AlertKind.STALLED
    assert alert.job_id == job.id
    assert "thumbnail" in alert.title


def test_a_step_that_always_stalls_fails_after_the_retries_and_the_per_step_timeout_wins(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int]
) -> None:
    def thumbnail(ctx: StepContext) -> Step:
        time.sleep(0.25)  # ignores its token, then comes back with an output nobody wants any more
        yield Progress(1.0)
        return {"thumbnail": "/late.jpg"}

    registry = StepRegistry()
    registry.register("thumbnail", thumbnail)
    settings = Settings(stall_timeout_s=60, step_stall_timeouts={"thumbnail": 0.1})
    harness = harness_factory(registry, settings)
    job = make_job("thumbnail", asset_ids[0], 1)
    harness.scheduler.submit([job])
    assert harness.scheduler.wait_idle(10)
    doc = catalog.jobs.get(job.id or 0)
    assert doc is not None
    assert doc.state == JobState.FAILED
    assert doc.error is not None
    assert "stalled" in doc.error
    assert "after 3 attempts" in doc.error
    record = catalog.get_asset(asset_ids[0])
    assert record is not None
    assert record.thumbnail != "/late.jpg", "a stalled attempt's output is not applied"
    assert len(harness.recorder.alerts) == 3


def test_a_cancel_is_never_lost_when_the_step_ignores_it(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int]
) -> None:
    started = threading.Event()
    release = threading.Event()

    def thumbnail(ctx: StepContext) -> Step:
        yield Progress(0.1)
        started.set()
        release.wait(10)  # never looks at ctx.cancel, and returns without yielding again
        return {"thumbnail": "/unwanted.jpg"}

    registry = StepRegistry()
    registry.register("thumbnail", thumbnail)
    harness = harness_factory(registry)
    job = make_job("thumbnail", asset_ids[0], 1)
    harness.scheduler.submit([job])
    assert started.wait(5)
    harness.scheduler.cancel(job.id or 0)
    release.set()
    assert harness.scheduler.wait_idle(10)
    doc = catalog.jobs.get(job.id or 0)
    assert doc is not None
    assert doc.state == JobState.CANCELLED
    assert doc.steps[0].status == StepStatus.CANCELLED
    assert doc.steps[0].output == {}
    assert doc.steps[0].log[-1]["event"] == "step_discarded"
    record = catalog.get_asset(asset_ids[0])
    assert record is not None
    assert record.thumbnail != "/unwanted.jpg"


def _artifact_registry() -> StepRegistry:
    def render_preview(ctx: StepContext) -> Step:
        assert ctx.asset is not None
        size = int(ctx.params.get("size", 32))
        target = ctx.paths.artifact_dir / f"{ctx.asset.content_hash}_preview.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"size {size}")
        logging.getLogger("tests.steps").info("wrote a %d px preview", size)
        yield Progress(0.5)
        if ctx.params.get("fail"):
            from core.jobs.steps import InvalidInputError

            raise InvalidInputError("this size cannot be rendered")
        return {"path": str(target), "size": size}

    registry = StepRegistry()
    registry.register("render_preview", render_preview)
    return registry


def test_rerunning_a_step_keeps_the_earlier_output_until_the_new_one_succeeds(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    harness = harness_factory(_artifact_registry())
    scheduler: JobScheduler = harness.scheduler
    job = make_job("render", asset_ids[0], 1, steps=("render_preview",))
    scheduler.submit([job])
    assert scheduler.wait_idle(10)
    assert job.id is not None
    first = catalog.jobs.get(job.id)
    assert first is not None
    assert first.state == JobState.COMPLETED
    product = Path(first.steps[0].output["path"])
    assert product.read_text() == "size 32"

    assert scheduler.rerun_step(job.id, "render_preview", {"size": 64, "fail": True}) is not None
    assert scheduler.wait_idle(10)
    failed = catalog.jobs.get(job.id)
    assert failed is not None
    assert failed.state == JobState.FAILED
    assert product.read_text() == "size 32", "a failed re-run leaves the earlier product alone"
    assert failed.steps[0].output["path"] == str(product)
    record = catalog.get_asset(asset_ids[0])
    assert record is not None
    assert record.status != "failed"

    assert scheduler.rerun_step(job.id, "render_preview", {"size": 64}) is not None
    assert scheduler.wait_idle(10)
    done = catalog.jobs.get(job.id)
    assert done is not None
    assert done.state == JobState.COMPLETED
    assert done.steps[0].output == {"path": str(product), "size": 64}, "the new product took its place"
    assert product.read_text() == "size 64"
    staging = harness.paths.cache_dir / ".rerun"
    assert not any(staging.iterdir()), "nothing is left in staging"
    assert done.priority == Priority.USER
    artifacts = [a for a in catalog.artifacts(asset_ids[0]) if a.kind == "preview"]
    assert [a.path for a in artifacts] == [str(product)]

    log = done.steps[0].log
    assert {"step_start", "step_done", "step_error", "log"} <= {line["event"] for line in log}
    assert any(line["message"] == "wrote a 64 px preview" for line in log), "the step's own lines are kept"
    started = [r for r in caplog.records if getattr(r, "event", None) == "step_start"]
    assert started
    assert all(r.job_id == job.id and r.step == "render_preview" for r in started)
    assert scheduler.rerun_step(job.id, "no_such_step", {}) is None


def test_recovering_interrupted_jobs_raises_an_alert(
    harness_factory: Any, catalog: Catalog, asset_ids: list[int]
) -> None:
    interrupted = make_job("thumbnail", asset_ids[0], 1)
    interrupted.state = JobState.RUNNING
    catalog.jobs.add([interrupted])
    harness = harness_factory(_recording_registry([]))
    with catalog.engine.begin() as conn:  # as a process killed mid-job leaves it: nobody's lease
        conn.exec_driver_sql("UPDATE job SET owner = NULL")
    recovered = harness.scheduler.recover()
    assert [d.id for d in recovered] == [interrupted.id]
    assert harness.scheduler.wait_idle(10)
    [alert] = harness.recorder.alerts
    assert alert.kind == AlertKind.RECOVERED
    assert alert.title == "Recovered 1 interrupted job"
