"""Review notes in the real window with no server: frame-anchored drawings, sequence frame numbers,
clicking a note, the compose box keeping its keys, and keyboard focus reaching the player."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from core.catalog.records import NewAsset
from core.settings import Settings
from core.sync.credentials import TokenStore
from core.sync.local_store import LocalStore
from tests.core.video.clips import numbered_frame, write_numbered_clip
from ui.shell.sync_wiring import SyncUi
from ui.viewer.player import VideoPlayer
from workers.background import BackgroundWork
from workers.sync_bridge import SyncBridge

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from ui.shell.main_window import MainWindow

FIRST = 1001  # the sequence's own number of its first frame


@pytest.fixture
def review(qtbot: Any, tmp_path: Path, window: MainWindow) -> Iterator[SyncUi]:
    """The window's review UI on a bridge that never had a server."""
    bridge = SyncBridge(LocalStore(tmp_path / "notes.db"), TokenStore(), Settings(), BackgroundWork())
    yield SyncUi(window, bridge)
    bridge.close()


def _sequence(catalog: Catalog, tmp_path: Path) -> AssetRecord:
    import cv2

    frames = []
    for index in range(8):
        frames.append(tmp_path / f"plate.{FIRST + index:04d}.png")
        assert cv2.imwrite(str(frames[-1]), cv2.cvtColor(numbered_frame(index), cv2.COLOR_RGB2BGR))
    meta = {"fps": 8.0, "sequence": {"directory": str(tmp_path), "pattern": "plate.####.png",
                                     "frames": list(range(FIRST, FIRST + 8))}}  # fmt: skip
    project = catalog.create_project("Review")
    asset = NewAsset(project.id, "plate.####.png", str(frames[0]), "sequence", "seq", 10, meta)
    ids = catalog.add_assets([asset])
    record = catalog.get_asset(ids["seq"])
    assert record is not None
    return record


def _open(qtbot: Any, window: MainWindow, record: AssetRecord) -> VideoPlayer:
    window.sidebar.reload_projects(record.project_id)
    window.open_viewer(record)
    qtbot.waitUntil(lambda: window.viewer.findChild(VideoPlayer) is not None, timeout=5_000)
    player = window.viewer.findChild(VideoPlayer)
    assert player is not None
    qtbot.waitUntil(lambda: not player.canvas.image().isNull(), timeout=10_000)
    return player


def _seek(qtbot: Any, player: VideoPlayer, number: int) -> None:
    player.seek_display(number)
    qtbot.waitUntil(lambda: f"(frame {number} · " in player.timecode_label.text(), timeout=10_000)


def _draw_line(qtbot: Any, review: SyncUi) -> None:
    overlay = review.overlay
    review.annotation_tools.draw_button.setChecked(True)
    rect = overlay._image_rect()
    start = (rect.topLeft() + QPointF(rect.width() * 0.2, rect.height() * 0.5)).toPoint()
    end = (rect.topLeft() + QPointF(rect.width() * 0.8, rect.height() * 0.5)).toPoint()
    qtbot.mousePress(overlay, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(overlay, pos=end)
    qtbot.mouseRelease(overlay, Qt.MouseButton.LeftButton, pos=end)


def test_a_drawing_lives_on_its_frame_and_travels_once_with_its_note(
    qtbot: Any, window: MainWindow, catalog: Catalog, review: SyncUi, tmp_path: Path
) -> None:
    player = _open(qtbot, window, _sequence(catalog, tmp_path))
    panel = review.viewer_comments
    assert panel.compose.isEnabled(), "no server: notes are still written"
    _seek(qtbot, player, 1004)
    assert panel.frame_check.text() == "At frame 1004"
    _draw_line(qtbot, review)
    assert len(review.overlay.visible_strokes()) == 1

    panel.compose.setPlainText("Matte line on the left")
    drawn = panel.send()
    assert drawn is not None
    assert (drawn.frame, drawn.sync_state) == (1004, "private")
    assert "frame 1004" in panel.card(0).badges
    assert "private" in panel.card(0).badges
    assert review.overlay.strokes() == [], "Send clears the canvas"
    assert review.overlay.visible_strokes() == []
    assert not review.annotation_tools.draw_button.isChecked()

    _seek(qtbot, player, 1006)
    panel.compose.setPlainText("Grain is heavier here")
    plain = panel.send()
    assert plain is not None
    assert (plain.frame, plain.annotation) == (1006, None), "the first drawing is not stored again"

    # Clicking the first note's text jumps to its frame and shows its drawing, there only.
    body = panel.card(0).body_label
    qtbot.mouseClick(body, Qt.MouseButton.LeftButton, pos=body.rect().center())
    qtbot.waitUntil(lambda: "(frame 1004 · " in player.timecode_label.text(), timeout=5_000)
    assert len(review.overlay.visible_strokes()) == 1
    _seek(qtbot, player, 1005)
    assert review.overlay.visible_strokes() == []
    _seek(qtbot, player, 1004)
    assert len(review.overlay.visible_strokes()) == 1


def test_typing_e_in_the_compose_box_writes_it_and_starts_no_job(
    qtbot: Any, window: MainWindow, catalog: Catalog, review: SyncUi, tmp_path: Path
) -> None:
    _open(qtbot, window, _sequence(catalog, tmp_path))
    compose = review.viewer_comments.compose
    compose.setFocus()
    with qtbot.assertNotEmitted(window.viewer.job_requested), qtbot.assertNotEmitted(window.viewer.navigate):
        qtbot.keyClicks(compose, "e f")
        qtbot.keyClick(compose, Qt.Key.Key_Right)
    assert compose.toPlainText() == "e f"
    assert not window.viewer.bar.focus_button.isChecked()


def test_space_plays_a_video_reached_by_keyboard(
    qtbot: Any, window: MainWindow, catalog: Catalog, tmp_path: Path
) -> None:
    clip = write_numbered_clip(tmp_path / "review.mov", frames=24, fps=24)
    project = catalog.create_project("Review")
    ids = catalog.add_assets([NewAsset(project.id, clip.name, str(clip), "video", "clip", 10)])
    window.sidebar.reload_projects(project.id)
    window.grid.select_asset(ids["clip"])
    window.grid.view.setFocus()
    qtbot.keyClick(window.grid.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.viewer.findChild(VideoPlayer) is not None, timeout=5_000)
    player = window.viewer.findChild(VideoPlayer)
    assert player is not None
    qtbot.waitUntil(lambda: player.frame_count > 0, timeout=10_000)
    assert QApplication.focusWidget() is player
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert player.is_playing
    player.pause()
