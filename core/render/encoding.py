"""Turntable video encoding with PyAV: H.264 when the build has it, MPEG-4 Part 2 otherwise."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

log = logging.getLogger(__name__)

_H264_CANDIDATES = ("libx264", "h264", "libopenh264")


def pick_video_codec() -> str:
    import av

    for name in _H264_CANDIDATES:
        try:
            av.codec.Codec(name, "w")
        except (ValueError, av.FFmpegError):
            continue
        return name
    return "mpeg4"


def even(value: int) -> int:
    """yuv420p subsamples chroma by two, so both dimensions must be even."""
    return value + (value % 2)


class Mp4Writer:
    """Append RGB frames (H x W x 3 uint8) to an MP4 file; close() flushes the encoder."""

    def __init__(self, path: Path, width: int, height: int, fps: int) -> None:
        import av

        if width % 2 or height % 2:
            raise ValueError(f"MP4 frames need even dimensions, got {width}x{height}")
        self.codec = pick_video_codec()
        self._container: Any = av.open(str(path), mode="w", format="mp4")
        stream: Any = self._container.add_stream(self.codec, rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        if self.codec == "libx264":
            stream.options = {"crf": "20", "preset": "veryfast"}
        else:
            stream.bit_rate = max(1_000_000, width * height * fps // 4)
        self._stream = stream
        self.frames = 0
        log.debug("Encoding %s with %s, %dx%d at %d fps", path.name, self.codec, width, height, fps)

    def write(self, rgb: npt.NDArray[np.uint8]) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:, :, :3]), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._container.close()


def encode_png_frames(frame_paths: list[Path], output: Path, fps: int) -> tuple[int, int, int]:
    """Encode numbered PNG frames (Blender's turntable) to ``output``; returns (w, h, frames)."""
    from PIL import Image

    if not frame_paths:
        raise ValueError("No frames to encode")
    with Image.open(frame_paths[0]) as first:
        width, height = even(first.width), even(first.height)
    with Mp4Writer(output, width, height, fps) as writer:
        for frame_path in frame_paths:
            with Image.open(frame_path) as image:
                rgb = flatten_on_background(image, (width, height))
            writer.write(rgb)
    return width, height, len(frame_paths)


def flatten_on_background(
    image: Any, size: tuple[int, int], background: tuple[int, int, int] = (82, 82, 84)
) -> npt.NDArray[np.uint8]:
    """Composite a PIL image (maybe RGBA) on grey and pad it to ``size`` for the video encoder."""
    from PIL import Image

    canvas = Image.new("RGB", size, background)
    rgba = image.convert("RGBA")
    canvas.paste(rgba, (0, 0), rgba)
    return np.asarray(canvas, dtype=np.uint8)
