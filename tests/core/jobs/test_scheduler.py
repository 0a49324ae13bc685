"""The scheduler persists job documents, recovers interrupted jobs, cancels, retries and summarises."""

from __future__ import annotations

import threading
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.jobs.model import JobDocument, JobState, StepStatus
from core.jobs.scheduler import JobScheduler
from core.jobs.steps import InvalidInputError, Progress, StepContext, StepRegistry
from core.notify import BatchSummary
from core.paths import AppPaths
from core.pipeline import make_job
from core.settings import Settings


class Listener:
    def __init__(self) -> None:
        self.summaries: list[BatchSummary] = []
        self.changed: list[int] = []

    def job_updated(self, doc: JobDocument) -> None:
        pass

    def asset_changed(self, asset_id: int) -> None:
        self.changed.append(asset_id)

    def batch_finished(self, summary: BatchSummary) -> None:
        self.summaries.append(summary)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


def _assets(catalog: Catalog, n: int) -> list[int]:
    project = catalog.ensure_project("P")
    ids = catalog.add_assets(
        [NewAsset(project.id, f"a{i}.png", f"/a{i}.png", "image", f"h{i}", 1) for i in range(n)]
    )
    return sorted(ids.values())


def _scheduler(
    catalog: Catalog, tmp_path: Path, registry: StepRegistry, listener: Listener
) -> tuple[JobScheduler, list[ThreadPoolExecutor]]:
    pools = [ThreadPoolExecutor(2), ThreadPoolExecutor(1)]
    lanes = {"media": pools[0], "render": pools[0], "inference": pools[0]}
    scheduler = JobScheduler(
        catalog, registry, AppPaths.resolve(tmp_path), Settings(), lanes, pools[1], listener=listener
    )
    return scheduler, pools


def _thumbnail_registry(
    gate: threading.Event | None = None, fail_names: tuple[str, ...] = ()
) -> StepRegistry:
    def thumbnail(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        assert ctx.asset is not None
        if gate is not None:
            while not gate.wait(0.01):
                ctx.cancel.raise_if_cancelled()
        if ctx.asset.path.name in fail_names:
            raise InvalidInputError(f"{ctx.asset.path.name} is truncated")
        yield Progress(1.0)
        ctx.device = "cpu"
        return {"thumbnail": f"/thumbs/{ctx.asset.id}.jpg"}

    registry = StepRegistry()
    registry.register("thumbnail", thumbnail)
    return registry


def test_batch_runs_persists_applies_and_summarises_once(catalog: Catalog, tmp_path: Path) -> None:
    ids = _assets(catalog, 5)
    listener = Listener()
    scheduler, pools = _scheduler(catalog, tmp_path, _thumbnail_registry(fail_names=("a3.png",)), listener)
    scheduler.submit([make_job("thumbnail", i, 1) for i in ids], batch_id="b1", batch_kind="ingest")
    scheduler.close_batch("b1", "ingest", failures=[("/drop/bad.exr", "truncated")])
    assert scheduler.wait_idle(10)
    (summary,) = listener.summaries
    assert summary.title == "Ingested 6 files: 4 ready, 2 failed"
    states = sorted(str(d.state) for d in catalog.jobs.find())
    assert states == ["completed"] * 4 + ["failed"]
    failed_asset = catalog.get_asset(ids[3])
    assert failed_asset is not None
    assert failed_asset.status == "failed"
    assert "a3.png is truncated" in (failed_asset.error or "")
    ready = catalog.get_asset(ids[0])
    assert ready is not None
    assert ready.thumbnail == f"/thumbs/{ids[0]}.jpg"
    assert sorted(set(listener.changed)) == sorted(ids)
    for pool in pools:
        pool.shutdown()


def test_jobs_interrupted_by_a_crash_are_recovered_at_start(catalog: Catalog, tmp_path: Path) -> None:
    (asset_id,) = _assets(catalog, 1)
    crashed = make_job("thumbnail", asset_id, 1)
    crashed.state = JobState.RUNNING
    crashed.steps[0].status = StepStatus.RUNNING
    catalog.jobs.add([crashed])
    scheduler, pools = _scheduler(catalog, tmp_path, _thumbnail_registry(), Listener())
    recovered = scheduler.recover()
    assert [d.id for d in recovered] == [crashed.id]
    assert scheduler.wait_idle(10)
    assert crashed.id is not None
    final = catalog.jobs.get(crashed.id)
    assert final is not None
    assert final.state == JobState.COMPLETED
    for pool in pools:
        pool.shutdown()


def test_cancel_and_retry_from_the_jobs_panel(catalog: Catalog, tmp_path: Path) -> None:
    (asset_id,) = _assets(catalog, 1)
    gate = threading.Event()
    scheduler, pools = _scheduler(catalog, tmp_path, _thumbnail_registry(gate), Listener())
    doc = make_job("thumbnail", asset_id, 1)
    scheduler.submit([doc])
    assert doc.id is not None
    scheduler.cancel(doc.id)
    assert scheduler.wait_idle(10)
    cancelled = catalog.jobs.get(doc.id)
    assert cancelled is not None
    assert cancelled.state == JobState.CANCELLED
    gate.set()
    assert scheduler.retry(doc.id) is not None
    assert scheduler.wait_idle(10)
    done = catalog.jobs.get(doc.id)
    assert done is not None
    assert done.state == JobState.COMPLETED
    for pool in pools:
        pool.shutdown()


def test_background_analysis_batches_only_speak_up_when_something_failed(
    catalog: Catalog, tmp_path: Path
) -> None:
    ids = _assets(catalog, 3)

    def classify(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        assert ctx.asset is not None
        if ctx.asset.path.name == "a2.png" and ctx.params.get("fail"):
            raise InvalidInputError("cannot read a2.png")
        yield Progress(1.0)
        return {"categories": [{"name": "photograph", "confidence": 0.9}]}

    def focus_crop(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        yield Progress(1.0)
        return {"box": [0, 0, 1, 1], "method": "center"}

    registry = StepRegistry()
    registry.register("classify", classify)
    registry.register("focus_crop", focus_crop)
    listener = Listener()
    scheduler, pools = _scheduler(catalog, tmp_path, registry, listener)
    scheduler.submit([make_job("classify", i, 1) for i in ids], batch_id="quiet", batch_kind="classify")
    scheduler.close_batch("quiet", "classify")
    assert scheduler.wait_idle(10)
    assert listener.summaries == []  # a clean background batch makes no noise
    assert catalog.tag_counts(1, categories_only=True) == [("photograph", 3)]
    failing = [make_job("classify", i, 1, {"fail": True}) for i in ids]
    scheduler.submit(failing, batch_id="loud", batch_kind="classify")
    scheduler.close_batch("loud", "classify")
    assert scheduler.wait_idle(10)
    (summary,) = listener.summaries
    assert summary.failed == 1
    for pool in pools:
        pool.shutdown()


def test_pause_holds_queued_jobs_lets_running_ones_finish_and_resume_runs_them(
    catalog: Catalog, tmp_path: Path
) -> None:
    first, second, third = _assets(catalog, 3)
    gate = threading.Event()
    scheduler, pools = _scheduler(catalog, tmp_path, _thumbnail_registry(gate), Listener())
    running = make_job("thumbnail", first, 1)
    scheduler.submit([running])
    assert running.id is not None
    while (doc := catalog.jobs.get(running.id)) is None or doc.state != JobState.RUNNING:
        assert not scheduler.wait_idle(0.01)
    scheduler.pause()
    queued = [make_job("thumbnail", second, 1), make_job("thumbnail", third, 1)]
    scheduler.submit(queued)
    gate.set()
    # The running job finishes despite the pause; the two held ones stay outstanding.
    while scheduler.active_count() != 2:
        assert not scheduler.wait_idle(0.01), "held jobs must keep the scheduler busy"
    done = catalog.jobs.get(running.id)
    assert done is not None
    assert done.state == JobState.COMPLETED
    held_ids = [d.id for d in queued if d.id is not None]
    assert [d.state for d in catalog.jobs.find() if d.id in held_ids] == [JobState.QUEUED] * 2
    scheduler.cancel(held_ids[0])
    scheduler.resume()
    assert not scheduler.paused
    assert scheduler.wait_idle(10)
    states = {d.id: d.state for d in catalog.jobs.find()}
    assert states[held_ids[0]] == JobState.CANCELLED, "cancelling a held job ends it"
    assert states[held_ids[1]] == JobState.COMPLETED
    for pool in pools:
        pool.shutdown()


def test_jobs_held_at_shutdown_stay_queued_for_the_next_start(catalog: Catalog, tmp_path: Path) -> None:
    (asset_id,) = _assets(catalog, 1)
    scheduler, pools = _scheduler(catalog, tmp_path, _thumbnail_registry(), Listener())
    scheduler.pause()
    held = make_job("thumbnail", asset_id, 1)
    scheduler.submit([held])
    scheduler.shutdown()
    for pool in pools:
        pool.shutdown()
    assert held.id is not None
    kept = catalog.jobs.get(held.id)
    assert kept is not None
    assert kept.state == JobState.QUEUED
