"""Where playback PCM goes, and how far it has been played: the seam between the player and a device.

The player treats the sink as its clock when a clip has sound: ``played_seconds`` is how much audio the
device has consumed since ``start``, so pictures follow what is heard. A real device (QtMultimedia's
``QAudioSink``, in ``ui.viewer.audio_output``) and ``NullPcmSink`` both satisfy ``PcmSink``.

``NullPcmSink`` consumes PCM in real time like a device with a small buffer, but makes no sound: tests
run the whole audio path (decode, feed, clock) on machines without a sound card, and a starved feed
stalls its clock exactly as a device underrun would.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Protocol

from core.media.audio import PLAYBACK_FORMAT

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.media.audio import PcmFormat

__all__ = ["NullPcmSink", "PcmSink"]


class PcmSink(Protocol):
    """An output for ``PLAYBACK_FORMAT`` PCM. Called from one thread (the player's)."""

    def start(self) -> None:
        """Begin a new stream: empty buffer, ``played_seconds`` back to 0."""
        ...

    def stop(self) -> None: ...

    def free_bytes(self) -> int:
        """How many bytes ``write`` would take now."""
        ...

    def write(self, data: bytes) -> int:
        """Queue PCM; returns the bytes taken (at most ``free_bytes``)."""
        ...

    def played_seconds(self) -> float:
        """Seconds of audio consumed by the device since ``start``."""
        ...

    def set_volume(self, volume: float) -> None:
        """0.0 (silent) to 1.0 (full)."""
        ...


class NullPcmSink:
    """A silent device: consumes queued PCM at the format's rate from ``start``; stalls when starved."""

    def __init__(
        self,
        fmt: PcmFormat = PLAYBACK_FORMAT,
        buffer_seconds: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._format = fmt
        self._capacity = fmt.bytes_of(buffer_seconds)
        self._clock = clock
        self._lock = threading.Lock()
        self._running = False
        self._queued = 0  # bytes written and not yet consumed
        self._consumed = 0  # bytes consumed since start
        self._last = 0.0
        self.volume = 1.0
        self.underruns = 0  # times the buffer ran dry mid-stream

    def start(self) -> None:
        with self._lock:
            self._running = True
            self._queued = self._consumed = 0
            self._last = self._clock()

    def stop(self) -> None:
        with self._lock:
            self._advance()
            self._running = False
            self._queued = 0

    def free_bytes(self) -> int:
        with self._lock:
            self._advance()
            return max(0, self._capacity - self._queued) if self._running else 0

    def write(self, data: bytes) -> int:
        with self._lock:
            self._advance()
            if not self._running:
                return 0
            frame = self._format.frame_bytes
            taken = min(len(data), self._capacity - self._queued) // frame * frame
            self._queued += max(0, taken)
            return max(0, taken)

    def played_seconds(self) -> float:
        with self._lock:
            self._advance()
            return self._format.seconds_of(self._consumed)

    def set_volume(self, volume: float) -> None:
        self.volume = min(1.0, max(0.0, volume))

    def _advance(self) -> None:
        now = self._clock()
        if not self._running:
            self._last = now
            return
        due = self._format.bytes_of(now - self._last)
        if due <= self._queued:
            self._queued -= due
            self._consumed += due
            self._last += self._format.seconds_of(due)  # the part of a sample not yet due carries over
            return
        # Starved: a device plays silence and its clock stands still for the missing time.
        if self._queued:
            self.underruns += 1  # counted when the buffer runs dry, not while it stays dry
        self._consumed += self._queued
        self._queued = 0
        self._last = now
