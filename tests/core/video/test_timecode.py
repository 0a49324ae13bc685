"""Timecodes against values any editor shows (SMPTE 12M, drop-frame included)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from core.video.clock import PlaybackClock, frame_of_tick
from core.video.timecode import as_fraction, frame_to_timecode, is_drop_frame_rate, timecode_to_frame

NTSC = Fraction(30000, 1001)
NTSC_60 = Fraction(60000, 1001)
FILM_NTSC = Fraction(24000, 1001)


@pytest.mark.parametrize(("frame", "fps", "timecode"), [
    (0, 24, "00:00:00:00"),
    (108, 24, "00:00:04:12"),
    (24 * 3600 + 108, 24, "01:00:04:12"),
    (1234, 25, "00:00:49:09"),
    (90_000, 25, "01:00:00:00"),
    (1440, FILM_NTSC, "00:01:00:00"),  # 23.976 counts 24 a second, non-drop
    (1799, NTSC, "00:00:59;29"),
    (1800, NTSC, "00:01:00;02"),  # ;00 and ;01 do not exist at minute 1
    (17_981, NTSC, "00:09:59;29"),
    (17_982, NTSC, "00:10:00;00"),  # ...but do at every tenth minute
    (107_892, NTSC, "01:00:00;00"),  # one hour of 29.97 DF
    (3600, NTSC_60, "00:01:00;04"),
    (215_784, NTSC_60, "01:00:00;00"),
    (24 * 3600 * 24, 24, "00:00:00:00"),  # wraps at 24 hours
])  # fmt: skip
def test_known_timecodes(frame: int, fps: Fraction | int, timecode: str) -> None:
    assert frame_to_timecode(frame, fps) == timecode
    if frame < 24 * 3600 * 24:
        assert timecode_to_frame(timecode, fps) == frame


def test_drop_frame_round_trips_and_can_be_turned_off() -> None:
    for frame in range(0, 300_000, 7):
        assert timecode_to_frame(frame_to_timecode(frame, NTSC), NTSC) == frame
    assert frame_to_timecode(1800, NTSC, drop_frame=False) == "00:01:00:00"
    assert timecode_to_frame("00:01:00:00", NTSC) == 1800


def test_float_rates_mean_the_ntsc_fractions() -> None:
    assert as_fraction(29.97) == NTSC
    assert as_fraction(23.976) == FILM_NTSC
    assert as_fraction(25.0) == 25
    assert is_drop_frame_rate(59.94)
    assert not is_drop_frame_rate(30)
    assert frame_to_timecode(1800, 29.97) == "00:01:00;02"


@pytest.mark.parametrize(("timecode", "fps"), [
    ("00:01:00;00", NTSC),  # a dropped label
    ("00:00:00:30", 30),
    ("00:61:00:00", 24),
    ("1 hour", 24),
    ("00:00:01;00", 25),  # drop-frame at 25 fps
])  # fmt: skip
def test_impossible_timecodes_are_refused(timecode: str, fps: Fraction | int) -> None:
    with pytest.raises(ValueError, match=r"timecode|range|drop-frame"):
        timecode_to_frame(timecode, fps)


def test_negative_frames_and_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="frame 0"):
        frame_to_timecode(-1, 24)
    with pytest.raises(ValueError, match="positive"):
        frame_to_timecode(1, 0)


def test_playback_clock_derives_every_due_time_from_its_start() -> None:
    clock = PlaybackClock(NTSC, start_tick=100, started_at=50.0)
    assert clock.tick_at(50.0) == 100
    assert clock.tick_at(50.0 + 1001 / 30000 * 0.999) == 100
    # After an hour the clock is still frame-exact (no accumulated timer error).
    assert clock.tick_at(50.0 + 3600.0) == 100 + 107_892
    assert clock.time_of(130) == pytest.approx(50.0 + 30 * 1001 / 30000)
    assert clock.tick_at(clock.time_of(12_345)) == 12_345
    assert frame_of_tick(75, 50, loop=True) == 25
    assert frame_of_tick(49, 50, loop=False) == 49
    assert frame_of_tick(50, 50, loop=False) is None
