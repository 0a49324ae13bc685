"""A sound asset in the viewer: the player page shows its waveform with a playhead, the sound is the
clock, the keys work, and without a sound device it says so while the playhead still moves."""

from __future__ import annotations

import time
import wave
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from core.catalog.records import NewAsset
from core.media.audio_sink import NullPcmSink
from core.media.limits import MediaLimits
from core.media.probe_audio import probe_audio
from core.media.waveform import PLAYHEAD
from tests.core.media.sound_clips import installed_sound
from tests.ui.test_player_sound import NO_DEVICE_MESSAGES
from ui.viewer.player_page import player_page_factory

if TYPE_CHECKING:
    from pathlib import Path

    from ui.viewer.player import VideoPlayer

FPS = 25


def plucks(target: Path, times: int = 6) -> Path:
    """CPython's recorded pluck played ``times`` times in a row (1.8 s of a real recording)."""
    with wave.open(str(installed_sound("pluck-pcm16.wav")), "rb") as source:
        params, data = source.getparams(), source.readframes(source.getnframes())
    with wave.open(str(target), "wb") as out:
        out.setparams(params)
        out.writeframes(data * times)
    return target


def open_sound_page(
    qtbot: Any, catalog: Any, path: Path, sink: NullPcmSink | None
) -> tuple[VideoPlayer, QWidget]:
    """The page as the viewer makes it, in a holder widget (keep it: the page dies with it)."""
    project = catalog.create_project("Sound")
    meta = probe_audio(path)
    ids = catalog.add_assets([NewAsset(project.id, path.name, str(path), "audio", "h", 1, meta)])
    factory = player_page_factory(MediaLimits(1 << 24, 1 << 22), sound_output=lambda: sink)
    holder = QWidget()
    qtbot.addWidget(holder)
    player = factory(catalog.get_asset(ids["h"]), holder)
    player.resize(640, 300)
    holder.show()
    qtbot.waitUntil(lambda: player.frame_count == 45, timeout=10_000)  # 1.8 s at 25 fps
    qtbot.waitUntil(lambda: not player.canvas.image().isNull(), timeout=5_000)
    return player, holder


def playhead_x(player: VideoPlayer) -> float:
    """Where the playhead is on the shown picture, as a fraction of its width."""
    image = player.canvas.image().convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    rgb = rows[:, : width * 3].reshape(height, width, 3).astype(np.int16)
    near = (np.abs(rgb - np.array(PLAYHEAD)) < 40).all(axis=2).mean(axis=0) > 0.9
    columns = np.flatnonzero(near)
    assert columns.size, "no playhead on the picture"
    return float(columns.mean() / width)


def test_a_sound_asset_plays_with_its_playhead_following_the_sound(
    qtbot: Any, tmp_path: Path, catalog: Any
) -> None:
    sink = NullPcmSink()
    player, _holder = open_sound_page(qtbot, catalog, plucks(tmp_path / "plucks.wav"), sink)
    assert player.sound.has_sound
    assert playhead_x(player) < 0.02
    offsets: list[float] = []
    player.frame_shown.connect(lambda frame: offsets.append(frame / FPS - sink.played_seconds()))
    with qtbot.waitSignal(player.playing_changed, check_params_cb=lambda on: not on, timeout=10_000):
        qtbot.keyClick(player, Qt.Key.Key_Space)
    assert player.current_frame == 44
    assert sink.played_seconds() == pytest.approx(1.8, abs=0.1)
    # Never ahead of the sound; behind it by at most a frame, allowing a rare second frame when the
    # machine's other work holds the event loop (a waveform playhead, not picture-to-sound sync).
    shown = offsets[:-1]
    assert [round(o, 3) for o in shown if not -2 / FPS <= o <= 0.002] == []
    assert sum(-1 / FPS <= o <= 0.002 for o in shown) >= 0.9 * len(shown)
    qtbot.waitUntil(lambda: playhead_x(player) > 0.95, timeout=3_000)
    player.close_clip()


def test_keys_seek_and_shuttle_a_sound(qtbot: Any, tmp_path: Path, catalog: Any) -> None:
    sink = NullPcmSink()
    player, _holder = open_sound_page(qtbot, catalog, plucks(tmp_path / "plucks.wav"), sink)
    player.slider.setValue(22)  # seek to the middle
    qtbot.waitUntil(lambda: abs(playhead_x(player) - 0.5) < 0.03, timeout=3_000)
    qtbot.keyClick(player, Qt.Key.Key_L)  # play forward
    qtbot.waitUntil(lambda: player.current_frame >= 28, timeout=3_000)
    qtbot.keyClick(player, Qt.Key.Key_K)  # stop
    qtbot.waitUntil(lambda: not player.is_playing, timeout=3_000)
    stopped = player.current_frame
    qtbot.wait(200)
    assert player.current_frame == stopped
    player.close_clip()


@pytest.mark.qt_log_ignore(*NO_DEVICE_MESSAGES)
def test_without_a_sound_device_the_playhead_still_moves(qtbot: Any, tmp_path: Path, catalog: Any) -> None:
    player, _holder = open_sound_page(qtbot, catalog, plucks(tmp_path / "plucks.wav"), None)
    assert not player.sound.has_sound
    assert player.sound.mute_button.toolTip().startswith("No sound:")
    started = time.monotonic()
    player.play()
    qtbot.waitUntil(lambda: player.current_frame >= 20, timeout=3_000)
    assert time.monotonic() - started >= 20 / FPS - 0.03
    qtbot.waitUntil(lambda: playhead_x(player) > 0.4, timeout=3_000)
    player.close_clip()
