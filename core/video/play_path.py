"""Which frame each playback tick shows: direction, speed, in/out range and loop; the J/K/L shuttle.

Playback counts ticks from 0 at the moment play starts (``PlaybackClock`` says when each is due; at
2x the clock simply ticks twice as fast). ``PlayPath`` maps a tick to a frame: forward or reverse from
the start frame, wrapping inside the in/out range when looping, ending at its edge when not.

The shuttle follows the editors' convention (Avid, Premiere, Resolve, RV): L plays forward, each
further L doubles the speed (1x, 2x, 4x, 8x); J the same backwards; K pauses; K held with J or L
steps one frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "SHUTTLE_SPEEDS",
    "FrameRange",
    "PlayPath",
    "Shuttle",
    "ShuttleKey",
    "shuttle_after",
    "with_in_point",
    "with_out_point",
]

SHUTTLE_SPEEDS = (1, 2, 4, 8)


@dataclass(frozen=True)
class FrameRange:
    """Inclusive frame indices ``first``..``last`` (the in and out points, or the whole clip)."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"An out point ({self.last}) cannot come before the in point ({self.first})")

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def contains(self, frame: int) -> bool:
        return self.first <= frame <= self.last

    def wrap(self, frame: int) -> int:
        """``frame`` folded into the range (looping)."""
        return self.first + (frame - self.first) % self.length


def with_in_point(points: FrameRange | None, frame: int | None, frame_count: int) -> FrameRange | None:
    """``points`` with the in point at ``frame`` (None clears it); an out point before it is dropped.
    The whole clip is no range at all (None)."""
    last = frame_count - 1
    current = points or FrameRange(0, max(0, last))
    if frame is None:
        return _or_none(FrameRange(0, current.last), frame_count)
    frame = min(max(0, frame), last)
    return _or_none(FrameRange(frame, current.last if current.last >= frame else last), frame_count)


def with_out_point(points: FrameRange | None, frame: int | None, frame_count: int) -> FrameRange | None:
    """``points`` with the out point at ``frame`` (None clears it); an in point after it is dropped."""
    last = frame_count - 1
    current = points or FrameRange(0, max(0, last))
    if frame is None:
        return _or_none(FrameRange(current.first, last), frame_count)
    frame = min(max(0, frame), last)
    return _or_none(FrameRange(current.first if current.first <= frame else 0, frame), frame_count)


def _or_none(points: FrameRange, frame_count: int) -> FrameRange | None:
    return None if frame_count <= 0 or points == FrameRange(0, frame_count - 1) else points


@dataclass(frozen=True)
class PlayPath:
    start: int  # the frame shown at tick 0
    direction: int  # +1 forward, -1 reverse
    bounds: FrameRange

    def frame_of_tick(self, tick: int, loop: bool) -> int | None:
        """The frame shown at ``tick``, or None once playback has run off the range without loop."""
        if tick < 0:
            return None
        frame = self.start + self.direction * tick
        if self.bounds.contains(frame):
            return frame
        # Starting outside the range (before the in point) plays into it; leaving it wraps or ends.
        leaving = frame > self.bounds.last if self.direction > 0 else frame < self.bounds.first
        if not leaving:
            return frame
        return self.bounds.wrap(frame) if loop else None

    @classmethod
    def starting_at(cls, frame: int, direction: int, bounds: FrameRange) -> PlayPath:
        """A path from ``frame``; at (or past) the range's end it starts over at the other end,
        as players do when Play is pressed on the last frame."""
        at_end = frame >= bounds.last if direction > 0 else frame <= bounds.first
        if at_end:
            frame = bounds.first if direction > 0 else bounds.last
        return cls(frame, 1 if direction > 0 else -1, bounds)


class ShuttleKey(StrEnum):
    REVERSE = "J"
    PAUSE = "K"
    FORWARD = "L"


@dataclass(frozen=True)
class Shuttle:
    """Playback state the shuttle keys change: ``direction`` 0 is paused."""

    direction: int = 0
    speed: int = 1

    @property
    def playing(self) -> bool:
        return self.direction != 0


def shuttle_after(state: Shuttle, key: ShuttleKey) -> Shuttle:
    """The state after pressing ``key`` (K held with J/L, a frame step, is the player's business)."""
    if key == ShuttleKey.PAUSE:
        return Shuttle()
    direction = 1 if key == ShuttleKey.FORWARD else -1
    if state.direction != direction:
        return Shuttle(direction, SHUTTLE_SPEEDS[0])
    faster = [speed for speed in SHUTTLE_SPEEDS if speed > state.speed]
    return Shuttle(direction, faster[0] if faster else state.speed)
