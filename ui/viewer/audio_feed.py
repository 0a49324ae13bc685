"""Feeds a clip's sound to a ``PcmSink`` while the player plays, and tells how far it has played.

Decoding runs on a short-lived thread per play (opening a track costs a few ms; a new thread per
start keeps seek and stop trivially correct: the old one is cancelled and joined, never reused).
Chunks cross to the UI thread through a small bounded queue, and a 10 ms timer on the UI thread tops
the device up, because a ``QAudioSink`` must be written from the thread that owns it.

When the sound ends before the picture, silence follows, so the audio clock (what the player's
pictures follow) keeps running to the last frame.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from core.media.audio import PLAYBACK_FORMAT

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.media.audio import AudioTrack
    from core.media.audio_sink import PcmSink

    AudioTrackFactory = Callable[[], AudioTrack]

log = logging.getLogger(__name__)

_QUEUE_CHUNKS = 8  # 8 x 50 ms decoded ahead: enough for a busy moment, little to throw away on seek
_PUMP_MS = 10
_JOIN_SECONDS = 2.0
_END = object()


class AudioFeed(QObject):
    """Decode thread -> queue -> sink. ``played_seconds`` is the media time heard since ``start``."""

    failed = Signal(str)

    def __init__(self, sink: PcmSink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sink = sink
        self._queue: queue.Queue[object] = queue.Queue(_QUEUE_CHUNKS)
        self._cancel = _Cancel()
        # Deleted without a stop (its player went with deleteLater): the decode thread still ends.
        self.destroyed.connect(self._cancel)
        self._thread: threading.Thread | None = None
        self._pending = b""
        self._ended = False
        self._volume = 1.0
        self._muted = False
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(_PUMP_MS)
        self._timer.timeout.connect(self._pump)

    @property
    def active(self) -> bool:
        return self._thread is not None

    def start(self, track_factory: AudioTrackFactory, seconds: float) -> None:
        """Play from media time ``seconds``; ``track_factory`` runs on the decode thread."""
        self.stop()
        self._cancel.renew()
        self._queue = queue.Queue(_QUEUE_CHUNKS)
        self._pending, self._ended = b"", False
        thread = threading.Thread(
            target=_produce,
            args=(track_factory, seconds, self._queue, self._cancel.event),
            name="audio-decode",
            daemon=True,
        )
        self._thread = thread
        thread.start()
        self._sink.start()
        self._apply_volume()
        self._pump()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            self._cancel()
            thread.join(_JOIN_SECONDS)
            if thread.is_alive():
                log.warning("The audio decode thread is still busy; it will end on its own")
        self._sink.stop()
        self._pending = b""

    def played_seconds(self) -> float:
        return self._sink.played_seconds()

    def set_volume(self, volume: float) -> None:
        self._volume = min(1.0, max(0.0, volume))
        self._apply_volume()

    def set_muted(self, muted: bool) -> None:
        # Muting keeps the sink running at volume 0: the pictures keep following its clock.
        self._muted = muted
        self._apply_volume()

    def _apply_volume(self) -> None:
        self._sink.set_volume(0.0 if self._muted else self._volume)

    def _pump(self) -> None:
        free = self._sink.free_bytes()
        frame = PLAYBACK_FORMAT.frame_bytes
        while free >= frame:
            if not self._pending:
                self._pending = self._next_chunk(free)
                if not self._pending:
                    return
            taken = self._sink.write(self._pending[: free // frame * frame])
            if taken <= 0:
                return
            self._pending = self._pending[taken:]
            free -= taken

    def _next_chunk(self, free: int) -> bytes:
        if self._ended:
            return bytes(free // PLAYBACK_FORMAT.frame_bytes * PLAYBACK_FORMAT.frame_bytes)
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            return b""  # the decoder is behind: the device plays what it has (an underrun if none)
        if item is _END:
            self._ended = True
            return self._next_chunk(free)
        if isinstance(item, Exception):
            log.warning("Sound stopped: %s", item)
            self._ended = True
            self.failed.emit(str(item))
            return self._next_chunk(free)
        assert isinstance(item, bytes)
        return item


class _Cancel:
    """The current decode thread's stop flag; callable so a signal can set it after its owner is gone."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def renew(self) -> None:
        self.event = threading.Event()

    def __call__(self, *_args: object) -> None:
        self.event.set()


def _produce(
    track_factory: AudioTrackFactory,
    seconds: float,
    chunks: queue.Queue[object],
    cancel: threading.Event,
) -> None:
    def put(item: object) -> bool:
        while not cancel.is_set():
            try:
                chunks.put(item, timeout=0.05)
            except queue.Full:
                continue
            return True
        return False

    try:
        with track_factory() as track:
            for chunk in track.pcm_from(seconds):
                if not put(chunk):
                    return
    except Exception as exc:  # any failure is reported to the UI as data, never raised in a thread
        log.debug("Audio decoding failed", exc_info=True)
        put(exc)
        return
    put(_END)
