"""Another program's ingest shows up in the open window without F5; the app's own writes do not count."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.catalog.catalog import Catalog
from core.catalog.external_changes import ExternalChange
from core.catalog.records import AssetQuery
from core.paths import AppPaths
from tests.ui.conftest import write_image
from ui.shell.catalog_watch import POLL_MS
from ui.shell.main_window import MainWindow

NAMES = ("hero", "villain", "sky")  # not numbered: three assets, no image sequence


def test_a_cli_ingest_shows_up_without_f5(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog, paths: AppPaths
) -> None:
    project = catalog.create_project("Show")
    window.sidebar.reload_projects(project.id)
    window.catalog_watch.check()  # the test's own set-up commits are not what this test is about
    folder = tmp_path / "drop"
    for i, name in enumerate(NAMES):
        write_image(folder / f"{name}.png", 48, 32, (60 * i, 90, 200))
    changes: list[ExternalChange] = []
    window.catalog_watch.refreshed.connect(changes.append)
    env = {k: v for k, v in os.environ.items() if k != "STRATOPIPE_DATA_DIR"}
    command = [sys.executable, "-m", "app", "--data-dir", str(paths.data_dir), "ingest", str(folder),
               "--project", "Show", "--thumbnails-only"]  # fmt: skip
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as cli:
        qtbot.waitUntil(
            lambda: cli.poll() is not None, timeout=120_000
        )  # the window's event loop runs meanwhile
        assert cli.returncode == 0, cli.stderr.read() if cli.stderr else ""
    ended = time.monotonic()
    assert catalog.count_assets(AssetQuery(project_id=project.id)) == 3
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=5_000)
    assert time.monotonic() - ended < 5, "within a few seconds, no F5"
    assert sum(c.new_assets for c in changes) == 3
    assert "from another program" in window.statusBar().currentMessage()
    assert "3 assets" in window.status_label.text()


def test_the_apps_own_ingest_and_job_results_do_not_refresh_it(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Own")
    window.sidebar.reload_projects(project.id)
    window.catalog_watch.check()
    changes: list[ExternalChange] = []
    window.catalog_watch.refreshed.connect(changes.append)
    images = [write_image(tmp_path / "own" / f"{n}.png", 40, 30, (i * 70, 0, 0)) for i, n in enumerate(NAMES)]
    with qtbot.waitSignal(window.ingest.finished, timeout=30_000):
        window.ingest_requests.ingest(images)

    def thumbnails_done() -> bool:
        counts = catalog.jobs.counts()
        records = list(catalog.iter_assets(AssetQuery(project_id=project.id)))
        busy = counts.get("queued", 0) + counts.get("pending", 0) + counts.get("running", 0)
        return not busy and len(records) == 3 and all(r.thumbnail for r in records)

    qtbot.waitUntil(thumbnails_done, timeout=30_000)  # the job writer committed (another connection)
    qtbot.wait(2 * POLL_MS + 300)  # ticks after the last job result
    assert window.catalog_watch.check() is None
    assert changes == [], "neither the app's own ingest nor its thumbnail jobs look like another program"
    assert window.model.rowCount() == 3


def test_it_looks_only_while_the_window_is_on_screen(qtbot: Any, window: MainWindow) -> None:
    watch = window.catalog_watch
    assert watch.timer.isActive()
    window.showMinimized()
    qtbot.waitUntil(lambda: not watch.timer.isActive(), timeout=2_000)
    window.showNormal()
    qtbot.waitUntil(watch.timer.isActive, timeout=2_000)
    window.hide()
    assert not watch.timer.isActive()
    window.show()
    assert watch.timer.isActive()
