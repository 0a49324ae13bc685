"""The Jobs panel over the real job controller: live rows, batched updates, Retry of a real failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.jobs.model import JobDocument, JobState, Lane
from core.pipeline import make_job
from tests.ui.conftest import new_assets, write_image
from ui.jobs.job_steps import STEP_COLUMNS
from ui.jobs.jobs_panel import COLUMNS, JobsPanel


def _cell(panel: JobsPanel, row: int, column: str) -> Any:
    return panel.model.data(panel.model.index(row, COLUMNS.index(column)))


def test_shows_stored_jobs_and_applies_updates(qtbot: Any, catalog: Catalog, controllers: Any) -> None:
    jobs, _ingest = controllers
    project = catalog.create_project("Jobs")
    ids = catalog.add_assets(new_assets(project.id, 2))
    first = JobDocument.new(
        "render", ["render_thumbnail"], asset_id=ids["asset-image-0"], project_id=project.id
    )
    catalog.jobs.add([first])
    panel = JobsPanel(catalog, jobs)
    qtbot.addWidget(panel)
    assert panel.model.rowCount() == 1
    assert _cell(panel, 0, "Asset") == "asset_00000.exr"
    assert _cell(panel, 0, "State") == "Pending"

    first.state, first.progress, first.device = JobState.RUNNING, 0.5, "osmesa"
    second = JobDocument.new("classify", ["classify"], asset_id=ids["asset-image-1"], project_id=project.id)
    catalog.jobs.add([second])
    second.state = JobState.QUEUED
    jobs.job_updated.emit(first)
    jobs.job_updated.emit(second)
    assert panel.model.rowCount() == 1, "updates are applied on the panel's timer, not one by one"
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=2000)
    assert _cell(panel, 0, "Job") == "classify", "the newest job is on top"
    assert _cell(panel, 1, "State") == "Running"
    assert _cell(panel, 1, "Progress") == 0.5
    assert _cell(panel, 1, "Device") == "osmesa"

    panel.filter_combo.setCurrentText("Failed")
    assert panel.model.rowCount() == 0


def test_retry_reruns_a_failed_job(qtbot: Any, tmp_path: Path, catalog: Catalog, controllers: Any) -> None:
    jobs, _ingest = controllers
    project = catalog.create_project("Retry")
    ids = catalog.add_assets(new_assets(project.id, 1, folder=str(tmp_path)))
    asset_id = ids["asset-image-0"]
    (tmp_path / "asset_00000.exr").write_bytes(b"v/1\x01" + bytes(40))  # a truncated EXR: invalid input
    panel = JobsPanel(catalog, jobs)
    qtbot.addWidget(panel)
    doc = make_job("thumbnail", asset_id, project.id)
    jobs.submit([doc])
    qtbot.waitUntil(
        lambda: panel.model.rowCount() == 1 and _cell(panel, 0, "State") == "Failed", timeout=15_000
    )
    error = _cell(panel, 0, "Error")
    assert "asset_00000.exr" in error, "the step's error is shown"

    panel.table.selectRow(0)
    assert panel.retry_button.isEnabled()
    assert not panel.cancel_button.isEnabled()
    states: list[JobState] = []
    jobs.job_updated.connect(lambda d: states.append(d.state) if d.id == doc.id else None)
    panel.retry_button.click()
    qtbot.waitUntil(lambda: JobState.QUEUED in states and states[-1] == JobState.FAILED, timeout=15_000)
    qtbot.waitUntil(lambda: _cell(panel, 0, "State") == "Failed", timeout=2000)
    assert panel.model.rowCount() == 1, "a retried job updates its row instead of adding one"


def _image_assets(catalog: Catalog, folder: Path, count: int) -> list[int]:
    project = catalog.create_project("Queue")
    records = [
        NewAsset(project.id, f"plate_{i}.png", str(write_image(folder / f"plate_{i}.png", 320, 200)), "image",
                 f"plate-{i}", 1000)
        for i in range(count)
    ]  # fmt: skip
    ids = catalog.add_assets(records)
    return [ids[f"plate-{i}"] for i in range(count)]


def _row(panel: JobsPanel, job_id: int | None) -> int:
    assert job_id is not None
    row = panel.model.row_of(job_id)
    assert row is not None
    return row


def test_a_selected_job_opens_into_its_steps_and_their_log_lines(
    qtbot: Any, tmp_path: Path, catalog: Catalog, controllers: Any
) -> None:
    jobs, _ingest = controllers
    [asset_id] = _image_assets(catalog, tmp_path, 1)
    panel = JobsPanel(catalog, jobs)
    qtbot.addWidget(panel)
    doc = make_job("thumbnail", asset_id, 1)
    jobs.submit([doc])
    qtbot.waitUntil(lambda: doc.id is not None and _cell(panel, _row(panel, doc.id), "State") == "Completed",
                    timeout=15_000)  # fmt: skip
    assert panel.steps.job is None, "nothing opened before a job is chosen"
    panel.table.selectRow(_row(panel, doc.id))
    tree = panel.steps.tree
    assert tree.topLevelItemCount() == 1
    step = tree.topLevelItem(0)
    assert step is not None
    values = {column: step.text(i) for i, column in enumerate(STEP_COLUMNS)}
    assert values["Step"] == "thumbnail"
    assert values["Status"] == "completed"
    assert values["Device"] == "cpu"
    assert ".jpg" in values["Output"]
    assert "width=256" in values["Output"]
    assert values["Start"] != "–"
    assert values["End"] != "–"
    assert values["Duration"]
    lines = [step.child(i).text(0) for i in range(step.childCount())]
    assert [line.split()[1] for line in lines] == ["step_start", "step_done"]
    assert lines[0].endswith("#1  attempt 1, stall timeout 300 s")
    assert step.child(0).isFirstColumnSpanned(), "a log line reads across the columns"
    assert panel.steps.rerun_button.isEnabled(), "a finished job's step can be run again"


def test_pause_a_lane_step_a_job_and_bump_another_from_the_panel(
    qtbot: Any, tmp_path: Path, catalog: Catalog, controllers: Any
) -> None:
    jobs, _ingest = controllers
    ids = _image_assets(catalog, tmp_path, 3)
    panel = JobsPanel(catalog, jobs)
    qtbot.addWidget(panel)
    panel.pause_button.lane_actions[Lane.MEDIA].trigger()
    assert panel.pause_button.text() == "Media paused"
    docs = [make_job("thumbnail", asset_id, 1) for asset_id in ids]
    jobs.submit(docs)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=2000)
    assert [_cell(panel, r, "State") for r in range(3)] == ["Paused"] * 3

    panel.table.selectRow(_row(panel, docs[2].id))
    assert panel.bump_button.isEnabled()
    assert panel.step_button.isEnabled()
    panel.bump_button.click()
    qtbot.waitUntil(lambda: _cell(panel, _row(panel, docs[2].id), "Priority") == "top", timeout=2000)
    assert jobs.scheduler.queue.waiting()[0].id == docs[2].id, "bumped to the top of its lane"

    panel.table.selectRow(_row(panel, docs[1].id))
    panel.hold_button.click()
    assert jobs.scheduler.queue.is_held(docs[1].id or 0)
    assert panel.hold_button.text() == "Release", "held jobs are let go with the same button"

    panel.table.selectRow(_row(panel, docs[0].id))
    panel.step_button.click()  # a one-step job: stepping it runs it
    qtbot.waitUntil(lambda: _cell(panel, _row(panel, docs[0].id), "State") == "Completed", timeout=15_000)
    assert _cell(panel, _row(panel, docs[1].id), "State") == "Paused", "only the stepped job ran"

    panel.pause_button.lane_actions[Lane.MEDIA].trigger()  # resume the lane
    assert panel.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: _cell(panel, _row(panel, docs[2].id), "State") == "Completed", timeout=15_000)
    assert _cell(panel, _row(panel, docs[1].id), "State") == "Paused", "a held job waits for its release"
    panel.table.selectRow(_row(panel, docs[1].id))
    panel.hold_button.click()
    qtbot.waitUntil(lambda: all(_cell(panel, r, "State") == "Completed" for r in range(3)), timeout=15_000)


def test_rerun_one_step_with_changed_settings_from_the_panel(
    qtbot: Any, tmp_path: Path, catalog: Catalog, controllers: Any
) -> None:
    jobs, _ingest = controllers
    [asset_id] = _image_assets(catalog, tmp_path, 1)
    panel = JobsPanel(catalog, jobs)
    qtbot.addWidget(panel)
    doc = make_job("thumbnail", asset_id, 1)
    jobs.submit([doc])
    qtbot.waitUntil(lambda: doc.id is not None and _cell(panel, _row(panel, doc.id), "State") == "Completed",
                    timeout=15_000)  # fmt: skip
    first = catalog.get_asset(asset_id)
    assert first is not None
    assert first.thumbnail is not None
    panel.table.selectRow(_row(panel, doc.id))
    asked: list[tuple[str, str]] = []
    panel.steps.ask_overrides = lambda step, current: (
        asked.append((step, current)) or 'profile={"thumbnail_size": 64}'
    )
    panel.steps.rerun_button.click()
    assert asked == [("thumbnail", "")]
    assert doc.id is not None

    def stored_width() -> object:
        stored = catalog.jobs.get(doc.id or 0)
        return stored.steps[0].output.get("width") if stored and stored.state == JobState.COMPLETED else None

    def thumbnail_now() -> str | None:
        record = catalog.get_asset(asset_id)
        return record.thumbnail if record else None

    # The catalog, not only the signal: the record is written after the job says it is done.
    qtbot.waitUntil(lambda: stored_width() == 64 and thumbnail_now() != first.thumbnail, timeout=15_000)
    rerun = catalog.jobs.get(doc.id)
    assert rerun is not None
    assert rerun.steps[0].output["height"] == 40
    assert Path(first.thumbnail).is_file(), "the earlier thumbnail is still there"
    second = catalog.get_asset(asset_id)
    assert second is not None
    assert second.thumbnail == rerun.steps[0].output["thumbnail"] != first.thumbnail
    assert panel.model.rowCount() == 1, "the re-run updates its job's row"
