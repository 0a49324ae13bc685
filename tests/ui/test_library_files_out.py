"""Assets leaving the app: dragged out as files, copied as paths, opened with the system default or a
configured application, revealed in the file manager (and told apart when that fails)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QDir, QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication

from core.catalog.records import AssetQuery, NewAsset, SortKey
from core.media.kinds import AssetKind
from tests.ui.conftest import write_image
from ui.common.files import reveal_in_file_manager
from ui.library.drag import URI_LIST
from ui.library.open_with import open_with_program

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QMenu

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from ui.shell.main_window import MainWindow


class RecordingFileManager(QObject):
    """Stands in for the desktop's file handler through Qt's own seam (QDesktopServices.setUrlHandler)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url)


@pytest.fixture
def file_manager() -> Iterator[RecordingFileManager]:
    handler = RecordingFileManager()
    QDesktopServices.setUrlHandler("file", handler, "open")
    yield handler
    QDesktopServices.unsetUrlHandler("file")


def _make_files(tmp_path: Path, catalog: Catalog) -> tuple[int, dict[str, int], list[Path]]:
    """A project with one image and one three-frame sequence, all real files."""
    project = catalog.create_project("Out")
    still = write_image(tmp_path / "plates" / "rock plate.png")
    frames = [write_image(tmp_path / "render" / f"beauty.{n:04d}.png") for n in (1001, 1002, 1003)]
    sequence_meta = {
        "sequence": {
            "directory": str(frames[0].parent),
            "pattern": "beauty.####.png",
            "frames": [1001, 1002, 1003],
        }
    }
    ids = catalog.add_assets(
        [
            NewAsset(project.id, still.name, str(still), AssetKind.IMAGE, "still", 10),
            NewAsset(
                project.id, "beauty.####.png", str(frames[0]), AssetKind.SEQUENCE, "seq", 30,
                metadata=sequence_meta, frame_first=1001, frame_last=1003,
            ),
        ]
    )  # fmt: skip
    return project.id, ids, [still, *frames]


def _show_project(window: MainWindow, project_id: int) -> list[AssetRecord]:
    window.grid.set_project(project_id, [])
    window.grid.view.selectAll()
    return window.grid.selected_records()


def _actions(menu: QMenu) -> dict[str, Any]:
    return {a.text(): a for a in menu.actions() if a.text()}


def test_dragging_assets_out_carries_their_files_with_a_sequence_as_its_frames(
    window: MainWindow, catalog: Catalog, tmp_path: Path
) -> None:
    project_id, _ids, files = _make_files(tmp_path, catalog)
    records = _show_project(window, project_id)
    assert len(records) == 2
    model = window.grid.model
    indexes = [model.index(row) for row in range(model.rowCount())]
    assert all(model.flags(i) & model.flags(i).ItemIsDragEnabled for i in indexes)
    assert window.grid.view.dragEnabled()

    mime = model.mimeData(indexes)
    assert mime.hasFormat(URI_LIST)
    assert sorted(u.toLocalFile() for u in mime.urls()) == sorted(str(f) for f in files)
    assert all(u.isLocalFile() for u in mime.urls())
    assert sorted(mime.text().splitlines()) == sorted(QDir.toNativeSeparators(str(f)) for f in files)


def test_a_drag_from_the_grid_dropped_back_on_the_window_ingests_nothing(
    qtbot: Any, window: MainWindow, catalog: Catalog, tmp_path: Path
) -> None:
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QDropEvent
    from PySide6.QtWidgets import QApplication

    project_id, _ids, _paths = _make_files(tmp_path, catalog)
    _show_project(window, project_id)
    model = window.grid.model
    mime = model.mimeData([model.index(0)])
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    # What Qt delivers when the grid's own drag ends over the window: a drop whose source is the grid.
    # QDropEvent has no setter for its source (Qt fills it from the running QDrag), so a subclass
    # answers for the drag; the router only asks whether there is one.
    grid_view = window.grid.view

    class FromTheGrid(QDropEvent):
        def source(self) -> QObject:
            return grid_view

    event = FromTheGrid(QPointF(20, 20), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    with qtbot.assertNotEmitted(window.drops.dropped):
        QApplication.sendEvent(grid_view.viewport(), event)
    assert not window.ingest.busy


def test_copy_path_puts_one_native_path_per_selected_asset_on_the_clipboard(
    window: MainWindow, catalog: Catalog, tmp_path: Path
) -> None:
    project_id, _ids, _paths = _make_files(tmp_path, catalog)
    records = _show_project(window, project_id)
    actions = _actions(window.asset_actions.build_menu(records, window.grid))
    actions["Copy paths (2)"].trigger()
    expected = [QDir.toNativeSeparators(r.path) for r in records]
    assert QGuiApplication.clipboard().text().splitlines() == expected

    actions = _actions(window.asset_actions.build_menu(records[:1], window.grid))
    actions["Copy path"].trigger()
    assert QGuiApplication.clipboard().text() == expected[0]


def _fake_program(folder: Path, name: str) -> Path:
    """An executable that records its arguments, as a DCC would receive them."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    record = folder / f"{name}.argv.json"
    script.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return record


def test_open_with_lists_configured_applications_and_starts_them_with_the_file(
    qtbot: Any, window: MainWindow, catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv_file = _fake_program(tmp_path / "bin", "fakedcc")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    window.settings.open_with = {"Fake DCC": "fakedcc", "Nuke": "no-such-nuke"}
    project_id, ids, files = _make_files(tmp_path, catalog)
    _show_project(window, project_id)
    sequence = catalog.get_asset(ids["seq"])
    assert sequence is not None

    menu = window.asset_actions.build_menu([sequence], window.grid)
    open_with = _actions(menu)["Open with"].menu()
    assert [a.text() for a in open_with.actions() if a.text()] == ["System default", "Fake DCC", "Nuke"]
    _actions(open_with)["Fake DCC"].trigger()
    # A sequence opens at its first frame: DCCs find the rest themselves.
    qtbot.waitUntil(argv_file.exists, timeout=10_000)
    qtbot.waitUntil(lambda: argv_file.read_text() != "", timeout=5_000)
    assert json.loads(argv_file.read_text()) == [str(files[1])]

    missing = open_with_program("Nuke", "no-such-nuke", sequence)
    assert missing.problem is not None
    assert "'no-such-nuke' was not found" in missing.problem


def test_open_with_the_system_default_hands_the_file_to_the_desktop(
    window: MainWindow, catalog: Catalog, tmp_path: Path, file_manager: RecordingFileManager
) -> None:
    project_id, ids, files = _make_files(tmp_path, catalog)
    _show_project(window, project_id)
    still = catalog.get_asset(ids["still"])
    assert still is not None
    open_with = _actions(window.asset_actions.build_menu([still], window.grid))["Open with"].menu()
    _actions(open_with)["System default"].trigger()
    assert [u.toLocalFile() for u in file_manager.opened] == [str(files[0])]


def test_reveal_tells_a_missing_folder_from_a_missing_file_manager(
    tmp_path: Path, qapp: Any, file_manager: RecordingFileManager
) -> None:
    image = write_image(tmp_path / "shots" / "a.png")
    assert reveal_in_file_manager(image).problem is None
    assert [u.toLocalFile() for u in file_manager.opened] == [str(image.parent)]

    gone = reveal_in_file_manager(tmp_path / "moved" / "a.png").problem
    assert gone is not None
    assert "no longer exists" in gone


@pytest.mark.qt_log_ignore("does not support QPlatformServices::openDocument")
def test_reveal_without_any_file_manager_says_so_not_that_the_folder_is_gone(
    tmp_path: Path, qapp: Any
) -> None:
    # The offscreen platform, like a desktop without xdg-open, has nothing to open folders with.
    image = write_image(tmp_path / "shots" / "a.png")
    problem = reveal_in_file_manager(image).problem
    assert problem is not None
    assert "no longer exists" not in problem
    assert "no file manager could be started" in problem


def test_searching_switches_to_relevance_and_clearing_restores_the_chosen_order(
    qtbot: Any, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Sorts")
    catalog.add_assets(
        [NewAsset(project.id, n, f"/lib/{n}", AssetKind.IMAGE, n, size) for n, size in
         (("Massive_rock.exr", 30), ("massive_tree.exr", 10), ("pebble.exr", 20))]
    )  # fmt: skip
    grid = window.grid
    grid.set_project(project.id, [])
    grid.set_sort(SortKey.SIZE)
    assert grid.model.query.descending, "size starts largest first"
    assert [grid.model.record_at(r).name for r in range(3)] == [
        "Massive_rock.exr",
        "pebble.exr",
        "massive_tree.exr",
    ]  # type: ignore[union-attr]

    grid.filter_bar.search_box.setText("ssi")
    qtbot.waitUntil(lambda: grid.model.query.search == "ssi", timeout=5_000)
    assert grid.model.query.sort == SortKey.RELEVANCE
    assert grid.model.total == 2
    grid.filter_bar.reverse_button.click()
    assert grid.model.query == AssetQuery(
        project_id=project.id, search="ssi", sort=SortKey.RELEVANCE, descending=True
    )
    grid.filter_bar.search_box.clear()
    qtbot.waitUntil(lambda: grid.model.query.search == "", timeout=5_000)
    assert grid.model.query.sort == SortKey.SIZE
    assert grid.model.total == 3
