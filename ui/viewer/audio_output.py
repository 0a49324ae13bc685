"""The sound card behind ``core.media.audio_sink.PcmSink``: QtMultimedia's ``QAudioSink`` in push mode.

QtMultimedia ships in PySide6-Addons. Without it, or without an output device (a headless machine, a
locked-down session, PulseAudio not running), ``default_sink_factory`` answers None and the player
plays pictures on its own clock, saying why there is no sound; nothing else changes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from core.media.audio import PLAYBACK_FORMAT

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.media.audio_sink import PcmSink

log = logging.getLogger(__name__)

# Device buffer: small enough that pictures follow sound closely after a seek, large enough to ride
# over a busy UI thread (the feed tops it up every ~10 ms).
BUFFER_SECONDS = 0.12


class QtPcmSink:
    """``PcmSink`` over a ``QAudioSink``; lives on (and is called from) the UI thread."""

    def __init__(self, device: Any) -> None:
        from PySide6.QtMultimedia import QAudioFormat, QAudioSink

        fmt = QAudioFormat()
        fmt.setSampleRate(PLAYBACK_FORMAT.rate)
        fmt.setChannelCount(PLAYBACK_FORMAT.channels)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self._sink = QAudioSink(device, fmt)
        self._sink.setBufferSize(PLAYBACK_FORMAT.bytes_of(BUFFER_SECONDS))
        self._io: Any = None
        self.description = device.description()

    def start(self) -> None:
        self._sink.stop()
        self._io = self._sink.start()

    def stop(self) -> None:
        self._sink.stop()
        self._io = None

    def free_bytes(self) -> int:
        return int(self._sink.bytesFree()) if self._io is not None else 0

    def write(self, data: bytes) -> int:
        if self._io is None:
            return 0
        written = int(self._io.write(data))
        return max(0, written)

    def played_seconds(self) -> float:
        # processedUSecs counts what the sink handed to the device; its own buffer is not yet heard.
        return float(self._sink.processedUSecs()) / 1e6

    def set_volume(self, volume: float) -> None:
        self._sink.setVolume(min(1.0, max(0.0, volume)))


def no_audio_reason() -> str | None:
    """Why sound cannot play here, or None when a default output device exists."""
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:
        return "Sound needs QtMultimedia (the PySide6-Addons package), which is not installed"
    if QMediaDevices.defaultAudioOutput().isNull():
        return "No sound output device was found"
    return None


def default_sink_factory() -> PcmSink | None:
    """A sink on the default output device, or None (logged once per call) when there is none."""
    reason = no_audio_reason()
    if reason is not None:
        log.info("Video plays without sound: %s", reason)
        return None
    from PySide6.QtMultimedia import QMediaDevices

    return QtPcmSink(QMediaDevices.defaultAudioOutput())


def sink_factory_or_default(factory: Callable[[], PcmSink | None] | None) -> Callable[[], PcmSink | None]:
    return factory if factory is not None else default_sink_factory
