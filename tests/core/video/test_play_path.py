"""Ticks to frames for every playback mode, and the J/K/L shuttle."""

from __future__ import annotations

import pytest

from core.video.play_path import (
    FrameRange,
    PlayPath,
    Shuttle,
    ShuttleKey,
    shuttle_after,
    with_in_point,
    with_out_point,
)

CLIP = FrameRange(0, 99)


def frames(path: PlayPath, ticks: int, *, loop: bool) -> list[int | None]:
    return [path.frame_of_tick(tick, loop) for tick in range(ticks)]


def test_forward_plays_to_the_end_and_stops_or_wraps() -> None:
    path = PlayPath.starting_at(97, 1, CLIP)
    assert frames(path, 5, loop=False) == [97, 98, 99, None, None]
    assert frames(path, 5, loop=True) == [97, 98, 99, 0, 1]


def test_reverse_plays_back_to_the_start() -> None:
    path = PlayPath.starting_at(2, -1, CLIP)
    assert frames(path, 5, loop=False) == [2, 1, 0, None, None]
    assert frames(path, 5, loop=True) == [2, 1, 0, 99, 98]


def test_in_out_range_loops_between_its_points() -> None:
    in_out = FrameRange(10, 12)
    assert frames(PlayPath.starting_at(11, 1, in_out), 6, loop=True) == [11, 12, 10, 11, 12, 10]
    assert frames(PlayPath.starting_at(11, -1, in_out), 6, loop=True) == [11, 10, 12, 11, 10, 12]
    # Starting before the in point plays into the range; at the out point Play starts at the in point.
    assert frames(PlayPath.starting_at(8, 1, in_out), 6, loop=True) == [8, 9, 10, 11, 12, 10]
    assert PlayPath.starting_at(12, 1, in_out).start == 10
    assert PlayPath.starting_at(10, -1, in_out).start == 12


def test_a_range_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="out point"):
        FrameRange(5, 4)


def test_shuttle_keys_speed_up_reverse_and_pause() -> None:
    state = Shuttle()
    speeds = []
    for key in "LLLLL":
        state = shuttle_after(state, ShuttleKey(key))
        speeds.append((state.direction, state.speed))
    assert speeds == [(1, 1), (1, 2), (1, 4), (1, 8), (1, 8)]
    state = shuttle_after(state, ShuttleKey.REVERSE)
    assert state == Shuttle(-1, 1)
    assert shuttle_after(state, ShuttleKey.REVERSE) == Shuttle(-1, 2)
    assert shuttle_after(state, ShuttleKey.PAUSE) == Shuttle()
    assert not Shuttle().playing


def test_in_and_out_points_keep_each_other_in_order() -> None:
    points = with_in_point(None, 20, 100)
    assert points == FrameRange(20, 99)
    points = with_out_point(points, 60, 100)
    assert points == FrameRange(20, 60)
    assert with_in_point(points, 80, 100) == FrameRange(80, 99)  # the out point before it goes
    assert with_out_point(points, 10, 100) == FrameRange(0, 10)  # the in point after it goes
    assert with_in_point(points, None, 100) == FrameRange(0, 60)
    assert with_out_point(FrameRange(0, 60), None, 100) is None  # the whole clip is no range
    assert with_in_point(None, 500, 100) == FrameRange(99, 99)  # clamped to the clip
