"""The main window over a real catalog and the real job and ingest controllers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from core.catalog.catalog import Catalog
from core.catalog.records import AssetQuery
from tests.ui.conftest import new_assets, write_image
from ui.common.dialogs import ConfirmDialog, ProjectDialog
from ui.shell.main_window import MainWindow
from ui.shell.notifications import Notifier


def answer_next_dialog(handle: Callable[[QDialog], None]) -> None:
    """Answer the next modal dialog as a user would, once its event loop runs."""

    def attempt() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QDialog):
            QTimer.singleShot(10, attempt)
            return
        handle(dialog)

    QTimer.singleShot(0, attempt)


def fill_project(name: str, description: str = "") -> Callable[[QDialog], None]:
    def handle(dialog: QDialog) -> None:
        assert isinstance(dialog, ProjectDialog)
        dialog.name_edit.setText(name)
        dialog.description_edit.setPlainText(description)
        dialog.accept()

    return handle


def confirm(texts: list[str]) -> Callable[[QDialog], None]:
    def handle(dialog: QDialog) -> None:
        assert isinstance(dialog, ConfirmDialog)
        texts.extend(label.text() for label in dialog.findChildren(QWidget) if hasattr(label, "text"))
        dialog.confirm_button.click()

    return handle


def drop(target: QWidget, paths: list[Path]) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = QPointF(target.width() / 2, target.height() / 2)
    enter = QDragEnterEvent(point.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window takes file drags wherever they enter"
    event = QDropEvent(
        point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(target, event)
    return event


def test_project_create_rename_delete(qtbot: Any, window: MainWindow, catalog: Catalog) -> None:
    answer_next_dialog(fill_project("Falcon", "Shot 040 plates"))
    window.create_project()
    assert [p.name for p in catalog.list_projects()] == ["Falcon"]
    assert window.current_project is not None
    assert window.current_project.name == "Falcon"

    answer_next_dialog(fill_project("Falcon v2", "Final plates"))
    window.edit_project()
    project = catalog.list_projects()[0]
    assert (project.name, project.description) == ("Falcon v2", "Final plates")
    assert window.sidebar.projects.topLevelItem(0).text(0) == "Falcon v2"

    catalog.add_assets(new_assets(project.id, 3))
    window.refresh()
    texts: list[str] = []
    answer_next_dialog(confirm(texts))
    assert window.delete_project()
    assert catalog.list_projects() == []
    joined = " ".join(texts)
    assert "3 assets" in joined
    assert "Files on disk are kept" in joined
    assert "copied" in joined
    assert window.current_project is None


def test_a_real_drop_on_a_child_view_ingests_into_the_current_project(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Drops")
    window.sidebar.reload_projects(project.id)
    folder = tmp_path / "plates"
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        write_image(folder / f"plate_{'abc'[i]}.jpg", 64, 48, colour)
    loose = write_image(tmp_path / "loose.png", 32, 32)

    with qtbot.waitSignal(window.ingest.finished, timeout=30_000) as blocker:
        event = drop(window.grid.view.viewport(), [folder, loose])
        assert event.isAccepted()
        assert window.ingest_queue.progress.isVisibleTo(window), "progress with Cancel shows during ingest"
    report = blocker.args[0]
    assert report.project_id == project.id
    assert len(report.added) == 4
    assert catalog.count_assets(AssetQuery(project_id=project.id)) == 4
    qtbot.waitUntil(lambda: window.model.rowCount() == 4, timeout=5000)
    assert not window.ingest_queue.progress.isVisibleTo(window)
    assert "4 assets" in window.status_label.text()
    assert "offline" in window.status_label.text()


def test_a_drop_during_an_ingest_waits_its_turn(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Queue")
    window.sidebar.reload_projects(project.id)
    names = ("hero", "villain", "sky", "ground", "prop", "crowd")  # not numbered: no image sequence
    first = [write_image(tmp_path / "first" / f"{n}.png", 48, 32, (i * 20, 0, 0))
             for i, n in enumerate(names)]  # fmt: skip
    second = write_image(tmp_path / "second" / "late.png", 40, 40)
    reports: list[Any] = []
    window.ingest.finished.connect(reports.append)
    window.ingest_requests.ingest(first)
    assert window.ingest.busy
    window.ingest_requests.ingest([second])  # dropped while the first batch runs
    assert window.statusBar().currentMessage().startswith("Queued")
    qtbot.waitUntil(lambda: len(reports) == 2, timeout=30_000)
    assert [len(r.added) for r in reports] == [6, 1], "one after the other, in the order dropped"
    assert catalog.count_assets(AssetQuery(project_id=project.id)) == 7
    assert not window.ingest_queue.progress.isVisibleTo(window)


def test_drop_without_a_project_asks_for_one(qtbot: Any, tmp_path: Path, window: MainWindow,
                                             catalog: Catalog) -> None:  # fmt: skip
    image = write_image(tmp_path / "concepts" / "ship.jpg", 40, 40)
    answer_next_dialog(fill_project("Concepts"))
    with qtbot.waitSignal(window.ingest.finished, timeout=30_000):
        drop(window.inspector, [image.parent])
    [project] = catalog.list_projects()
    assert project.name == "Concepts"
    assert catalog.count_assets(AssetQuery(project_id=project.id)) == 1


def test_delete_selected_assets_keeps_files(qtbot: Any, tmp_path: Path, window: MainWindow,
                                            catalog: Catalog) -> None:  # fmt: skip
    project = catalog.create_project("Cleanup")
    catalog.add_assets(new_assets(project.id, 5, folder=str(tmp_path)))
    original = tmp_path / "asset_00000.exr"
    original.write_bytes(b"the artist's file")
    window.sidebar.reload_projects(project.id)
    window.grid.view.selectAll()
    assert len(window.grid.selected_records()) == 5
    texts: list[str] = []
    answer_next_dialog(confirm(texts))
    assert window.delete_selected()
    assert catalog.count_assets(AssetQuery(project_id=project.id)) == 0
    assert window.model.rowCount() == 0
    assert original.exists(), "removing from the catalog never deletes an artist's file"
    assert any("these 5 assets" in t for t in texts)


def test_batch_summary_becomes_one_notification(
    qtbot: Any, window: MainWindow, catalog: Catalog, tray: Any
) -> None:
    from core.notify import summarise

    summary = summarise("b1", "render", 11, 1, 0, (1, 2), (("rock.obj", "Render timed out after 120 s"),))
    window.jobs.batch_finished.emit(summary)
    [stored] = catalog.notifications.recent()
    assert stored.title == "Rendered 12 models: 11 ok, 1 failed"
    assert stored.target["failures"] == [["rock.obj", "Render timed out after 120 s"]]
    assert window.notification_centre.list.count() == 1
    qtbot.waitUntil(lambda: len(tray.messages) == 1, timeout=2000)  # notify_render is "batched"


def test_window_state_is_saved_to_the_profile_ini_and_restored(
    qtbot: Any, window: MainWindow, catalog: Catalog, settings: Any, paths: Any, controllers: Any
) -> None:
    window.grid.set_tile_size(300)
    window.grid.filter_bar.sort_combo.setCurrentText("Size")
    window.splitter.setSizes([300, 900, 400])
    window.notifications_dock.raise_()
    sizes = window.splitter.sizes()
    assert sizes[0] == 300
    window.close()
    ini = paths.config_dir / "ui.ini"
    assert ini.exists()
    assert "tile_size=300" in ini.read_text()

    jobs, ingest = controllers
    notifier = Notifier(catalog, settings, None)
    again = MainWindow(catalog, settings, paths, jobs, ingest, notifier, background=window.background)
    qtbot.addWidget(again)
    # The offscreen screen is 800 px wide, so Qt clamps the restored geometry; give the window the
    # size it had (as a real screen would) before the splitters are restored on first show.
    again.resize(window.size())
    again.show()
    assert again.grid.tile_size == 300
    assert again.grid.filter_bar.sort_combo.currentText() == "Size"
    assert "geometry=" in ini.read_text()
    assert again.splitter.sizes() == sizes


def test_keyboard_opens_and_closes_the_viewer(qtbot: Any, tmp_path: Path, window: MainWindow,
                                              catalog: Catalog) -> None:  # fmt: skip
    project = catalog.create_project("Keys")
    catalog.add_assets(new_assets(project.id, 2, folder=str(tmp_path)))
    window.sidebar.reload_projects(project.id)
    window.grid.select_row(0)
    window.grid.view.setFocus()
    qtbot.keyClick(window.grid.view, Qt.Key.Key_Space)
    assert window.centre.currentWidget() is window.viewer
    assert window.viewer.record is not None
    assert window.viewer.record.name == "asset_00000.exr"
    qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Right)
    assert window.viewer.record is not None
    assert window.viewer.record.name == "asset_00001.exr"
    assert window.grid.current_record() == window.viewer.record
    qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Escape)
    assert window.centre.currentWidget() is window.grid


def test_closing_the_window_while_a_clip_plays_stops_its_decode_thread(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    from core.catalog.records import NewAsset
    from tests.core.video.clips import write_numbered_clip
    from ui.viewer.player import VideoPlayer, live_decode_threads

    clip = write_numbered_clip(tmp_path / "dailies.mov", frames=48, fps=24)
    project = catalog.create_project("Dailies")
    ids = catalog.add_assets([NewAsset(project.id, clip.name, str(clip), "video", "clip-hash", 10)])
    window.sidebar.reload_projects(project.id)
    before = live_decode_threads()
    window.open_viewer(catalog.get_asset(ids["clip-hash"]))
    player = window.viewer.findChild(VideoPlayer)
    assert player is not None
    with qtbot.waitSignal(player.clip_opened, timeout=10_000):
        pass
    player.play()
    assert live_decode_threads() == before + 1
    window.close()
    # Left running, the thread would outlive the window and abort the process at exit
    # ("QThread: Destroyed while thread is still running").
    assert live_decode_threads() == before
    assert window.centre.currentWidget() is window.grid
