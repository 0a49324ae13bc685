"""Poster frames: one representative frame of a clip, fast.

Seeks to the keyframe at or before ~10% of the duration (past slates and fades from black) and
decodes only that keyframe; short or unseekable clips fall back to the first frame.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from core.media._av import decode_error, first_video_stream, open_container

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

_MIN_SEEK_SECONDS = 1.0


def poster_frame(path: Path, max_side: int, at_fraction: float = 0.1) -> np.ndarray:
    """RGB uint8 frame whose longest side is at most ``max_side``."""
    import av

    container = open_container(path)
    try:
        stream = first_video_stream(container, path)
        # Slice threads speed up one frame; frame threads would make the decoder buffer several
        # frames before handing out the first.
        stream.thread_type = "SLICE"
        frame = None
        target = _seek_target(container, stream, at_fraction)
        if target is not None:
            try:
                container.seek(target, stream=stream, backward=True, any_frame=False)
                frame = _first_frame(container, stream, keyframes_only=True)
            except av.FFmpegError as exc:
                log.debug("Seek failed in %s (%s); using the first frame", path, exc)
            if frame is None:
                container.seek(0, stream=stream, backward=True, any_frame=False)
        if frame is None:
            frame = _first_frame(container, stream, keyframes_only=False)
        if frame is None:
            raise decode_error(path, ValueError("no frame could be decoded"))
        width, height = _fit(frame.width, frame.height, max_side)
        return np.asarray(frame.to_ndarray(width=width, height=height, format="rgb24", interpolation="AREA"))
    except av.FFmpegError as exc:
        raise decode_error(path, exc) from exc
    finally:
        container.close()


def _seek_target(container: Any, stream: Any, at_fraction: float) -> int | None:
    """Target in the stream's time base, or None when the clip is too short to bother."""
    if stream.duration is not None and stream.time_base:
        duration_s = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration_s = container.duration / 1_000_000
    else:
        return None
    seconds = duration_s * at_fraction
    if seconds < _MIN_SEEK_SECONDS or not stream.time_base:
        return None
    start = stream.start_time or 0
    return int(start + seconds / float(stream.time_base))


def _first_frame(container: Any, stream: Any, keyframes_only: bool) -> Any:
    stream.codec_context.skip_frame = "NONKEY" if keyframes_only else "DEFAULT"
    for frame in container.decode(stream):
        return frame
    return None


def _fit(width: int, height: int, max_side: int) -> tuple[int, int]:
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(2, round(width * scale)), max(2, round(height * scale))
