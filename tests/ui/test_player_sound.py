"""The player with sound: pictures follow the sound card's clock, scrubbing is silent, no device is
no problem. A ``NullPcmSink`` stands in for the card (none exists here); everything else is real."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtWidgets import QWidget

from core.media.audio import AudioTrack
from core.media.audio_sink import NullPcmSink
from core.video.frames import VideoFrameSource
from tests.core.media.sound_clips import write_clip_with_sound
from tests.core.video.clips import write_numbered_clip
from tests.ui.test_player import shown_number, wait_for_frame
from ui.viewer.audio_output import default_sink_factory, no_audio_reason
from ui.viewer.player import VideoPlayer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FPS = 24


@pytest.fixture(scope="module")
def ten_seconds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip_with_sound(tmp_path_factory.mktemp("sound") / "ten.mp4", seconds=10, fps=FPS)


class HeldSink(NullPcmSink):
    """A device that has not started playing yet (a slow Bluetooth headset): its clock stands still
    until ``release``."""

    def __init__(self) -> None:
        super().__init__()
        self.held = True

    def played_seconds(self) -> float:
        return 0.0 if self.held else super().played_seconds()

    def release(self) -> None:
        self.held = False
        self.start()


@pytest.fixture
def sink() -> NullPcmSink:
    return NullPcmSink()


def make_player(qtbot: Any, sink: NullPcmSink | None) -> VideoPlayer:
    player = VideoPlayer(sound_output=lambda: sink)
    qtbot.addWidget(player)
    player.resize(360, 300)
    player.show()
    return player


@pytest.fixture
def player(qtbot: Any, sink: NullPcmSink) -> Iterator[VideoPlayer]:
    widget = make_player(qtbot, sink)
    yield widget
    widget.close_clip()


def open_with_sound(qtbot: Any, player: VideoPlayer, path: Path) -> None:
    with qtbot.waitSignal(player.clip_opened, timeout=10_000):
        player.open_clip(lambda: VideoFrameSource(path), audio=lambda: AudioTrack(path))
    wait_for_frame(qtbot, player, 0)


def test_ten_seconds_play_with_every_picture_within_a_frame_of_the_sound(
    qtbot: Any, player: VideoPlayer, sink: NullPcmSink, ten_seconds: Path
) -> None:
    open_with_sound(qtbot, player, ten_seconds)
    assert player.sound.has_sound
    assert player.sound.mute_button.isVisible()
    offsets: list[float] = []  # picture time minus sound time, for every picture shown
    player.frame_shown.connect(lambda frame: offsets.append(frame / FPS - sink.played_seconds()))
    with qtbot.waitSignal(player.playing_changed, check_params_cb=lambda on: not on, timeout=20_000):
        player.play()
    assert player.current_frame == 239
    assert len(offsets) > 200
    # Picture n is shown once the sound reaches n/24 s and before it reaches (n+1)/24 s.
    late = [round(offset, 3) for offset in offsets[:-1] if not -1 / FPS <= offset <= 0.002]
    assert late == []
    assert sink.underruns == 0  # the feed kept the device supplied for the whole 10 s


def test_pictures_wait_for_the_sound_to_start(qtbot: Any, ten_seconds: Path) -> None:
    held = HeldSink()
    player = make_player(qtbot, held)
    open_with_sound(qtbot, player, ten_seconds)
    player.play()
    qtbot.wait(400)  # ten frames' time: a free-running clock would be at frame 9
    assert player.current_frame == 0
    held.release()
    qtbot.waitUntil(lambda: player.current_frame >= 6, timeout=3_000)
    assert abs(player.current_frame / FPS - held.played_seconds()) <= 2 / FPS
    player.close_clip()


def test_scrubbing_is_silent_and_play_resumes_the_sound_where_the_picture_is(
    qtbot: Any, player: VideoPlayer, sink: NullPcmSink, ten_seconds: Path
) -> None:
    open_with_sound(qtbot, player, ten_seconds)
    player.play()
    assert player.sound.following
    qtbot.waitUntil(lambda: player.current_frame >= 3, timeout=3_000)
    player.slider.sliderPressed.emit()  # the user grabs the scrub bar
    assert not player.sound.following
    assert sink.free_bytes() == 0  # the device is stopped
    player.slider.setValue(120)
    wait_for_frame(qtbot, player, 120)
    player.slider.sliderReleased.emit()
    assert player.sound.following
    qtbot.waitUntil(lambda: player.current_frame >= 126, timeout=3_000)
    assert abs((player.current_frame - 120) / FPS - sink.played_seconds()) <= 2 / FPS
    player.pause()


def test_mute_and_volume_reach_the_device_and_keep_the_clock(
    qtbot: Any, player: VideoPlayer, sink: NullPcmSink, ten_seconds: Path
) -> None:
    open_with_sound(qtbot, player, ten_seconds)
    player.sound.volume_slider.setValue(40)
    assert sink.volume == pytest.approx(0.4)
    player.setFocus()
    qtbot.keyClick(player, "m")
    assert player.sound.muted
    assert sink.volume == 0.0
    player.play()
    qtbot.waitUntil(lambda: player.current_frame >= 6, timeout=3_000)  # muted sound still clocks
    assert player.sound.following
    player.sound.mute_button.click()
    assert sink.volume == pytest.approx(0.4)
    player.pause()


def test_shuttle_at_2x_plays_silently_on_its_own_clock(
    qtbot: Any, player: VideoPlayer, ten_seconds: Path
) -> None:
    open_with_sound(qtbot, player, ten_seconds)
    player.setFocus()
    qtbot.keyClick(player, "l")
    assert player.sound.following
    qtbot.keyClick(player, "l")
    assert player.shuttle_state.speed == 2
    assert not player.sound.following
    assert player.speed_label.text().endswith("2\u00d7")
    player.pause()


# Asking QtMultimedia why there is no device makes it log its search (PipeWire, PulseAudio).
NO_DEVICE_MESSAGES = ("^Couldn't (load|resolve) pipewire", "^PulseAudioService", "^qt\\.multimedia")


@pytest.mark.qt_log_ignore(*NO_DEVICE_MESSAGES)
def test_without_a_sound_device_the_clip_plays_silently(qtbot: Any, ten_seconds: Path) -> None:
    player = make_player(qtbot, None)
    open_with_sound(qtbot, player, ten_seconds)
    assert not player.sound.has_sound
    assert not player.sound.mute_button.isEnabled()
    assert player.sound.mute_button.toolTip().startswith("No sound:")
    started = time.monotonic()
    player.play()
    qtbot.waitUntil(lambda: player.current_frame >= 12, timeout=3_000)
    assert time.monotonic() - started >= 12 / FPS - 0.03  # native rate on the monotonic clock
    player.close_clip()


def test_a_clip_without_sound_shows_no_sound_controls(
    qtbot: Any, player: VideoPlayer, tmp_path: Path
) -> None:
    silent = write_numbered_clip(tmp_path / "silent.mp4", frames=12)
    with qtbot.waitSignal(player.clip_opened, timeout=10_000):
        player.open_clip(lambda: VideoFrameSource(silent))
    assert not player.sound.mute_button.isVisible()
    player.play()
    assert not player.sound.following
    qtbot.waitUntil(lambda: not player.is_playing, timeout=3_000)
    assert shown_number(player) == 11


@pytest.mark.qt_log_ignore(*NO_DEVICE_MESSAGES)
def test_this_machine_has_no_sound_device_and_says_why(qtbot: Any) -> None:
    del qtbot  # a QApplication must exist for QtMultimedia
    reason = no_audio_reason()
    if reason is None:
        pytest.skip("this machine has a sound output device")
    assert default_sink_factory() is None
    assert "sound" in reason.lower() or "qtmultimedia" in reason.lower()


def test_a_player_deleted_while_playing_leaves_no_sound_thread(qtbot: Any, ten_seconds: Path) -> None:
    import threading

    from PySide6.QtCore import QCoreApplication, QEvent

    player = VideoPlayer(sound_output=NullPcmSink)
    player.show()
    open_with_sound(qtbot, player, ten_seconds)
    player.play()
    qtbot.waitUntil(lambda: player.current_frame >= 3, timeout=3_000)
    assert any(t.name == "audio-decode" for t in threading.enumerate())
    player.deleteLater()  # as the viewer drops a page, without close_clip
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: not any(t.name == "audio-decode" for t in threading.enumerate()), timeout=3_000)


def write_wav(path: Path, seconds: float) -> Path:
    """A WAV of the test beeps, as an editor exports a shot's sound beside its frames."""
    import av
    import numpy as np

    from tests.core.media.sound_clips import RATE, beeps

    samples = (beeps(seconds) * 32767).astype(np.int16)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate = RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_a_sequence_plays_its_sidecar_sound(qtbot: Any, tmp_path: Path, catalog: Any) -> None:
    import cv2

    from core.catalog.records import NewAsset
    from core.media.limits import MediaLimits
    from tests.core.video.clips import numbered_frame
    from ui.viewer.player_page import player_page_factory

    for index in range(24):
        cv2.imwrite(str(tmp_path / f"shot_010.{index + 1001}.png"), numbered_frame(index)[:, :, ::-1])
    write_wav(tmp_path / "shot_010.wav", 2.0)
    project = catalog.create_project("Seq")
    meta = {"fps": 12.0, "sequence": {"directory": str(tmp_path), "pattern": "shot_010.####.png",
                                      "frames": list(range(1001, 1025))}}  # fmt: skip
    first = str(tmp_path / "shot_010.1001.png")
    ids = catalog.add_assets([NewAsset(project.id, "shot_010.####.png", first, "sequence", "s", 1, meta)])
    sink = NullPcmSink()
    factory = player_page_factory(MediaLimits(1 << 24, 1 << 22), sound_output=lambda: sink)
    holder = QWidget()
    qtbot.addWidget(holder)
    player = factory(catalog.get_asset(ids["s"]), holder)
    player.resize(320, 260)
    holder.show()
    qtbot.waitUntil(lambda: player.frame_count == 24, timeout=10_000)
    assert player.sound.has_sound
    offsets: list[float] = []
    player.frame_shown.connect(lambda frame: offsets.append(frame / 12 - sink.played_seconds()))
    with qtbot.waitSignal(player.playing_changed, check_params_cb=lambda on: not on, timeout=10_000):
        player.play()
    assert player.current_frame == 23
    assert [round(o, 3) for o in offsets[:-1] if not -1 / 12 <= o <= 0.002] == []
    player.close_clip()


def test_looping_between_in_and_out_restarts_the_sound_with_the_picture(
    qtbot: Any, player: VideoPlayer, sink: NullPcmSink, ten_seconds: Path
) -> None:
    open_with_sound(qtbot, player, ten_seconds)
    player.set_in_point(24)
    player.set_out_point(35)  # half a second
    player.set_loop(True)
    player.seek(24)
    wait_for_frame(qtbot, player, 24)
    shown: list[int] = []
    offsets: list[float] = []  # picture time since the in point minus the sound heard since it

    def record(frame: int) -> None:
        shown.append(frame)
        offsets.append((frame - 24) / FPS - sink.played_seconds())

    player.frame_shown.connect(record)
    player.play()
    qtbot.waitUntil(lambda: shown.count(24) >= 3, timeout=5_000)  # two wraps
    player.pause()
    assert set(shown) <= set(range(24, 36))
    assert player.sound.following is False
    assert [round(o, 3) for o in offsets[:-1] if not -1 / FPS <= o <= 0.002] == []
