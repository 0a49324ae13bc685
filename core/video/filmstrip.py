"""Filmstrips: N evenly spaced frames of a clip side by side, for the grid's hover-scrub.

Cell ``i`` shows the frame at the middle of the ``i``-th equal slice of the clip, so moving the mouse
across a thumbnail maps x to a slice (:func:`cell_at`) and shows the frame that stands for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Generator
    from pathlib import Path

    from core.video.frames import FrameSource

log = logging.getLogger(__name__)

DEFAULT_COUNT = 10
DEFAULT_HEIGHT = 90
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Filmstrip:
    image: np.ndarray  # RGB uint8, (cell_height, cell_width * len(frames), 3)
    frames: list[int]  # the frame index shown in each cell, left to right
    cell_width: int
    cell_height: int


def filmstrip_indices(frame_count: int, count: int) -> list[int]:
    """``count`` frame indices at the middles of equal slices (every frame when the clip is shorter)."""
    if frame_count <= 0 or count <= 0:
        return []
    count = min(count, frame_count)
    return [min(frame_count - 1, (2 * i + 1) * frame_count // (2 * count)) for i in range(count)]


def cell_at(fraction: float, cells: int) -> int:
    """The filmstrip cell under a pointer at ``fraction`` (0 = left edge, 1 = right edge)."""
    if cells <= 0:
        raise ValueError("A filmstrip has at least one cell")
    return min(cells - 1, max(0, int(fraction * cells)))


def cell_size(source_width: int, source_height: int, height: int) -> tuple[int, int]:
    """(width, height) of one cell: ``height`` tall, the clip's aspect ratio."""
    return max(1, round(source_width * height / max(1, source_height))), height


def build_filmstrip(
    source: FrameSource, count: int = DEFAULT_COUNT, height: int = DEFAULT_HEIGHT
) -> Generator[int, None, Filmstrip]:
    """Decode the cells one by one, yielding how many are done (for progress and cancellation)."""
    import cv2

    if height <= 0:
        raise ValueError(f"A filmstrip needs a positive height, not {height}")
    frames = filmstrip_indices(source.frame_count, count)
    width, height = cell_size(source.width, source.height, height)
    strip = np.zeros((height, width * len(frames), 3), np.uint8)
    for cell, index in enumerate(frames):
        rgb = source.frame_at(index, max_side=max(width, height))
        if rgb.shape[:2] != (height, width):
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        strip[:, cell * width : (cell + 1) * width] = rgb
        yield cell + 1
    return Filmstrip(strip, frames, width, height)


def make_filmstrip(
    source: FrameSource, count: int = DEFAULT_COUNT, height: int = DEFAULT_HEIGHT
) -> Filmstrip:
    """The whole filmstrip at once (see :func:`build_filmstrip` for a cancellable version)."""
    building = build_filmstrip(source, count, height)
    while True:
        try:
            next(building)
        except StopIteration as done:
            result: Filmstrip = done.value
            return result


def write_jpeg(path: Path, rgb: np.ndarray, quality: int = JPEG_QUALITY) -> Path:
    """Write atomically, so a half-written file is never taken for a finished artifact."""
    import cv2

    ok, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise OSError(f"Could not encode {path.name} as JPEG")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(encoded.tobytes())
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    return path
