"""A clip's sound as PCM for playback: PyAV decodes, resamples to one fixed format, by media time.

Media time 0 is the clip's first picture (frame 0 of ``core.video.frames``), not the container's zero:
a file whose audio starts 40 ms after the picture (common in camera files and MPEG-TS) must play that
40 ms of silence first, or every frame would be heard early. ``AudioTrack`` therefore measures the audio
against the video stream's start time and pads or trims at the sample level after a seek (a demuxer
seek lands on a packet boundary, up to ~100 ms before the target).

Everything leaves as signed 16-bit interleaved stereo at 48 kHz (``PLAYBACK_FORMAT``): one format the
output device always accepts, so the player never negotiates per clip; mono is duplicated, 5.1 is
downmixed by libswresample.

A sequence's sound lives beside it (``shot.####.exr`` with ``shot.wav``): ``sidecar_audio`` finds it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from core.media._av import decode_error, open_container
from core.media.errors import InvalidMediaError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

log = logging.getLogger(__name__)

__all__ = [
    "PLAYBACK_FORMAT",
    "AudioTrack",
    "PcmFormat",
    "has_audio",
    "sidecar_audio",
]

SIDECAR_EXTENSIONS = (".wav", ".flac", ".aif", ".aiff", ".mp3", ".m4a", ".ogg")


@dataclass(frozen=True)
class PcmFormat:
    rate: int
    channels: int
    sample_bytes: int

    @property
    def frame_bytes(self) -> int:
        """Bytes of one sample frame (one sample per channel)."""
        return self.channels * self.sample_bytes

    @property
    def bytes_per_second(self) -> int:
        return self.rate * self.frame_bytes

    def seconds_of(self, byte_count: int) -> float:
        return byte_count / self.bytes_per_second

    def bytes_of(self, seconds: float) -> int:
        """Whole sample frames covering ``seconds`` (never splits a frame between channels)."""
        return max(0, round(seconds * self.rate)) * self.frame_bytes


PLAYBACK_FORMAT = PcmFormat(rate=48_000, channels=2, sample_bytes=2)


def has_audio(path: Path) -> bool:
    """Whether ``path`` has an audio stream PyAV can open (False for unreadable files)."""
    try:
        container = open_container(path)
    except InvalidMediaError:
        return False
    try:
        return bool(container.streams.audio)
    finally:
        container.close()


_FRAME_NUMBER = re.compile(r"[._-]?\d+$")


def sidecar_audio(first_frame: Path) -> Path | None:
    """The sound file of an image sequence: ``shot.1001.exr`` -> ``shot.wav`` (or ``shot.flac``...)."""
    stem = _FRAME_NUMBER.sub("", first_frame.stem)
    if not stem:
        return None
    for extension in SIDECAR_EXTENSIONS:
        candidate = first_frame.with_name(stem + extension)
        if candidate.is_file():
            return candidate
    return None


class AudioTrack:
    """PCM of a file's first audio stream in ``PLAYBACK_FORMAT``, read from any media time.

    ``origin`` overrides where media time 0 lies in the file (seconds on the container clock); by
    default it is the video stream's start time, or 0 for a sound-only file (a sequence's sidecar).
    One decoder: use one instance per thread.
    """

    def __init__(self, path: Path, *, origin: float | None = None) -> None:
        self.path = Path(path)
        self._container: Any = open_container(self.path)
        if not self._container.streams.audio:
            self.close()
            raise InvalidMediaError(f"{self.path.name} has no audio stream ({self.path})", self.path)
        self._stream: Any = self._container.streams.audio[0]
        self._origin = self._video_start() if origin is None else origin

    @property
    def duration(self) -> float | None:
        """Seconds of sound after media time 0, when the file says."""
        stream = self._stream
        if stream.duration is not None and stream.time_base:
            start = float((stream.start_time or 0) * stream.time_base)
            return start + float(stream.duration * stream.time_base) - self._origin
        if self._container.duration is not None:
            return float(self._container.duration) / 1_000_000 - self._origin
        return None

    def pcm_from(self, seconds: float, chunk_seconds: float = 0.05) -> Iterator[bytes]:
        """PCM from media time ``seconds`` to the end of the sound, in chunks of about ``chunk_seconds``.

        Exact to the sample: silence is prepended when the sound starts later than ``seconds``.
        """
        import av

        fmt = PLAYBACK_FORMAT
        target = self._origin + max(0.0, seconds)
        chunk_bytes = max(fmt.frame_bytes, fmt.bytes_of(chunk_seconds))
        pending = bytearray()
        try:
            frames = self._decoded_from(target)
            resampler = av.AudioResampler(format="s16", layout="stereo", rate=fmt.rate)
            to_skip: int | None = None
            for frame in frames:
                if to_skip is None:
                    start = _frame_start(frame, self._stream)
                    offset = fmt.bytes_of(abs(target - start)) if start is not None else 0
                    if start is not None and start > target:
                        pending += bytes(offset)  # the sound starts later: silence until then
                        offset = 0
                    to_skip = offset
                for out in resampler.resample(frame):
                    data = _packed_bytes(out)
                    skipped = min(to_skip, len(data))
                    to_skip -= skipped
                    pending += data[skipped:]
                while len(pending) >= chunk_bytes:
                    yield bytes(pending[:chunk_bytes])
                    del pending[:chunk_bytes]
            for out in resampler.resample(None):
                data = _packed_bytes(out)
                skipped = min(to_skip or 0, len(data))
                to_skip = (to_skip or 0) - skipped
                pending += data[skipped:]
        except av.FFmpegError as exc:
            raise decode_error(self.path, exc) from exc
        if pending:
            yield bytes(pending)

    def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _video_start(self) -> float:
        video = self._container.streams.video
        if not video:
            return 0.0
        stream = video[0]
        if stream.start_time is None or not stream.time_base:
            return 0.0
        return float(stream.start_time * stream.time_base)

    def _decoded_from(self, target: float) -> Iterator[Any]:
        stream = self._stream
        if target > 0 and stream.time_base:
            # Seek on the container clock (audio packets are all keyframes), a little early so that
            # the decoder's priming samples are behind us; the exact start is trimmed by pcm_from.
            position = int((target - 0.1) / Fraction(stream.time_base))
            self._container.seek(max(0, position), stream=stream, backward=True, any_frame=False)
        return (frame for frame in self._container.decode(stream))


def _frame_start(frame: Any, stream: Any) -> float | None:
    if frame.pts is None or not (frame.time_base or stream.time_base):
        return None
    return float(frame.pts * (frame.time_base or stream.time_base))


def _packed_bytes(frame: Any) -> bytes:
    """Interleaved s16 bytes of a resampled frame (the plane may carry alignment padding)."""
    samples = np.asarray(frame.to_ndarray()).reshape(-1)
    return samples.astype("<i2", copy=False).tobytes()
