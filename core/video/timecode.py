"""SMPTE timecodes from frame numbers and back, frame-exact.

Rules, as editors and review tools (Avid, Resolve, RV) count:

- A timecode counts *nominal* frames per second: round(fps). 23.976 fps counts 24 frames a second
  (non-drop-frame, so its timecode slowly runs behind the wall clock; that is expected).
- 29.97 and 59.94 fps default to drop-frame ("HH:MM:SS;FF"): frame *numbers* 0-1 (0-3 at 59.94) are
  skipped at the start of every minute except each tenth minute, so the timecode stays within a frame
  of the wall clock. No picture is dropped; only labels are.
- Timecodes wrap at 24 hours, like a VTR's.
"""

from __future__ import annotations

import re
from fractions import Fraction

_DAY_SECONDS = 24 * 3600
_TIMECODE = re.compile(r"^\s*(\d{1,2})[:;.](\d{2})[:;.](\d{2})([:;.])(\d{2,3})\s*$")


def as_fraction(fps: Fraction | float | int) -> Fraction:
    """A frame rate as an exact fraction; 29.97 (float) becomes 30000/1001."""
    if isinstance(fps, Fraction):
        rate = fps
    elif isinstance(fps, int):
        rate = Fraction(fps)
    else:
        # Floats such as 23.976 or 29.97 stand for the NTSC rates n*1000/1001.
        ntsc = Fraction(round(fps * 1.001) * 1000, 1001)
        rate = ntsc if abs(float(ntsc) - fps) < 0.0015 else Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"A frame rate must be positive, not {fps}")
    return rate


def nominal_fps(fps: Fraction | float | int) -> int:
    """Frames per timecode second: 24 for 23.976, 30 for 29.97, 60 for 59.94."""
    return max(1, round(as_fraction(fps)))


def is_drop_frame_rate(fps: Fraction | float | int) -> bool:
    """29.97 and 59.94 (and other multiples of 30000/1001) use drop-frame timecode."""
    rate = as_fraction(fps)
    nominal = nominal_fps(rate)
    return nominal % 30 == 0 and rate == Fraction(nominal * 1000, 1001)


def _dropped_per_minute(nominal: int) -> int:
    return nominal // 15  # 2 at 29.97, 4 at 59.94


def frame_to_timecode(frame: int, fps: Fraction | float | int, *, drop_frame: bool | None = None) -> str:
    """``frame`` (0 = 00:00:00:00) as "HH:MM:SS:FF", or "HH:MM:SS;FF" when drop-frame.

    ``drop_frame=None`` picks drop-frame for 29.97/59.94 and non-drop for every other rate.
    """
    if frame < 0:
        raise ValueError(f"Timecodes start at frame 0, not {frame}")
    nominal = nominal_fps(fps)
    drop = is_drop_frame_rate(fps) if drop_frame is None else drop_frame
    if drop and nominal % 30 != 0:
        raise ValueError(f"Drop-frame timecode exists only for 29.97 and 59.94 fps, not {fps}")
    label = frame % (_DAY_SECONDS * nominal)  # wraps at 24 h for non-drop rates
    if drop:
        dropped = _dropped_per_minute(nominal)
        per_minute = nominal * 60 - dropped
        per_ten_minutes = nominal * 600 - 9 * dropped
        label = frame % (per_ten_minutes * 144)  # 144 ten-minute blocks make a day
        tens, rest = divmod(label, per_ten_minutes)
        # Skip the dropped labels of each minute but the first of every ten.
        skipped = 9 * dropped * tens
        if rest >= dropped:
            skipped += dropped * ((rest - dropped) // per_minute)
        label += skipped
    seconds, frames = divmod(label, nominal)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    separator = ";" if drop else ":"
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{frames:02d}"


def timecode_to_frame(timecode: str, fps: Fraction | float | int, *, drop_frame: bool | None = None) -> int:
    """The frame number of "HH:MM:SS:FF" ("HH:MM:SS;FF" for drop-frame).

    ``drop_frame=None`` reads the separator: ";" (or ".") before the frames means drop-frame.
    Raises ``ValueError`` for malformed timecodes, out-of-range fields and dropped labels.
    """
    match = _TIMECODE.match(timecode)
    if match is None:
        raise ValueError(f"{timecode!r} is not a timecode (HH:MM:SS:FF)")
    hours, minutes, seconds, separator, frames = match.groups()
    hh, mm, ss, ff = int(hours), int(minutes), int(seconds), int(frames)
    nominal = nominal_fps(fps)
    drop = separator in ";." if drop_frame is None else drop_frame
    if drop and nominal % 30 != 0:
        raise ValueError(f"{timecode!r} is drop-frame, which {fps} fps does not use")
    if mm > 59 or ss > 59 or ff >= nominal:
        raise ValueError(f"{timecode!r} is out of range at {fps} fps")
    total_minutes = hh * 60 + mm
    frame = (total_minutes * 60 + ss) * nominal + ff
    if drop:
        dropped = _dropped_per_minute(nominal)
        if ss == 0 and ff < dropped and mm % 10 != 0:
            raise ValueError(f"{timecode!r} does not exist in drop-frame timecode")
        frame -= dropped * (total_minutes - total_minutes // 10)
    return frame
