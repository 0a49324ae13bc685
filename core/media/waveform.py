"""A sound file's waveform: the min/max envelope per pixel column, drawn as a picture.

The envelope comes from one streaming decode: each decoded frame is reduced at once to the minimum
and maximum of small blocks of samples (all channels together), so memory holds one frame plus the
block extremes, never the sound itself: a two-hour file costs a few megabytes, whatever its rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.media._av import decode_error, open_container
from core.media.errors import InvalidMediaError
from core.media.probe_audio import SOUND, audio_codec, header_duration
from core.video.frames import ClipBase

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

BACKGROUND = (30, 32, 36)
WAVE = (122, 162, 247)
CENTRE_LINE = (70, 74, 82)
PLAYHEAD = (255, 196, 64)
PLAYED = (168, 196, 255)
# Blocks per envelope column when the duration is known beforehand (finer blocks cost memory only).
_BLOCKS_PER_COLUMN = 4
# Without a known duration: one block per this many seconds (two hours = 720,000 blocks).
_UNKNOWN_BLOCK_SECONDS = 0.01


@dataclass(frozen=True)
class Envelope:
    """Per column: the lowest and highest sample, in -1..1 (float32 arrays of equal length)."""

    low: np.ndarray
    high: np.ndarray
    duration_s: float
    peak: float


def envelope(
    path: Path,
    columns: int,
    *,
    duration_s: float | None = None,
    check_cancel: Callable[[], None] | None = None,
) -> Envelope:
    """``columns`` min/max pairs spanning the whole of ``path``'s first audio stream.

    ``duration_s`` (the probe's answer, else the header's) only sizes the blocks; the envelope always
    covers what was actually decoded. ``check_cancel`` is called between frames (it raises to stop).
    Raises ``InvalidMediaError`` for a file without decodable sound.
    """
    import av

    if columns < 1:
        raise ValueError("columns must be at least 1")
    container = open_container(path, SOUND)
    try:
        if not container.streams.audio:
            raise InvalidMediaError(f"{path.name} has no audio stream ({path})", path)
        stream = container.streams.audio[0]
        rate = int(audio_codec(stream, path).sample_rate or 0) or 48_000
        duration_s = duration_s or header_duration(container, stream)
        if duration_s and duration_s > 0:
            block = max(1, math.floor(duration_s * rate / (columns * _BLOCKS_PER_COLUMN)))
        else:
            block = max(1, round(rate * _UNKNOWN_BLOCK_SECONDS))
        reducer = _BlockReducer(block)
        resampler = av.AudioResampler(format="fltp")  # keeps the rate and channels; floats in -1..1
        for frame in container.decode(stream):
            if check_cancel is not None:
                check_cancel()
            for out in resampler.resample(frame):
                reducer.add(_planes(out))
        for out in resampler.resample(None):
            reducer.add(_planes(out))
    except av.FFmpegError as exc:
        raise decode_error(path, exc, SOUND) from exc
    finally:
        container.close()
    low, high, samples = reducer.finish()
    if samples == 0:
        raise InvalidMediaError(f"{path.name} has no decodable sound ({path})", path)
    low_cols, high_cols = _to_columns(low, high, columns)
    peak = float(max(np.abs(low).max(initial=0.0), np.abs(high).max(initial=0.0)))
    return Envelope(low_cols, high_cols, samples / rate, peak)


class _BlockReducer:
    """Min/max of consecutive ``block``-sample runs, fed one decoded frame at a time."""

    def __init__(self, block: int) -> None:
        self.block = block
        self._low: list[np.ndarray] = []
        self._high: list[np.ndarray] = []
        self._carry_low = np.empty(0, np.float32)
        self._carry_high = np.empty(0, np.float32)
        self.samples = 0

    def add(self, planes: np.ndarray) -> None:
        if planes.size == 0:
            return
        self.samples += planes.shape[1]
        low = np.concatenate((self._carry_low, planes.min(axis=0)))
        high = np.concatenate((self._carry_high, planes.max(axis=0)))
        whole = (low.size // self.block) * self.block
        if whole:
            self._low.append(low[:whole].reshape(-1, self.block).min(axis=1))
            self._high.append(high[:whole].reshape(-1, self.block).max(axis=1))
        self._carry_low, self._carry_high = low[whole:], high[whole:]

    def finish(self) -> tuple[np.ndarray, np.ndarray, int]:
        if self._carry_low.size:
            self._low.append(self._carry_low.min(keepdims=True))
            self._high.append(self._carry_high.max(keepdims=True))
        if not self._low:
            return np.empty(0, np.float32), np.empty(0, np.float32), 0
        return np.concatenate(self._low), np.concatenate(self._high), self.samples


def _planes(frame: Any) -> np.ndarray:
    """(channels, samples) float32 of a planar float frame, without alignment padding."""
    data = np.asarray(frame.to_ndarray(), dtype=np.float32)
    return data.reshape(len(frame.layout.channels), -1)[:, : frame.samples]


def _to_columns(low: np.ndarray, high: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocks regrouped into ``columns`` equal spans; fewer blocks than columns are stretched."""
    count = low.size
    starts = np.arange(columns) * count // columns
    if count >= columns:  # every span holds at least one block
        return np.minimum.reduceat(low, starts), np.maximum.reduceat(high, starts)
    return low[starts], high[starts]


def draw_waveform(
    env: Envelope,
    width: int,
    height: int,
    *,
    playhead: float | None = None,
    normalise: bool = True,
) -> np.ndarray:
    """RGB uint8 (height, width, 3): the envelope centred on a line, each column from its lowest to
    its highest sample. ``normalise`` scales the loudest sample to the full height (quiet dialogue
    stays visible in a small tile). ``playhead`` (0..1 of the duration) draws the played part
    brighter and a vertical line at that point."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BACKGROUND
    middle = (height - 1) / 2
    gain = 1.0 / env.peak if normalise and env.peak > 1e-4 else 1.0
    x = np.arange(width)
    column = np.minimum(x * env.low.size // width, env.low.size - 1)
    low = np.clip(env.low[column] * gain, -1.0, 1.0)
    high = np.clip(env.high[column] * gain, -1.0, 1.0)
    top = np.floor(middle - high * middle * 0.96).astype(np.int64)
    bottom = np.ceil(middle - low * middle * 0.96).astype(np.int64)
    rows = np.arange(height)[:, None]
    image[round(middle)] = CENTRE_LINE
    inked = (rows >= top[None, :]) & (rows <= bottom[None, :])
    image[inked] = WAVE
    if playhead is not None:
        head = min(width - 1, max(0, round(playhead * (width - 1))))
        image[inked & (x[None, :] < head)] = PLAYED
        _draw_playhead(image, head)
    return image


def _draw_playhead(image: np.ndarray, head: int) -> None:
    """A line about 1/320 of the width wide centred on column ``head``, kept whole at the edges (so it
    survives the player's downscaling)."""
    width = image.shape[1]
    line = max(1, min(width, round(width / 320)))
    start = min(max(0, head - line // 2), width - line)
    image[:, start : start + line] = PLAYHEAD


def waveform_thumbnail(path: Path, size: int, check_cancel: Callable[[], None] | None = None) -> np.ndarray:
    """A ``size`` wide, half as tall picture of ``path``'s waveform (the thumbnail step's image)."""
    env = envelope(path, size, check_cancel=check_cancel)
    return draw_waveform(env, size, max(1, size // 2))


class WaveformFrameSource(ClipBase):
    """A sound file as a clip for the player: every frame is the waveform with a playhead at that
    frame's time, ``fps`` frames a second. The envelope is computed once, when the source opens (on
    the player's decode thread); frames are cheap compositions of two prepared pictures."""

    WIDTH = 1280
    HEIGHT = 360

    def __init__(self, path: Path, *, duration_s: float | None = None, fps: int = 25) -> None:
        from fractions import Fraction

        self.path = path
        env = envelope(path, self.WIDTH, duration_s=duration_s)
        self._duration = env.duration_s
        self._fps = Fraction(fps)
        self._frame_count = max(1, math.ceil(env.duration_s * fps))
        self._unplayed = draw_waveform(env, self.WIDTH, self.HEIGHT)
        self._played = draw_waveform(env, self.WIDTH, self.HEIGHT, playhead=1.0)

    @property
    def width(self) -> int:
        return self.WIDTH

    @property
    def height(self) -> int:
        return self.HEIGHT

    @property
    def timecode_start(self) -> int:
        return 0

    def frame_at(self, index: int, max_side: int | None = None) -> np.ndarray:
        self._check_index(index)
        seconds = float(index / self._fps)
        head = (
            min(self.WIDTH - 1, round(seconds / self._duration * (self.WIDTH - 1))) if self._duration else 0
        )
        image = self._unplayed.copy()
        image[:, :head] = self._played[:, :head]
        _draw_playhead(image, head)
        if max_side is not None and max(self.WIDTH, self.HEIGHT) > max_side:
            from core.media.decode import fit_within

            return fit_within(image, max_side)
        return image

    def iter_frames(self, start: int = 0, max_side: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        for index in range(start, self._frame_count):
            yield index, self.frame_at(index, max_side)

    def close(self) -> None:
        """Nothing stays open: the file is read once, when the source is made."""
