"""J/K/L shuttle, frame steps with K held, and in/out points that loop, on a real numbered clip."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt

from core.video.play_path import FrameRange, Shuttle
from tests.core.video.clips import write_numbered_clip
from tests.ui.test_player import open_clip, shown_number, wait_for_frame
from ui.viewer.player import VideoPlayer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FRAMES = 96


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_numbered_clip(tmp_path_factory.mktemp("shuttle") / "shot.mov", frames=FRAMES, fps=24)


@pytest.fixture
def player(qtbot: Any, clip: Path) -> Iterator[VideoPlayer]:
    widget = VideoPlayer()
    qtbot.addWidget(widget)
    widget.resize(360, 300)
    widget.show()
    open_clip(qtbot, widget, clip)
    widget.setFocus()
    yield widget
    widget.close_clip()


def frames_per_second(qtbot: Any, player: VideoPlayer, seconds: float = 0.5) -> float:
    """How fast the frame number moves (frames of the clip per second of wall time)."""
    start_frame, started = player.current_frame, time.monotonic()
    qtbot.wait(round(seconds * 1000))
    return abs(player.current_frame - start_frame) / (time.monotonic() - started)


def test_l_plays_and_each_l_doubles_the_speed(qtbot: Any, player: VideoPlayer) -> None:
    qtbot.keyClick(player, Qt.Key.Key_L)
    assert player.shuttle_state == Shuttle(1, 1)
    assert not player.speed_label.isVisible()  # 1x needs no badge
    normal = frames_per_second(qtbot, player)
    qtbot.keyClick(player, Qt.Key.Key_L)
    assert player.shuttle_state == Shuttle(1, 2)
    assert player.speed_label.isVisible()
    assert player.speed_label.text() == "\u25b6 2\u00d7"
    double = frames_per_second(qtbot, player)
    assert 18 <= normal <= 27
    assert double >= 1.6 * normal
    qtbot.keyClick(player, Qt.Key.Key_K)
    assert not player.is_playing
    assert not player.speed_label.isVisible()


def test_j_plays_backwards(qtbot: Any, player: VideoPlayer) -> None:
    player.seek(60)
    wait_for_frame(qtbot, player, 60)
    shown: list[int] = []
    player.frame_shown.connect(shown.append)
    qtbot.keyClick(player, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: player.current_frame <= 50, timeout=3_000)
    qtbot.keyClick(player, Qt.Key.Key_K)
    assert shown == sorted(shown, reverse=True)
    assert shown[0] == 60  # tick 0 is the frame play started on
    assert shown[-1] <= 50
    assert shown_number(player) == player.current_frame


def test_k_held_with_j_or_l_steps_one_frame(qtbot: Any, player: VideoPlayer) -> None:
    player.seek(20)
    wait_for_frame(qtbot, player, 20)
    qtbot.keyPress(player, Qt.Key.Key_K)
    qtbot.keyClick(player, Qt.Key.Key_L)
    qtbot.keyClick(player, Qt.Key.Key_L)
    wait_for_frame(qtbot, player, 22)
    qtbot.keyClick(player, Qt.Key.Key_J)
    wait_for_frame(qtbot, player, 21)
    assert not player.is_playing
    qtbot.keyRelease(player, Qt.Key.Key_K)
    qtbot.keyClick(player, Qt.Key.Key_L)  # K released: L plays again
    assert player.is_playing
    player.pause()


def test_in_and_out_points_loop_playback_between_them(qtbot: Any, player: VideoPlayer) -> None:
    player.seek(30)
    wait_for_frame(qtbot, player, 30)
    qtbot.keyClick(player, Qt.Key.Key_I)
    player.seek(36)
    wait_for_frame(qtbot, player, 36)
    qtbot.keyClick(player, Qt.Key.Key_O)
    assert player.in_out == FrameRange(30, 36)
    assert not player.slider.range_rect().isNull()  # drawn on the timeline
    qtbot.keyClick(player, Qt.Key.Key_L, Qt.KeyboardModifier.ShiftModifier)  # loop on
    assert player.loop
    shown: list[int] = []
    player.frame_shown.connect(shown.append)
    qtbot.keyClick(player, Qt.Key.Key_Space)  # from the out point, play starts at the in point
    qtbot.waitUntil(lambda: shown.count(36) >= 2, timeout=5_000)
    player.pause()
    assert set(shown) <= set(range(30, 37))
    assert shown[0] == 30
    wrap = shown.index(36) + 1
    assert shown[wrap] == 30


def test_without_loop_playback_stops_at_the_out_point(qtbot: Any, player: VideoPlayer) -> None:
    player.set_in_point(10)
    player.set_out_point(16)
    player.seek(12)
    wait_for_frame(qtbot, player, 12)
    with qtbot.waitSignal(player.playing_changed, check_params_cb=lambda on: not on, timeout=5_000):
        player.play()
    wait_for_frame(qtbot, player, 16)


def test_home_and_end_go_to_the_points_then_the_clip_ends(qtbot: Any, player: VideoPlayer) -> None:
    player.set_in_point(10)
    player.set_out_point(40)
    player.seek(25)
    qtbot.keyClick(player, Qt.Key.Key_Home)
    wait_for_frame(qtbot, player, 10)
    qtbot.keyClick(player, Qt.Key.Key_Home)
    wait_for_frame(qtbot, player, 0)
    qtbot.keyClick(player, Qt.Key.Key_End)
    wait_for_frame(qtbot, player, 40)
    qtbot.keyClick(player, Qt.Key.Key_End)
    wait_for_frame(qtbot, player, FRAMES - 1)


def test_points_are_cleared_with_shift_and_an_out_before_the_in_is_dropped(
    qtbot: Any, player: VideoPlayer
) -> None:
    player.set_in_point(50)
    player.set_out_point(70)
    player.set_out_point(40)  # before the in point: the in point goes
    assert player.in_out == FrameRange(0, 40)
    qtbot.keyClick(player, Qt.Key.Key_O, Qt.KeyboardModifier.ShiftModifier)
    assert player.in_out is None
    assert player.slider.range_rect().isNull()
