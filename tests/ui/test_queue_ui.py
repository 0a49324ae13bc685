"""Queue control in the window: "Analyse shot" as a job whose notification opens the plot, drops that
follow the project's profile, and alerts from the scheduler in their own section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.catalog.catalog import Catalog
from core.catalog.records import AssetQuery, NewAsset
from core.jobs.model import JobState, Priority
from core.notify import NotificationSection
from core.paths import AppPaths
from core.pipeline import JobKind, make_job
from core.profiles import ProcessingProfile, ProfileBook, profiles_file, save_profiles
from tests.ui.conftest import write_image
from ui.shell.main_window import MainWindow

WAIT_MS = 30_000


def _write_clip(path: Path, frames: int = 12) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(frames):
            pixels = np.full((64, 64, 3), (i * 20) % 255, np.uint8)
            pixels[8 : 8 + i * 4, 10:30] = 250  # something that moves and has edges
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _activity_titles(window: MainWindow) -> list[str]:
    activity = window.notification_centre.lists[NotificationSection.ACTIVITY]
    return [activity.item(i).text().splitlines()[0] for i in range(activity.count())]


def test_analyse_shot_runs_as_a_job_and_its_notification_opens_the_plot(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Shots")
    window.sidebar.reload_projects(project.id)
    window.ingest_requests.ingest([_write_clip(tmp_path / "shot010.mp4")])
    qtbot.waitUntil(lambda: catalog.count_assets(AssetQuery(project_id=project.id)) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.jobs.scheduler.active_count(), timeout=WAIT_MS)
    [record] = catalog.page_at(AssetQuery(project_id=project.id), 0, 1)
    actions = {a.text(): a for a in window.asset_actions.build_menu([record], window.grid).actions()}
    assert actions["Analyse shot"].isEnabled()
    actions["Analyse shot"].trigger()
    [job] = catalog.jobs.find(kind=JobKind.ANALYSIS)
    assert job.priority == Priority.USER, "asked for now: before background work"

    qtbot.waitUntil(lambda: "Analysed shot shot010.mp4" in _activity_titles(window), timeout=WAIT_MS)
    activity = window.notification_centre.lists[NotificationSection.ACTIVITY]
    item = activity.item(_activity_titles(window).index("Analysed shot shot010.mp4"))
    assert "Complexity" in item.text()
    activity.itemClicked.emit(item)
    assert window.centre.currentWidget() is window.viewer
    shown = window.viewer.record
    assert shown is not None
    assert shown.metadata.get("analysis"), (
        "the viewer shows the analysed record: its plot is under the player"
    )


def test_a_drop_ingests_with_the_projects_profile(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog, paths: AppPaths
) -> None:
    project = catalog.create_project("Dailies")
    book = ProfileBook()
    book.save_profile(ProcessingProfile(name="small", thumbnail_size=64, ai=False, priority="high"))
    book.choose_for_project("Dailies", "small")
    save_profiles(book, profiles_file(paths))
    window.sidebar.reload_projects(project.id)
    window.ingest_requests.ingest([write_image(tmp_path / "plate.png", 320, 200)])
    qtbot.waitUntil(lambda: bool(catalog.jobs.find(states=[JobState.COMPLETED])), timeout=WAIT_MS)
    [thumbnail] = catalog.jobs.find(kind=JobKind.THUMBNAIL)
    assert thumbnail.params["profile"]["name"] == "small"
    assert thumbnail.priority == Priority.HIGH
    assert (thumbnail.steps[0].output["width"], thumbnail.steps[0].output["height"]) == (64, 40)
    qtbot.waitUntil(lambda: not window.jobs.scheduler.active_count(), timeout=WAIT_MS)
    assert not catalog.jobs.find(kind=JobKind.CLASSIFY), "the profile has AI off"


def test_jobs_recovered_after_a_crash_raise_an_alert_that_leads_to_them(
    qtbot: Any, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Crash")
    [asset_id] = catalog.add_assets(
        [NewAsset(project.id, "gone.png", "/nowhere/gone.png", "image", "gone", 1)]
    ).values()
    interrupted = make_job(JobKind.THUMBNAIL, asset_id, project.id)
    interrupted.state = JobState.RUNNING
    catalog.jobs.add([interrupted])
    with catalog.engine.begin() as conn:  # as a killed process leaves it: nobody holds its lease
        conn.exec_driver_sql("UPDATE job SET owner = NULL")
    assert window.jobs.scheduler.recover()
    alerts = window.notification_centre.lists[NotificationSection.ALERTS]
    qtbot.waitUntil(lambda: alerts.count() == 1, timeout=5000)
    assert alerts.item(0).text().startswith("Recovered 1 interrupted job")
    assert window.notification_centre.tabs.tabText(2) == "Alerts (1)"
    alerts.itemClicked.emit(alerts.item(0))
    assert window.jobs_panel.selected_jobs()[0].id == interrupted.id
    qtbot.waitUntil(lambda: not window.jobs.scheduler.active_count(), timeout=WAIT_MS)


def test_losing_the_sync_connection_raises_an_alert(qtbot: Any, window: MainWindow, catalog: Catalog) -> None:
    for state in ("connecting…", "online", "syncing 2", "connecting…"):
        window.set_connection_state(state)
    alerts = window.notification_centre.lists[NotificationSection.ALERTS]
    assert [alerts.item(i).text().splitlines()[0] for i in range(alerts.count())] == ["Sync connection lost"]
    assert "connecting…" in window.status_label.text()
