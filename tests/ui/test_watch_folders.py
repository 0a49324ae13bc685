"""Watch folders in the app: a real window, the real watcher thread on tmp folders, real ingests.

The watcher lists on a short timer (no file-system events), so a test waits for what a user would see
(assets in the catalog, a notification) and never for a fixed time.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialog

from core.catalog.catalog import Catalog
from core.catalog.records import AssetQuery
from core.paths import AppPaths
from core.profiles import ProcessingProfile, ProfileBook, profiles_file, save_profiles
from core.settings import Settings
from core.watch.store import WatchFolder, load_watches, save_watches, watches_file
from core.watch.watcher import WatchEvent
from tests.ui.conftest import write_image
from tests.ui.test_main_window import answer_next_dialog
from ui.library.watch_folders import AddWatchDialog, WatchedFoldersDialog
from ui.shell.main_window import MainWindow
from workers.watch_runner import WatchRunner

WAIT_MS = 30_000


@pytest.fixture
def settings() -> Settings:
    return Settings(
        watch_poll_s=0.05,
        watch_settle_s=0.1,
        watch_sequence_quiet_s=0.1,
        watch_rescan_s=0.2,
        watch_events=False,
    )


class Runners:
    """Starts watcher threads as the app does (one per "app start") and stops them all at the end."""

    def __init__(self, window: MainWindow, paths: AppPaths, settings: Settings) -> None:
        self._window, self._paths, self._settings = window, paths, settings
        self.started: list[WatchRunner] = []
        self.settled: list[Path] = []  # every path handed to ingest, over all starts

    def start(self) -> WatchRunner:
        runner = WatchRunner(self._paths, self._settings)
        runner.settled.connect(self._on_settled)
        self._window.watch_folders.attach(runner)
        runner.start()
        self.started.append(runner)
        return runner

    def _on_settled(self, event: WatchEvent) -> None:
        self.settled.extend(event.paths)


@pytest.fixture
def runners(window: MainWindow, paths: AppPaths, settings: Settings) -> Iterator[Runners]:
    started = Runners(window, paths, settings)
    yield started
    for runner in started.started:
        assert runner.stop(), "the watcher thread stops within its bound"


def watch(paths: AppPaths, folder: Path, project: str, profile: str | None = None) -> None:
    file = watches_file(paths)
    book = load_watches(file)
    book.add(WatchFolder(path=str(folder), project=project, profile=profile))
    save_watches(book, file)


def count(catalog: Catalog, project: str) -> int:
    found = catalog.project_by_name(project)
    return catalog.count_assets(AssetQuery(project_id=found.id)) if found is not None else 0


def work_done(window: MainWindow, catalog: Catalog) -> bool:
    """No ingest and no job left: a test ends with its thumbnails made, not while they run."""
    counts = catalog.jobs.counts()
    return not window.ingest.busy and not any(counts.get(s, 0) for s in ("queued", "pending", "running"))


def notification_titles(catalog: Catalog) -> list[str]:
    return [n.title for n in catalog.notifications.recent()]


def test_settled_files_are_ingested_once_and_files_added_while_closed_at_the_next_start(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog, paths: AppPaths, runners: Runners
) -> None:
    folder = tmp_path / "renders"
    write_image(folder / "before.png", 40, 30, (10, 0, 0))  # there before the app starts
    watch(paths, folder, "Watched")
    first = runners.start()
    qtbot.waitUntil(lambda: count(catalog, "Watched") == 1, timeout=WAIT_MS)

    write_image(folder / "hero.png", 40, 30, (0, 90, 0))
    write_image(folder / "villain.png", 40, 30, (0, 0, 90))
    qtbot.waitUntil(lambda: count(catalog, "Watched") == 3 and not window.ingest.busy, timeout=WAIT_MS)
    assert first.stop()

    write_image(folder / "while_closed.png", 40, 30, (90, 90, 0))  # the app is "closed"
    runners.start()
    qtbot.waitUntil(lambda: count(catalog, "Watched") == 4, timeout=WAIT_MS)
    names = sorted(p.name for p in runners.settled)
    assert names == ["before.png", "hero.png", "villain.png", "while_closed.png"], "each file once"
    qtbot.waitUntil(lambda: work_done(window, catalog), timeout=WAIT_MS)


def test_a_vanished_folder_notifies_once_and_its_return_resumes(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog, paths: AppPaths, runners: Runners
) -> None:
    folder, other = tmp_path / "share", tmp_path / "local"
    write_image(folder / "plate.png", 40, 30, (10, 0, 0))
    other.mkdir()
    watch(paths, folder, "Share")
    watch(paths, other, "Local")
    runners.start()
    qtbot.waitUntil(lambda: count(catalog, "Share") == 1, timeout=WAIT_MS)

    shutil.move(folder, tmp_path / "unmounted")
    qtbot.waitUntil(lambda: "Watched folder is gone" in notification_titles(catalog), timeout=WAIT_MS)
    # The other folder is still served, pass after pass, while the first stays gone: no new notice.
    write_image(other / "meanwhile.png", 40, 30, (0, 90, 0))
    qtbot.waitUntil(lambda: count(catalog, "Local") == 1, timeout=WAIT_MS)
    write_image(other / "and_later.png", 40, 30, (0, 0, 90))
    qtbot.waitUntil(lambda: count(catalog, "Local") == 2, timeout=WAIT_MS)
    assert notification_titles(catalog).count("Watched folder is gone") == 1

    shutil.move(tmp_path / "unmounted", folder)
    write_image(folder / "after.png", 40, 30, (90, 90, 0))
    qtbot.waitUntil(lambda: count(catalog, "Share") == 2, timeout=WAIT_MS)
    titles = notification_titles(catalog)
    assert (titles.count("Watched folder is gone"), titles.count("Watched folder is back")) == (1, 1)
    qtbot.waitUntil(lambda: work_done(window, catalog), timeout=WAIT_MS)
    assert sorted(p.name for p in runners.settled) == [
        "after.png",
        "and_later.png",
        "meanwhile.png",
        "plate.png",
    ]


def test_a_watch_added_in_the_dialog_ingests_with_its_profile_and_can_be_removed(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog, paths: AppPaths, runners: Runners
) -> None:
    book = ProfileBook()
    book.save_profile(ProcessingProfile(name="quick", ai=False, video=False))
    save_profiles(book, profiles_file(paths))
    project = catalog.create_project("Dailies")
    window.sidebar.reload_projects(project.id)
    folder = tmp_path / "dailies"
    write_image(folder / "daily.png", 40, 30)
    runners.start()  # watching nothing yet: the dialog's watch is taken up while it runs

    def fill(dialog: QDialog) -> None:
        assert isinstance(dialog, AddWatchDialog)
        assert not dialog.watch_button.isEnabled(), "no folder, nothing to watch"
        dialog.folder_edit.setText(str(folder))
        dialog.profile_combo.setCurrentIndex(dialog.profile_combo.findData("quick"))
        dialog.watch_button.click()

    answer_next_dialog(fill)
    window.sidebar.watch_folder_requested.emit(project)  # the project's "Watch a folder…"
    assert [(w.path, w.project, w.profile) for w in load_watches(watches_file(paths)).watches] == [
        (str(folder), "Dailies", "quick")
    ]
    qtbot.waitUntil(lambda: count(catalog, "Dailies") == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: work_done(window, catalog), timeout=WAIT_MS)
    [thumbnail] = catalog.jobs.find(kind="thumbnail")
    assert ProcessingProfile.from_job_params(thumbnail.params).name == "quick"

    def remove(dialog: QDialog) -> None:
        assert isinstance(dialog, WatchedFoldersDialog)
        assert dialog.tree.topLevelItem(0).text(1) == "Dailies"
        dialog.tree.topLevelItem(0).setSelected(True)
        dialog.remove_button.click()
        assert dialog.empty_label.isVisibleTo(dialog)
        dialog.reject()

    answer_next_dialog(remove)
    window.sidebar.watched_folders_requested.emit()
    assert load_watches(watches_file(paths)).watches == []


def test_closing_the_window_stops_the_watcher_thread(
    qtbot: Any, tmp_path: Path, window: MainWindow, paths: AppPaths, runners: Runners
) -> None:
    (tmp_path / "inbox").mkdir()
    watch(paths, tmp_path / "inbox", "Anything")
    runner = runners.start()
    assert runner.is_running()
    window.close()
    qtbot.waitUntil(lambda: not runner.is_running(), timeout=WAIT_MS)
