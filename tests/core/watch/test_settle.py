"""The settle state machine, stepped with a fake clock: no sleeps."""

from __future__ import annotations

from pathlib import Path

from core.watch.settle import FileState, SettleTracker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_tracker(clock: FakeClock, done: dict[str, FileState] | None = None) -> SettleTracker:
    return SettleTracker(settle_s=2.0, sequence_quiet_s=5.0, clock=clock, done=done)


def test_a_file_settles_once_its_size_and_mtime_stop_changing() -> None:
    clock = FakeClock()
    tracker = make_tracker(clock)
    tracker.observe({"/w/a.png": FileState(10, 1)})
    clock.now += 1.9
    assert tracker.take_settled() == []
    clock.now += 0.2
    assert tracker.take_settled() == [[Path("/w/a.png")]]
    # Seen again unchanged: never handed out twice.
    clock.now += 10
    tracker.observe({"/w/a.png": FileState(10, 1)})
    assert tracker.take_settled() == []


def test_a_growing_file_is_not_handed_out_half_written() -> None:
    clock = FakeClock()
    tracker = make_tracker(clock)
    for size in range(1, 6):
        tracker.observe({"/w/big.exr": FileState(size * 1000, size)})
        assert tracker.take_settled() == []
        clock.now += 1.5  # a new chunk arrives before the file could settle
    tracker.observe({"/w/big.exr": FileState(5000, 5)})
    clock.now += 2.0
    assert tracker.take_settled() == [[Path("/w/big.exr")]]
    assert tracker.done == {"/w/big.exr": FileState(5000, 5)}


def test_a_sequence_waits_until_no_new_frame_arrives() -> None:
    clock = FakeClock()
    tracker = make_tracker(clock)
    frames: dict[str, FileState] = {}
    for frame in range(1, 5):
        frames[f"/w/shot.{frame:04d}.exr"] = FileState(100, frame)
        tracker.observe(frames)
        clock.now += 3.0  # each frame settles, but the next arrives within the quiet time
        assert tracker.take_settled() == []
    clock.now += 2.0
    assert tracker.take_settled() == [[Path(f"/w/shot.{f:04d}.exr") for f in range(1, 5)]]


def test_unrelated_files_settle_on_their_own() -> None:
    clock = FakeClock()
    tracker = make_tracker(clock)
    tracker.observe({"/w/a.png": FileState(1, 1), "/w/shot.0001.exr": FileState(1, 1)})
    clock.now += 2.5
    assert tracker.take_settled() == [[Path("/w/a.png")]]
    clock.now += 3.0
    assert tracker.take_settled() == [[Path("/w/shot.0001.exr")]]


def test_a_file_removed_before_settling_is_forgotten_and_a_changed_one_comes_back() -> None:
    clock = FakeClock()
    tracker = make_tracker(clock, done={"/w/old.png": FileState(5, 5)})
    tracker.observe({"/w/tmp.png": FileState(1, 1), "/w/old.png": FileState(5, 5)})
    tracker.observe({"/w/old.png": FileState(6, 6)})  # tmp.png deleted, old.png overwritten
    clock.now += 2.0
    assert tracker.take_settled() == [[Path("/w/old.png")]]
    assert tracker.pending_count == 0


def test_files_already_done_at_start_are_skipped() -> None:
    clock = FakeClock()
    tracker = make_tracker(clock, done={"/w/a.png": FileState(10, 1)})
    tracker.observe({"/w/a.png": FileState(10, 1), "/w/b.png": FileState(3, 3)})
    clock.now += 2.0
    assert tracker.take_settled() == [[Path("/w/b.png")]]
