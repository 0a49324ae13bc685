"""The Jobs panel's kind filter and its durations chart (pyqtgraph, offscreen), fed by job documents."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer

from core.catalog.catalog import Catalog
from core.jobs.model import JobDocument, JobState, StepStatus
from tests.ui.conftest import new_assets
from ui.jobs.jobs_panel import COLUMNS, JobsPanel

T0 = 1_750_000_000.0


def _job(kind: str, asset_id: int, state: JobState, device: str | None = None,
         started: float = T0, seconds: float | None = None) -> JobDocument:  # fmt: skip
    doc = JobDocument.new(kind, [kind], asset_id=asset_id)
    doc.state, doc.device = state, device
    if seconds is not None:
        step = doc.steps[0]
        step.status, step.started_at, step.ended_at = StepStatus.COMPLETED, started, started + seconds
    return doc


def test_kind_filter_and_chart_of_durations_per_device(
    qtbot: Any, catalog: Catalog, controllers: Any
) -> None:
    jobs, _ingest = controllers
    project = catalog.create_project("Chart")
    asset = catalog.add_assets(new_assets(project.id, 1))["asset-image-0"]
    catalog.jobs.add(
        [
            _job("render", asset, JobState.COMPLETED, "pyrender/egl", T0, 1.5),
            _job("render", asset, JobState.COMPLETED, "pyrender/egl", T0 + 60, 2.0),
            _job("render", asset, JobState.COMPLETED, "cpu", T0 + 30, 4.0),
            _job("render", asset, JobState.FAILED),
            _job("thumbnail", asset, JobState.COMPLETED, "cpu", T0, 0.1),
            _job("thumbnail", asset, JobState.COMPLETED, "cpu", T0 + 5, 0.2),
            _job("classify", asset, JobState.QUEUED),
        ]
    )
    panel = JobsPanel(catalog, jobs)
    qtbot.addWidget(panel)
    panel.resize(1200, 300)
    panel.show()
    assert panel.model.rowCount() == 7
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("render"))
    assert panel.model.rowCount() == 4
    assert {panel.model.job_at(r).kind for r in range(4)} == {"render"}  # type: ignore[union-attr]
    panel.filter_combo.setCurrentText("Failed")
    assert panel.model.rowCount() == 1
    # A new job of another kind does not slip into the filtered table.
    queued = _job("thumbnail", asset, JobState.FAILED)
    catalog.jobs.add([queued])
    assert panel.counts_label.text().endswith("1 failed")
    with qtbot.assertNotEmitted(panel.model.rowsInserted):
        jobs.job_updated.emit(queued)
        # The update was applied (in a batch) once the counts take in the new failure.
        qtbot.waitUntil(lambda: panel.counts_label.text().endswith("2 failed"), timeout=3000)
    assert panel.model.rowCount() == 1

    panel.chart_button.click()
    chart = panel.chart
    assert chart is not None
    assert chart.isVisible()
    assert chart.series() == {"cpu": [(T0 + 34, 4.0)], "pyrender/egl": [(T0 + 1.5, 1.5), (T0 + 62, 2.0)]}
    assert len(chart.plot.listDataItems()) == 2, "one series per device"
    chart.set_kind("thumbnail")
    thumbnails = chart.series()
    assert list(thumbnails) == ["cpu"]
    assert [seconds for _t, seconds in thumbnails["cpu"]] == pytest.approx([0.1, 0.2])

    # Finished jobs arriving in a burst are drawn once, on the throttle, not once per job.
    redraws = chart.redraw_count
    burst = [_job("thumbnail", asset, JobState.COMPLETED, "cuda:0", T0 + 100 + i, 0.05) for i in range(5)]
    catalog.jobs.add(burst)
    for doc in burst:
        jobs.job_updated.emit(doc)
    qtbot.waitUntil(lambda: len(chart.series().get("cuda:0", [])) == 5, timeout=3000)
    assert chart.redraw_count == redraws
    qtbot.waitUntil(lambda: chart.redraw_count == redraws + 1, timeout=3000)
    # ...and nothing is left to draw: no second redraw is scheduled (the chart's own throttle timer).
    assert not [t for t in chart.findChildren(QTimer, options=Qt.FindChildOption.FindDirectChildrenOnly)
                if t.isActive()]  # fmt: skip
    assert chart.redraw_count == redraws + 1
    assert len(chart.plot.listDataItems()) == 2
    assert COLUMNS[0] == "Job"


def test_start_up_modules_do_not_import_pyqtgraph_or_torch() -> None:
    code = (
        "import sys, ui.shell.main_window, ui.jobs.jobs_panel, ui.viewer.viewer, ui.library.inspector\n"
        "heavy = [m for m in ('pyqtgraph', 'torch') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
