"""The playback clock: which frame is due at a moment of the monotonic clock.

Playback counts *ticks*: tick ``n`` is due at ``started_at + (n - start_tick) / fps`` seconds. A tick is
a frame index, or with looping the frame ``tick % frame_count``. Deriving every due time from one start
instant (rather than adding a timer interval per frame) means timer jitter and slow decodes never make
playback drift: a late frame is skipped, and the next one is still shown on time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fractions import Fraction

# Floating-point slack so a timer firing a hair early still counts as on time.
_EPSILON = 1e-6


@dataclass(frozen=True)
class PlaybackClock:
    fps: Fraction
    start_tick: int
    started_at: float  # time.monotonic() seconds

    @classmethod
    def start(cls, fps: Fraction, start_tick: int, now: float | None = None) -> PlaybackClock:
        return cls(fps, start_tick, time.monotonic() if now is None else now)

    def tick_at(self, now: float) -> int:
        """The tick on screen at ``now``: the last one whose due time has come."""
        return self.start_tick + math.floor((now - self.started_at) * float(self.fps) + _EPSILON)

    def time_of(self, tick: int) -> float:
        """Monotonic time at which ``tick`` is due."""
        return self.started_at + (tick - self.start_tick) / float(self.fps)


def frame_of_tick(tick: int, frame_count: int, loop: bool) -> int | None:
    """The frame a tick shows, or None once a non-looping clip has ended."""
    if frame_count <= 0 or tick < 0:
        return None
    if loop:
        return tick % frame_count
    return tick if tick < frame_count else None
