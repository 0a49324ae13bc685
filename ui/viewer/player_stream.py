"""The player's frame stream: its end of the decode thread, and the timing that shows frames on time.

One :class:`~ui.viewer.player_decoder.DecodeThread` per clip. Each request to it carries a generation
number, so an answer to a request that was since replaced (a seek, a new speed) is dropped here. While
playing, the thread reads a few frames ahead (``READ_AHEAD``), decoded frames wait in a short buffer
and each is shown when the :class:`~core.video.clock.PlaybackClock` (on the monotonic clock) says it is
due; a frame that is late is skipped rather than shown late, so playback never drifts from real time.
With sound playing 1x forward the clock follows the sound card (``ui.viewer.player_sound``).
"""

from __future__ import annotations

import functools
import time
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage

from core.video.clock import PlaybackClock
from core.video.play_path import Shuttle
from ui.viewer.player_decoder import DecodeThread, PlayRequest, finish_thread

if TYPE_CHECKING:
    from collections.abc import Callable
    from fractions import Fraction

    from PySide6.QtWidgets import QWidget

    from core.video.play_path import PlayPath
    from ui.viewer.player_decoder import ClipInfo, ShowRequest, SourceFactory
    from ui.viewer.player_sound import PlayerSound

SIDE_STEP = 256  # decode sizes are rounded up to this, so resizing the window rarely re-decodes


def decode_side(canvas: QWidget, info: ClipInfo | None) -> int | None:
    """Decode no bigger than the canvas shows (rounded up), never bigger than the clip."""
    if info is None:
        return None
    ratio = canvas.devicePixelRatioF()
    wanted = max(canvas.width(), canvas.height()) * ratio
    side = int(-(-wanted // SIDE_STEP) * SIDE_STEP)
    return None if side >= max(info.width, info.height) else max(SIDE_STEP, side)


class FrameStream(QObject):
    """Owned by a ``VideoPlayer``: it asks for frames, and says which to show and when playback ends."""

    opened = Signal(object)  # ClipInfo
    failed = Signal(str)
    frame_due = Signal(int, QImage)  # frame index, picture: show it now (a still asked for, or the frame due)
    ended = Signal(int)  # playback reached this frame, the end of its path

    def __init__(self, owner: QWidget, sound: PlayerSound, shown: Callable[[], int]) -> None:
        """``shown`` tells the frame whose picture is on screen (the owner's)."""
        super().__init__(owner)
        self._owner = owner
        self._sound = sound
        self._shown = shown
        self._thread: DecodeThread | None = None
        self._reaper: functools.partial[None] | None = None
        self._generation = 0
        self.requested_side: int | None = None  # the decode size of the latest request
        self._clock: PlaybackClock | None = None  # set while playing
        self._fps: Fraction | None = None
        self._path: PlayPath | None = None
        self._buffer: deque[tuple[int, int, QImage]] = deque()
        self._ended = False
        self._shown_tick = -1
        self.dropped = 0  # frames skipped during playback because decoding fell behind real time

        self._present_timer = QTimer(self)
        self._present_timer.setSingleShot(True)
        self._present_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._present_timer.timeout.connect(self._present)

    # -- the decode thread ----------------------------------------------------------------------

    def open(self, source_factory: SourceFactory, *, loop: bool) -> None:
        """Start a decode thread on a clip (``source_factory`` runs on it)."""
        thread = DecodeThread(source_factory)
        thread.opened.connect(self._on_opened)
        thread.failed.connect(self._on_failed)
        thread.frame_ready.connect(self._on_frame_ready)
        thread.stream_ended.connect(self._on_stream_ended)
        thread.set_loop(loop)
        self._thread = thread
        # The player may be deleted (the viewer's deleteLater) without a close: stop the thread then
        # too, without touching the dying widget.
        self._reaper = functools.partial(finish_thread, thread)
        self._owner.destroyed.connect(self._reaper)
        thread.start()

    def close(self) -> None:
        """Stop the decode thread (waits for the frame being decoded)."""
        thread, self._thread = self._thread, None
        if self._reaper is not None:
            self._owner.destroyed.disconnect(self._reaper)
            self._reaper = None
        if thread is not None:
            for signal in (thread.opened, thread.failed, thread.frame_ready, thread.stream_ended):
                signal.disconnect()
            finish_thread(thread)

    def set_loop(self, loop: bool) -> None:
        if self._thread is not None:
            self._thread.set_loop(loop)

    def request(self, request: PlayRequest | ShowRequest | None, side: int | None) -> None:
        """Replace what the thread is doing (None: stop streaming); ``side`` bounds the decode size."""
        self._generation += 1
        self.requested_side = side
        if self._thread is not None:
            self._thread.command(self._generation, request, side)

    # -- playing ------------------------------------------------------------------------------

    def play(self, path: PlayPath, fps: Fraction, state: Shuttle, side: int | None) -> None:
        """Stream ``path`` at ``fps`` times ``state``'s speed, with sound when that is 1x forward."""
        self._buffer.clear()
        self._present_timer.stop()
        self._sound.stop()
        self._path = path
        self._fps = fps
        self._clock = PlaybackClock.start(fps * state.speed, 0)
        self._shown_tick = -1
        # A new stream (Play, a speed, a seek or new in/out points while playing): where an earlier
        # one ended no longer counts, or a seek just after the decoder finished would stop playback.
        self._ended = False
        if state == Shuttle(1, 1):
            self._sound.start(float(path.start / fps), 0)
        self.request(PlayRequest(self._clock, path), side)

    def stop(self) -> None:
        """Stop presenting (and the sound); the owner tells the thread with ``request(None, ...)``."""
        self._clock = None
        self._buffer.clear()
        self._present_timer.stop()
        self._sound.stop()

    # -- from the decode thread -----------------------------------------------------------------

    def _on_opened(self, info: ClipInfo) -> None:
        self.opened.emit(info)

    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)

    def _on_frame_ready(self, generation: int, tick: int, index: int, image: QImage) -> None:
        if generation != self._generation:
            return  # an answer to a request that was since replaced
        if self._clock is None:
            self.frame_due.emit(index, image)
            return
        self._buffer.append((tick, index, image))
        self._present()

    def _on_stream_ended(self, generation: int) -> None:
        if generation != self._generation or self._clock is None:
            return
        self._ended = True
        self._present()

    # -- presentation -------------------------------------------------------------------------

    def _present(self) -> None:
        """Show the newest decoded frame that is due; schedule the next."""
        clock = self._clock
        if clock is None:
            return
        now = time.monotonic()
        clock = self._follow_sound(clock, now)
        due = clock.tick_at(now)
        chosen: tuple[int, int, QImage] | None = None
        while self._buffer and self._buffer[0][0] <= due:
            chosen = self._buffer.popleft()
        if chosen is not None:
            tick, index, image = chosen
            self.dropped += max(0, tick - self._shown_tick - 1)
            self._shown_tick = tick
            path = self._path
            assert path is not None
            if self._sound.following and index < self._shown() and path.direction > 0:
                # Looped back to the in point: the sound starts over with this picture.
                assert self._fps is not None
                self._sound.start(float(index / self._fps), tick)
                clock = self._follow_sound(clock, now)
            self.frame_due.emit(index, image)
        if self._buffer:
            delay_ms = (clock.time_of(self._buffer[0][0]) - time.monotonic()) * 1000
            self._present_timer.start(max(0, int(delay_ms + 0.5)))
        elif self._ended:
            self._reach_end()

    def _reach_end(self) -> None:
        path = self._path
        assert path is not None
        self.ended.emit(path.bounds.last if path.direction > 0 else path.bounds.first)

    def _follow_sound(self, clock: PlaybackClock, now: float) -> PlaybackClock:
        """The clock re-anchored on the sound card's position (unchanged without sound)."""
        followed = self._sound.clock_now(clock, now)
        if followed is not clock:
            self._clock = followed
            if self._thread is not None:
                self._thread.retime(self._generation, followed)
        return followed
