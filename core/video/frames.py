"""Frame-accurate access to a clip: a video file (PyAV) or an image sequence, behind one protocol.

Frame numbering: frame 0 is the first picture the decoder shows. A video frame's index comes from its
presentation timestamp, ``round((pts - first_pts) * time_base * fps)``, so B-frame reordering and a
non-zero start time (MPEG-TS starts near 1.4 s, edit lists, trimmed files) never shift the numbering.

Random access seeks to the keyframe at or before the target and decodes forward until the frame whose
index is the target. Demuxers are not exact about "at or before" (MPEG-TS seeks by byte position, MP4
seeks by decode time, which can land one GOP late with B-frames): when the first frame decoded after a
seek is already past the target, we seek again further back (1 s, 2 s, 4 s...) until we land before it.

Thread-safety: a source holds one open decoder; use one instance per thread (the player's worker
thread opens its own). Instances are cheap to open.
"""

from __future__ import annotations

import bisect
import logging
from abc import ABC, abstractmethod
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

import numpy as np

from core.media._av import decode_error, first_video_stream, open_container
from core.media.errors import InvalidMediaError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from types import TracebackType

    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)

# Containers whose header frame count is the sample count of an index (mov/mp4 stts/stsz).
_INDEXED_FORMATS = ("mov", "mp4")
# Without a keyframe index, moving forward by up to this many seconds decodes on instead of seeking.
_FORWARD_DECODE_SECONDS = 1.0
# Even with a keyframe between here and the target, a step this small is cheaper than a seek.
_FORWARD_DECODE_FRAMES = 2
_MAX_SEEK_ATTEMPTS = 8


@runtime_checkable
class FrameSource(Protocol):
    """A clip whose frames can be fetched by index, exactly. Close it (or use ``with``) when done."""

    @property
    def fps(self) -> Fraction: ...

    @property
    def frame_count(self) -> int: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    @property
    def duration(self) -> float:
        """Seconds: ``frame_count / fps``."""
        ...

    @property
    def timecode_start(self) -> int:
        """Frame number of frame 0 on the timecode clock (from the file's ``timecode`` tag; else 0)."""
        ...

    def frame_at(self, index: int, max_side: int | None = None) -> np.ndarray:
        """Frame ``index`` as RGB uint8 (H, W, 3); with ``max_side`` its longest side is at most that."""
        ...

    def iter_frames(self, start: int = 0, max_side: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Every frame from ``start`` to the end in order as ``(index, rgb)``, decoding forward."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def fit_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) shrunk so the longest side is ``max_side``; never enlarged; even-free."""
    longest = max(width, height)
    if max_side is None or longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def open_frame_source(
    path: Path,
    *,
    frames: Sequence[Path] = (),
    fps: Fraction | float | None = None,
    limits: MediaLimits | None = None,
    fast_decode: bool = False,
) -> FrameSource:
    """A sequence source when ``frames`` are given (an image-sequence asset), else a video source."""
    if frames:
        return SequenceFrameSource(frames, fps=fps if fps else 24, limits=limits)
    return VideoFrameSource(path, fast_decode=fast_decode)


class ClipBase(ABC):
    """Shared protocol plumbing: range checks, duration, context manager (also the waveform clip of a
    sound file, ``core.media.waveform``)."""

    _fps: Fraction
    _frame_count: int

    @property
    def fps(self) -> Fraction:
        return self._fps

    @property
    def frame_count(self) -> int:
        return self._frame_count

    @property
    def duration(self) -> float:
        return float(self._frame_count / self._fps)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self._frame_count:
            raise IndexError(f"Frame {index} is outside the clip (0-{self._frame_count - 1})")

    @abstractmethod
    def close(self) -> None:
        """Release the decoder or file handles."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class VideoFrameSource(ClipBase):
    """A video file through PyAV. Opening decodes the first frame (proving the file plays).

    ``frame_count`` is exact: an MP4/MOV header's sample count when it agrees with the stream's
    duration, else a demux pass that reads packets without decoding them (disk-speed, ~50x faster than
    decoding), taking the last packet's timestamp as the last frame.
    """

    def __init__(
        self, path: Path, *, fast_decode: bool = False, threads: int = 0, thread_type: str = "AUTO"
    ) -> None:
        """``fast_decode`` skips the in-loop deblocking filter of H.264/HEVC/VP9: ~40% faster, with faint
        blocking that small products (filmstrips, scene detection) never show; keep it off for review.
        ``threads``: decoder threads (0: one per core); ``thread_type``: FFmpeg's AUTO, SLICE or FRAME.
        """
        import av

        self.path = Path(path)
        self._container: Any = open_container(self.path)
        self._decoder: Iterator[Any] | None = None
        self._current: Any = None  # the av.VideoFrame at index self._cursor
        self._previous: Any = None  # the one decoded before it (shown in timestamp gaps)
        self._cursor = -1
        self._fps = Fraction(1)
        self._time_base: Fraction | None = None
        self._origin_pts: int | None = None
        self._width = self._height = 0
        self._frame_count = 0
        self._timecode_start = 0
        try:
            self._stream: Any = first_video_stream(self._container, self.path)
            self._stream.thread_type = thread_type
            self._stream.codec_context.thread_count = threads
            self._codec_options = {"skip_loop_filter": "all"} if fast_decode else {}
            self._stream.codec_context.options = dict(self._codec_options)
            self._fps = _frame_rate(self._stream, self.path)
            self._time_base = self._stream.time_base
            # Approximate frame indices of keyframes, to decide between decoding on and seeking.
            self._keyframes: list[int] = []
            first = self._decode_first_frame()
            self._origin_pts = first.pts
            if not self._timed:
                log.info("%s has no frame timestamps: frames are counted from the start", self.path)
            self._width, self._height = int(first.width), int(first.height)
            self._frame_count = self._count_frames()
            self._timecode_start = self._read_timecode_start()
        except av.FFmpegError as exc:
            self.close()
            raise decode_error(self.path, exc) from exc
        except BaseException:
            self.close()
            raise

    # -- properties -------------------------------------------------------------------------

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def timecode_start(self) -> int:
        return self._timecode_start

    @property
    def codec(self) -> str:
        return str(self._stream.codec_context.name)

    # -- frames -----------------------------------------------------------------------------

    def frame_at(self, index: int, max_side: int | None = None) -> np.ndarray:
        self._check_index(index)
        return self._to_rgb(self._decoded(index), max_side)

    def iter_frames(self, start: int = 0, max_side: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        self._check_index(start)
        for index in range(start, self._frame_count):
            # One decode step per frame while nothing else moved the decoder (see _decoded).
            yield index, self._to_rgb(self._decoded(index), max_side)

    def close(self) -> None:
        self._decoder = None
        self._current = self._previous = None
        container, self._container = self._container, None
        if container is not None:
            container.close()

    # -- decoding ---------------------------------------------------------------------------

    @property
    def _timed(self) -> bool:
        return self._origin_pts is not None and bool(self._time_base)

    def _index_of(self, frame: Any) -> int:
        if frame.pts is None or not self._timed:
            return self._cursor + 1
        assert self._time_base is not None
        assert self._origin_pts is not None
        return round((int(frame.pts) - self._origin_pts) * self._time_base * self._fps)

    def _pts_of(self, index: int) -> int:
        assert self._time_base is not None
        assert self._origin_pts is not None
        return self._origin_pts + int(index / (self._fps * self._time_base))

    def _decoded(self, index: int) -> Any:
        """The av.VideoFrame shown at ``index``, moving the decoder as little as possible."""
        import av

        try:
            if self._current is not None and self._cursor == index:
                return self._current
            if not (self._current is not None and self._cursor < index and self._decode_on_to(index)):
                self._seek_before(index)
            return self._decode_forward_to(index)
        except av.FFmpegError as exc:
            self._decoder = self._current = self._previous = None
            raise decode_error(self.path, exc) from exc

    def _decode_on_to(self, index: int) -> bool:
        """Whether decoding on from the cursor reaches ``index`` sooner than a seek would."""
        distance = index - self._cursor
        if distance <= _FORWARD_DECODE_FRAMES:
            return True
        if not self._keyframes:
            return distance <= self._fps * _FORWARD_DECODE_SECONDS
        # A seek lands on the last keyframe at or before the target: only a win if it is past us.
        next_keyframe = bisect.bisect_right(self._keyframes, self._cursor)
        return next_keyframe >= len(self._keyframes) or self._keyframes[next_keyframe] > index

    def _decode_forward_to(self, index: int) -> Any:
        while self._cursor < index:
            if not self._advance():
                self._current = None  # force a seek next time
                raise InvalidMediaError(
                    f"{self.path.name} ends before frame {index} of {self._frame_count} "
                    f"(truncated or corrupt video) ({self.path})",
                    self.path,
                )
        if self._cursor > index and self._previous is not None:
            return self._previous  # no frame has this timestamp: the one before is still on screen
        return self._current

    def _advance(self) -> bool:
        if self._decoder is None:
            self._decoder = iter(self._container.decode(self._stream))
        frame = next(self._decoder, None)
        if frame is None:
            return False
        index = self._index_of(frame)
        self._previous, self._current, self._cursor = self._current, frame, index
        return True

    def _restart(self) -> None:
        """Leave the decoder on the first frame."""
        self._container.seek(0, backward=True, any_frame=False)
        self._reset_decoder()
        if self._advance() and (self._cursor == 0 or not self._timed):
            self._cursor = 0
            return
        # The demuxer could not seek to the start: reopen the file, which always starts there.
        log.debug("Reopening %s: seeking to the start landed on frame %d", self.path, self._cursor)
        threads = self._stream.codec_context.thread_count
        thread_type = self._stream.thread_type
        self._container.close()
        self._container = open_container(self.path)
        self._stream = first_video_stream(self._container, self.path)
        self._stream.thread_type = thread_type
        self._stream.codec_context.thread_count = threads
        self._stream.codec_context.options = dict(self._codec_options)
        self._reset_decoder()
        if not self._advance():
            raise decode_error(self.path, ValueError("the first frame could not be decoded again"))
        self._cursor = 0

    def _decode_first_frame(self) -> Any:
        if not self._advance():
            raise decode_error(self.path, ValueError("no frame could be decoded"))
        self._cursor = 0
        return self._current

    def _reset_decoder(self) -> None:
        self._decoder = None
        self._current = self._previous = None
        self._cursor = -1

    def _seek_before(self, index: int) -> None:
        """Leave the decoder on a decoded frame at or before ``index``."""
        if not self._timed or index == 0:
            self._restart()
            return
        assert self._time_base is not None
        target = self._pts_of(index)
        back_off = Fraction(0)
        for _ in range(_MAX_SEEK_ATTEMPTS):
            seek_pts = int(target - back_off / self._time_base)
            if self._origin_pts is not None and seek_pts <= self._origin_pts:
                break
            self._container.seek(seek_pts, stream=self._stream, backward=True, any_frame=False)
            self._reset_decoder()
            if self._advance() and self._cursor <= index:
                return
            back_off = max(Fraction(1), back_off * 2)
        self._restart()

    def _to_rgb(self, frame: Any, max_side: int | None) -> np.ndarray:
        width, height = fit_size(int(frame.width), int(frame.height), max_side)
        if (width, height) == (frame.width, frame.height):
            rgb = frame.to_ndarray(format="rgb24")
        else:
            rgb = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")
        return np.ascontiguousarray(rgb)

    # -- metadata ---------------------------------------------------------------------------

    def _count_frames(self) -> int:
        header = int(self._stream.frames or 0)
        if header > 0 and self._header_count_trusted(header):
            self._keyframes = self._keyframes_from_index()
            return header
        return self._count_by_demuxing()

    def _keyframes_from_index(self) -> list[int]:
        """Keyframes from the demuxer's index (MP4's sync samples; by decode time, so approximate)."""
        if not self._time_base:
            return []
        stamps = [e.timestamp for e in self._stream.index_entries if e.is_keyframe and not e.is_discard]
        if not stamps:
            return []
        first = stamps[0]  # the first sample is frame 0, whatever its decode timestamp
        return sorted({round((stamp - first) * self._time_base * self._fps) for stamp in stamps})

    def _header_count_trusted(self, header: int) -> bool:
        format_names = str(self._container.format.name).split(",")
        if not any(name in _INDEXED_FORMATS for name in format_names):
            return False
        stream = self._stream
        if stream.duration is None or not self._time_base:
            return True
        expected = float(stream.duration * self._time_base * self._fps)
        return abs(expected - header) <= 1.0

    def _count_by_demuxing(self) -> int:
        import av

        container = open_container(self.path)
        packets = 0
        last_index = -1
        keyframes: set[int] = set()
        try:
            stream = first_video_stream(container, self.path)
            for packet in container.demux(stream):
                if packet.size == 0 or packet.is_discard:
                    continue
                packets += 1
                if packet.pts is not None and self._timed:
                    assert self._time_base is not None
                    assert self._origin_pts is not None
                    index = round((int(packet.pts) - self._origin_pts) * self._time_base * self._fps)
                    last_index = max(last_index, index)
                    if packet.is_keyframe:
                        keyframes.add(index)
        except av.FFmpegError as exc:
            # A cut-off file: count what is there; frames past the damage fail when asked for.
            log.warning("Counting frames of %s stopped early: %s", self.path, exc)
        finally:
            container.close()
        self._keyframes = sorted(keyframes)
        return max(1, last_index + 1 if last_index >= 0 else packets)

    def _read_timecode_start(self) -> int:
        from core.video.timecode import timecode_to_frame

        for tags in (self._stream.metadata, self._container.metadata):
            value = tags.get("timecode") if tags else None
            if value:
                try:
                    return timecode_to_frame(str(value), self._fps)
                except ValueError:
                    log.info("Ignoring the unreadable timecode %r of %s", value, self.path)
        return 0


class SequenceFrameSource(ClipBase):
    """An image sequence (``shot.####.exr``) played as one clip at ``fps``.

    Frames decode through ``core.media.decode`` (EXR tone mapping, 16-bit, bomb checks); alpha is
    shown over a checkerboard. A frame whose size differs from the first is scaled to match, so
    filmstrips and scene detection see one consistent clip.
    """

    def __init__(
        self,
        frame_paths: Sequence[Path],
        fps: Fraction | float | int = 24,
        *,
        limits: MediaLimits | None = None,
    ) -> None:
        from core.media.probe_image import read_image_header
        from core.video.timecode import as_fraction

        if not frame_paths:
            raise InvalidMediaError("The image sequence has no frames")
        self.paths = tuple(Path(p) for p in frame_paths)
        self._fps = as_fraction(fps)
        self._frame_count = len(self.paths)
        self._limits = limits if limits is not None else _default_limits()
        header = read_image_header(self.paths[0], self._limits)
        self._width, self._height = header.width, header.height
        self._last: tuple[int, int | None, np.ndarray] | None = None

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def timecode_start(self) -> int:
        return 0

    def frame_at(self, index: int, max_side: int | None = None) -> np.ndarray:
        from core.media.decode import composite_on_checkerboard, load_image_rgba

        self._check_index(index)
        if self._last is not None and self._last[:2] == (index, max_side):
            return self._last[2]
        image = load_image_rgba(self.paths[index], self._limits, max_side)
        rgb = np.ascontiguousarray(composite_on_checkerboard(image))
        want = fit_size(self._width, self._height, max_side)
        if (rgb.shape[1], rgb.shape[0]) != want:
            import cv2

            rgb = np.asarray(cv2.resize(rgb, want, interpolation=cv2.INTER_AREA))
        self._last = (index, max_side, rgb)
        return rgb

    def iter_frames(self, start: int = 0, max_side: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        self._check_index(start)
        for index in range(start, self._frame_count):
            yield index, self.frame_at(index, max_side)

    def close(self) -> None:
        self._last = None


def _frame_rate(stream: Any, path: Path) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise InvalidMediaError(f"{path.name} has no frame rate ({path})", path)
    return Fraction(rate)


def _default_limits() -> MediaLimits:
    from core.media.limits import MediaLimits
    from core.settings import Settings

    return MediaLimits.from_settings(Settings())
