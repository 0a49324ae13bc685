"""The Jobs panel over the real job controller: live rows, batched updates, Retry of a real failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.catalog.catalog import Catalog
from core.jobs.model import JobDocument, JobState
from core.pipeline import make_job
from tests.ui.conftest import new_assets
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
