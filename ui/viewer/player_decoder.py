"""The player's decode thread: owns a clip's FrameSource and turns requests into QImages.

The UI thread sends requests (show one frame, or play from a :class:`PlaybackClock`); only the newest
request counts. While playing, the thread decodes at most ``READ_AHEAD`` frames ahead of the clock and
skips frames that are already overdue, so a slow decoder drops frames instead of drifting.
Frames leave as QImages that own their pixels (built here, off the UI thread) through queued signals.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QThread, Signal
from PySide6.QtGui import QImage

if TYPE_CHECKING:
    from collections.abc import Callable
    from fractions import Fraction

    import numpy as np

    from core.video.clock import PlaybackClock
    from core.video.frames import FrameSource
    from core.video.play_path import PlayPath

    SourceFactory = Callable[[], FrameSource]

log = logging.getLogger(__name__)

READ_AHEAD = 4  # frames decoded ahead of the clock: enough to absorb jitter, small enough to seek fast
STOP_TIMEOUT_MS = 10_000

_live_lock = threading.Lock()
_live_threads: set[DecodeThread] = set()
# Threads that did not stop in time (a decode stuck on a slow share): kept alive until they finish,
# because destroying a running QThread aborts the process.
_orphans: set[DecodeThread] = set()


def live_decode_threads() -> int:
    """How many player decode threads are running (for diagnostics and leak tests)."""
    with _live_lock:
        return len(_live_threads)


class ClipInfo(NamedTuple):
    frame_count: int
    fps: Fraction
    width: int
    height: int
    timecode_start: int


class PlayRequest(NamedTuple):
    clock: PlaybackClock
    path: PlayPath


class ShowRequest(NamedTuple):
    frame: int
    tick: int | None = None  # sent back as the answer's tick (default: the frame); compare pairs by it


def to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB uint8 array as a QImage that owns its pixels (safe to pass between threads)."""
    height, width = rgb.shape[:2]
    image = QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888)
    return image.copy()


class DecodeThread(QThread):
    """Owns the FrameSource; decodes what the player asks for, newest request first."""

    opened = Signal(object)  # ClipInfo
    failed = Signal(str)
    # generation, tick, frame index, picture
    frame_ready = Signal(int, int, int, QImage)
    stream_ended = Signal(int)  # generation

    def __init__(self, source_factory: SourceFactory) -> None:
        super().__init__()
        self._factory = source_factory
        self._condition = threading.Condition()
        self._stopping = False
        self._generation = 0
        self._request: PlayRequest | ShowRequest | None = None
        self._max_side: int | None = None
        self._loop = False
        self.setObjectName("video-decode")

    # -- called from the UI thread ------------------------------------------------------------

    def command(
        self, generation: int, request: PlayRequest | ShowRequest | None, max_side: int | None
    ) -> None:
        """Replace whatever the thread was doing (older requests are simply dropped)."""
        with self._condition:
            self._generation = generation
            self._request = request
            self._max_side = max_side
            self._condition.notify_all()

    def retime(self, generation: int, clock: PlaybackClock) -> None:
        """Move the running stream onto ``clock`` (the player follows the sound card's clock)."""
        with self._condition:
            if generation == self._generation and isinstance(self._request, PlayRequest):
                self._request = self._request._replace(clock=clock)
                self._condition.notify_all()

    def set_loop(self, loop: bool) -> None:
        with self._condition:
            self._loop = loop
            self._condition.notify_all()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()

    # -- the thread ---------------------------------------------------------------------------

    def run(self) -> None:
        with _live_lock:
            _live_threads.add(self)
        try:
            self._serve()
        finally:
            with _live_lock:
                _live_threads.discard(self)

    def _serve(self) -> None:
        from core.media.errors import MediaError

        try:
            source = self._factory()
        except MediaError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            log.exception("Could not open the clip")
            self.failed.emit(f"Could not open the clip: {exc}")
            return
        with source:
            info = ClipInfo(
                source.frame_count, source.fps, source.width, source.height, source.timecode_start
            )
            self.opened.emit(info)
            try:
                self._serve_requests(source)
            except MediaError as exc:
                self.failed.emit(str(exc))
            except Exception as exc:
                log.exception("Decoding failed")
                self.failed.emit(f"Decoding failed: {exc}")

    def _serve_requests(self, source: FrameSource) -> None:
        while True:
            with self._condition:
                while not self._stopping and self._request is None:
                    self._condition.wait()
                if self._stopping:
                    return
                request, generation, max_side = self._request, self._generation, self._max_side
                if isinstance(request, ShowRequest):
                    self._request = None
            if isinstance(request, ShowRequest):
                rgb = source.frame_at(request.frame, max_side)
                tick = request.frame if request.tick is None else request.tick
                self.frame_ready.emit(generation, tick, request.frame, to_qimage(rgb))
            elif isinstance(request, PlayRequest):
                self._stream(source, request, generation, max_side)

    def _stream(
        self, source: FrameSource, request: PlayRequest, generation: int, max_side: int | None
    ) -> None:
        clock, path = request.clock, request.path
        tick = clock.start_tick
        while True:
            with self._condition:
                if self._stopping or self._generation != generation:
                    return
                if isinstance(self._request, PlayRequest):
                    clock = self._request.clock  # retimed while we decoded
                now = time.monotonic()
                # Read ahead at most READ_AHEAD frames; a new request or stop wakes us early.
                wait = clock.time_of(tick - READ_AHEAD) - now
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                loop = self._loop
            # A frame already overdue is skipped: decoding forward to the due one keeps us on time.
            tick = max(tick, clock.tick_at(now))
            index = path.frame_of_tick(tick, loop)
            if index is not None and not 0 <= index < source.frame_count:
                index = None
            if index is None:
                with self._condition:
                    if self._generation == generation:
                        self._request = None
                self.stream_ended.emit(generation)
                return
            rgb = source.frame_at(index, max_side)
            self.frame_ready.emit(generation, tick, index, to_qimage(rgb))
            tick += 1


def finish_thread(thread: DecodeThread) -> None:
    """Stop a decode thread and wait; one that does not stop in time is kept referenced until it does."""
    thread.stop()
    if thread.wait(STOP_TIMEOUT_MS):
        return
    log.warning("A video decode thread is still busy; it will be released when it finishes")
    _orphans.add(thread)
    thread.finished.connect(lambda: _orphans.discard(thread))
