"""The video player on real clips: exact frames on screen, native-rate playback, clean shutdown."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.media.limits import MediaLimits
from core.video.frames import SequenceFrameSource, VideoFrameSource
from tests.core.video.clips import read_number, write_numbered_clip
from ui.viewer.player import VideoPlayer, live_decode_threads

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from workers.background import BackgroundWork

FRAMES = 48


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("player")
    return write_numbered_clip(folder / "review v3.mov", frames=FRAMES, fps=24, timecode="01:00:00:00")


@pytest.fixture
def player(qtbot: Any) -> Iterator[VideoPlayer]:
    widget = VideoPlayer()
    qtbot.addWidget(widget)
    widget.resize(360, 300)
    widget.show()
    yield widget
    widget.close_clip()


def shown_number(player: VideoPlayer) -> int:
    image = player.canvas.image().convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    return read_number(rows[:, : width * 3].reshape(height, width, 3))


def open_clip(qtbot: Any, player: VideoPlayer, path: Path) -> None:
    with qtbot.waitSignal(player.clip_opened, timeout=10_000):
        player.open_clip(lambda: VideoFrameSource(path))
    wait_for_frame(qtbot, player, 0)


def wait_for_frame(qtbot: Any, player: VideoPlayer, frame: int) -> None:
    def shown() -> bool:
        text = player.timecode_label.text()  # "(frame 7 / 12)", or for sequences "(frame 1008 · 8 / 12)"
        return f"(frame {frame} / " in text or f" · {frame + 1} / " in text

    qtbot.waitUntil(shown, timeout=5_000)
    assert shown_number(player) == frame


def test_opens_on_the_first_frame_with_its_timecode(qtbot: Any, player: VideoPlayer, clip: Path) -> None:
    open_clip(qtbot, player, clip)
    assert player.timecode_label.text() == "01:00:00:00  (frame 0 / 48)"
    assert player.frame_count == FRAMES
    assert player.current_frame == 0
    assert player.slider.maximum() == FRAMES - 1


def test_keys_step_and_jump_frame_exactly(qtbot: Any, player: VideoPlayer, clip: Path) -> None:
    open_clip(qtbot, player, clip)
    player.setFocus()
    for _ in range(3):
        qtbot.keyClick(player, Qt.Key.Key_Right)
    assert player.current_frame == 3
    wait_for_frame(qtbot, player, 3)
    assert player.timecode_label.text() == "01:00:00:03  (frame 3 / 48)"
    qtbot.keyClick(player, Qt.Key.Key_Left)
    wait_for_frame(qtbot, player, 2)
    qtbot.keyClick(player, Qt.Key.Key_Period)
    wait_for_frame(qtbot, player, 3)
    qtbot.keyClick(player, Qt.Key.Key_Comma)
    qtbot.keyClick(player, Qt.Key.Key_Comma)
    wait_for_frame(qtbot, player, 1)
    qtbot.keyClick(player, Qt.Key.Key_End)
    wait_for_frame(qtbot, player, 47)
    assert player.timecode_label.text() == "01:00:01:23  (frame 47 / 48)"
    qtbot.keyClick(player, Qt.Key.Key_Right)  # past the end stays on the last frame
    assert player.current_frame == 47
    qtbot.keyClick(player, Qt.Key.Key_Home)
    wait_for_frame(qtbot, player, 0)


def test_seek_and_slider_show_the_exact_frame(qtbot: Any, player: VideoPlayer, clip: Path) -> None:
    open_clip(qtbot, player, clip)
    with qtbot.waitSignal(player.frame_shown, check_params_cb=lambda frame: frame == 30, timeout=5_000):
        player.seek(30)
    assert shown_number(player) == 30
    assert player.slider.value() == 30
    player.slider.setValue(17)  # as a user dragging the scrub bar
    wait_for_frame(qtbot, player, 17)
    assert player.current_frame == 17
    player.seek(500)
    wait_for_frame(qtbot, player, 47)


def test_plays_at_the_native_frame_rate(qtbot: Any, player: VideoPlayer, clip: Path) -> None:
    open_clip(qtbot, player, clip)
    shown: list[int] = []
    shown_at: list[float] = []
    player.frame_shown.connect(shown.append)
    player.frame_shown.connect(lambda _frame: shown_at.append(time.monotonic()))
    started = time.monotonic()
    player.play()
    qtbot.waitUntil(lambda: player.current_frame >= 18, timeout=5_000)
    player.pause()
    # Frame n is due n/24 s after the start and never appears earlier (a loaded machine can only make
    # it later, and then the player drops frames rather than drift: see the slow-decoding test).
    early = [(n, at - started) for n, at in zip(shown, shown_at, strict=True) if at - started < n / 24 - 0.03]
    assert early == []
    assert shown == sorted(shown)
    assert not player.is_playing
    assert shown_number(player) == player.current_frame


def test_playback_stops_on_the_last_frame(qtbot: Any, player: VideoPlayer, clip: Path) -> None:
    open_clip(qtbot, player, clip)
    player.seek(40)
    wait_for_frame(qtbot, player, 40)
    with qtbot.waitSignal(player.playing_changed, check_params_cb=lambda on: not on, timeout=5_000):
        qtbot.keyClick(player, Qt.Key.Key_Space)
    wait_for_frame(qtbot, player, 47)
    assert player.current_frame == 47


def test_a_seek_just_after_the_decoder_reached_the_end_keeps_playing(
    qtbot: Any, player: VideoPlayer, clip: Path
) -> None:
    open_clip(qtbot, player, clip)
    player.seek(44)
    wait_for_frame(qtbot, player, 44)
    ended: list[int] = []
    player._stream.ended.connect(ended.append)  # the end of the stream: playback would stop there
    player.play()
    # The decoder reaches the out point well before those frames are due: the stream has ended
    # while its last pictures still wait in the buffer. A seek back then starts a new stream.
    qtbot.waitUntil(lambda: player._stream._ended, timeout=5_000)
    player.seek(0)
    qtbot.wait(600)  # over a dozen frames at 24 fps
    assert player.is_playing
    assert ended == []
    assert player.current_frame > 3


def test_loop_wraps_to_the_start(qtbot: Any, player: VideoPlayer, clip: Path) -> None:
    open_clip(qtbot, player, clip)
    player.set_loop(True)
    player.seek(44)
    wait_for_frame(qtbot, player, 44)
    shown: list[int] = []
    player.frame_shown.connect(shown.append)
    player.play()
    qtbot.waitUntil(lambda: 47 in shown and any(f < 5 for f in shown), timeout=5_000)
    player.pause()
    assert player.loop_button.isChecked()
    assert shown[: shown.index(47) + 1] == [44, 45, 46, 47]
    assert shown[shown.index(47) + 1] == 0


class SlowSource(VideoFrameSource):
    """A real clip whose decoding takes 100 ms a frame, like 8K on a laptop: slower than real time."""

    def frame_at(self, index: int, max_side: int | None = None) -> np.ndarray:
        time.sleep(0.1)
        return super().frame_at(index, max_side)


def test_slow_decoding_drops_frames_instead_of_drifting(qtbot: Any, player: VideoPlayer, clip: Path) -> None:
    with qtbot.waitSignal(player.clip_opened, timeout=10_000):
        player.open_clip(lambda: SlowSource(clip))
    wait_for_frame(qtbot, player, 0)
    player.play()
    qtbot.waitUntil(lambda: player.current_frame >= 24, timeout=5_000)
    player.pause()
    # Decoding manages 10 frames a second where the clip needs 24: a player that showed every frame
    # would fall ever further behind; one that keeps to the clock skips the frames it cannot show.
    assert player.dropped_frames >= 8


def test_image_sequence_plays_as_a_clip(qtbot: Any, player: VideoPlayer, tmp_path: Path) -> None:
    import cv2

    from tests.core.video.clips import numbered_frame

    paths = []
    for index in range(12):
        paths.append(tmp_path / f"shot.{index + 1001:04d}.png")
        assert cv2.imwrite(str(paths[-1]), cv2.cvtColor(numbered_frame(index), cv2.COLOR_RGB2BGR))
    limits = MediaLimits(max_file_size_bytes=1 << 20, max_image_pixels=1 << 20)
    with qtbot.waitSignal(player.clip_opened, timeout=10_000):
        player.open_clip(lambda: SequenceFrameSource(paths, fps=12, limits=limits))
    wait_for_frame(qtbot, player, 0)
    player.seek(7)
    wait_for_frame(qtbot, player, 7)
    assert player.timecode_label.text() == "00:00:00:07  (frame 7 / 12)"


def test_a_broken_clip_shows_its_error(qtbot: Any, player: VideoPlayer, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    with qtbot.waitSignal(player.error_occurred, timeout=10_000) as blocker:
        player.open_clip(lambda: VideoFrameSource(broken))
    assert "broken.mp4 is not a playable video" in blocker.args[0]
    assert not player.play_button.isEnabled()
    player.play()  # nothing to play: no crash, no thread work
    assert not player.is_playing


def test_player_keys_win_over_window_shortcuts(qtbot: Any, clip: Path) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    navigated: list[int] = []
    shortcut = QShortcut(QKeySequence("Right"), window)
    shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    shortcut.activated.connect(lambda: navigated.append(1))
    player = VideoPlayer(window)
    QVBoxLayout(window).addWidget(player)
    window.show()
    open_clip(qtbot, player, clip)
    player.setFocus()
    qtbot.keyClick(player, Qt.Key.Key_Right)
    wait_for_frame(qtbot, player, 1)
    assert navigated == []
    player.close_clip()


def test_closing_or_deleting_the_player_stops_its_thread(qtbot: Any, clip: Path) -> None:
    before = live_decode_threads()
    first = VideoPlayer()
    qtbot.addWidget(first)
    open_clip(qtbot, first, clip)
    first.play()
    assert live_decode_threads() == before + 1
    first.close()
    assert live_decode_threads() == before

    # The viewer drops a page with deleteLater(), without closing it: the thread must stop too.
    holder = QWidget()
    qtbot.addWidget(holder)
    second = VideoPlayer(holder)
    open_clip(qtbot, second, clip)
    second.play()
    second.deleteLater()
    qtbot.waitUntil(lambda: live_decode_threads() == before, timeout=5_000)


def test_viewer_page_plays_videos_and_sequences(
    qtbot: Any, catalog: Any, clip: Path, tmp_path: Path, background: BackgroundWork
) -> None:
    import cv2

    from core.catalog.records import NewAsset
    from tests.core.video.clips import numbered_frame
    from ui.viewer.player_page import player_page_factory
    from ui.viewer.viewer import AssetViewer

    frames = []
    for index in range(6):
        frames.append(tmp_path / f"plate.{index + 1:04d}.png")
        assert cv2.imwrite(str(frames[-1]), cv2.cvtColor(numbered_frame(index), cv2.COLOR_RGB2BGR))
    project = catalog.create_project("Review")
    sequence_meta = {"fps": 6.0, "sequence": {"directory": str(tmp_path), "pattern": "plate.####.png",
                                              "frames": list(range(1, 7))}}  # fmt: skip
    ids = catalog.add_assets([
        NewAsset(project.id, clip.name, str(clip), "video", "video-hash", 10),
        NewAsset(project.id, "plate.####.png", str(frames[0]), "sequence", "seq-hash", 10, sequence_meta),
    ])  # fmt: skip
    limits = MediaLimits(max_file_size_bytes=1 << 20, max_image_pixels=1 << 20)
    viewer = AssetViewer(catalog, limits, background)
    qtbot.addWidget(viewer)
    factory = player_page_factory(limits)
    viewer.register_page("video", factory)
    viewer.register_page("sequence", factory)
    viewer.show()
    before = live_decode_threads()
    viewer.show_asset(catalog.get_asset(ids["video-hash"]))
    player = viewer.findChild(VideoPlayer)
    assert player is not None
    wait_for_frame(qtbot, player, 0)
    player.seek(20)
    wait_for_frame(qtbot, player, 20)

    viewer.show_asset(catalog.get_asset(ids["seq-hash"]))  # the video page is dropped (deleteLater)
    qtbot.waitUntil(lambda: len(viewer.findChildren(VideoPlayer)) == 1, timeout=5_000)
    sequence_player = viewer.findChild(VideoPlayer)
    wait_for_frame(qtbot, sequence_player, 0)
    assert sequence_player.frame_count == 6
    sequence_player.go_to_end()
    wait_for_frame(qtbot, sequence_player, 5)
    # A sequence speaks in its own frame numbers: plate.0006.png is frame 6.
    assert sequence_player.timecode_label.text().endswith("(frame 6 · 6 / 6)")
    viewer.close_viewer()
    qtbot.waitUntil(lambda: not viewer.findChildren(VideoPlayer), timeout=5_000)
    qtbot.waitUntil(lambda: live_decode_threads() == before, timeout=5_000)


def test_pictures_are_decoded_at_the_size_shown(qtbot: Any, tmp_path: Path) -> None:
    big = write_numbered_clip(tmp_path / "big.mp4", frames=6, codec="mpeg4", size=(1280, 960))
    widget = VideoPlayer()
    qtbot.addWidget(widget)
    widget.resize(240, 220)
    widget.show()
    open_clip(qtbot, widget, big)
    # A small canvas gets a small decode (cheap to paint), still sharp: at least the canvas size.
    first = widget.canvas.image().width()
    assert widget.canvas.width() <= first < 1280
    widget.resize(1500, 1200)
    qtbot.waitUntil(lambda: widget.canvas.image().width() == 1280, timeout=5_000)
    assert shown_number(widget) == 0
    widget.close_clip()
