"""Pictures for a review report: the noted frame of a clip or a still, as a small JPEG, and a note's
drawing as SVG laid over it (strokes are stored in normalised image coordinates, so they scale with
the picture exactly as in the viewer)."""

from __future__ import annotations

import bisect
import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.media.errors import MediaError

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord
    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)

REPORT_PICTURE_SIDE = 640


@dataclass(frozen=True)
class Picture:
    jpeg: bytes
    width: int
    height: int


def frame_index(asset: AssetRecord, frame: int | None) -> int:
    """The 0-based index of the clip's own frame number ``frame`` (a sequence's file numbers)."""
    if frame is None:
        return 0
    sequence = asset.metadata.get("sequence")
    numbers = sequence.get("frames") if isinstance(sequence, dict) else None
    if isinstance(numbers, list) and numbers:
        return min(bisect.bisect_left([int(n) for n in numbers], frame), len(numbers) - 1)
    return max(0, frame)


def grab_picture(
    asset: AssetRecord, frame: int | None, limits: MediaLimits, max_side: int = REPORT_PICTURE_SIDE
) -> Picture | None:
    """The picture a note was written on (None, logged, when the file cannot be read any more)."""
    try:
        rgb = _pixels(asset, frame, limits, max_side)
    except (MediaError, OSError, IndexError, ValueError) as exc:
        log.warning("No picture of %s for the report: %s", asset.name, exc)
        return None
    return Picture(_jpeg(rgb), int(rgb.shape[1]), int(rgb.shape[0]))


def _pixels(asset: AssetRecord, frame: int | None, limits: MediaLimits, max_side: int) -> np.ndarray:
    if asset.kind in ("video", "sequence"):
        from core.video.frames import open_frame_source

        frames: tuple[Path, ...] = ()
        if asset.is_sequence:
            from core.ingest import sequence_frames

            frames = tuple(sequence_frames(asset.metadata))
        fps = asset.metadata.get("fps") if asset.is_sequence else None
        rate = float(fps) if isinstance(fps, int | float) and fps > 0 else None
        with open_frame_source(Path(asset.path), frames=frames, fps=rate, limits=limits) as source:
            index = min(frame_index(asset, frame), source.frame_count - 1)
            return np.asarray(source.frame_at(index, max_side))
    from core.media.decode import composite_on_checkerboard, load_image_rgba

    return composite_on_checkerboard(np.asarray(load_image_rgba(Path(asset.path), limits, max_side)))


def _jpeg(rgb: np.ndarray) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(encoded.tobytes())


def drawing_svg(annotation: Any, width: int, height: int) -> str:
    """The note's strokes as an SVG overlay sized ``width`` x ``height`` (empty without strokes)."""
    strokes = annotation.get("strokes") if isinstance(annotation, dict) else None
    if not isinstance(strokes, list):
        return ""
    paths = []
    for stroke in strokes:
        try:
            points = [(float(x) * width, float(y) * height) for x, y in stroke["points"]]
            stroke_width = max(1.0, float(stroke["width"]) * width)
            colour = html.escape(str(stroke["colour"]), quote=True)
        except (KeyError, TypeError, ValueError):
            continue  # a malformed stroke (another client's bug) is left out, as the viewer does
        if points:
            joined = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            paths.append(
                f'<polyline points="{joined}" fill="none" stroke="{colour}" '
                f'stroke-width="{stroke_width:.1f}" stroke-linecap="round" stroke-linejoin="round"/>'
            )
    if not paths:
        return ""
    return (
        f'<svg class="drawing" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(paths)}</svg>'
    )
