"""Test clips written with PyAV whose frames carry their own frame number.

Each frame shows its number as 8 bits in 8 columns (white = 1) across the top half, so a decoded
frame says which frame it is even after lossy compression; the bottom half is a moving gradient so
the encoder has real motion to predict (and uses B-frames).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

WIDTH, HEIGHT = 64, 48
BITS = 8


def numbered_frame(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """RGB frame showing ``index`` (< 256) in binary; bits of width // 8 columns each."""
    frame = np.zeros((height, width, 3), np.uint8)
    column = width // BITS
    for bit in range(BITS):
        if index >> bit & 1:
            frame[: height // 2, bit * column : (bit + 1) * column] = 255
    ramp = (np.arange(width, dtype=np.int32) * 4 + index * 6) % 256
    frame[height // 2 :, :, 1] = ramp.astype(np.uint8)[None, :]
    frame[height // 2 :, :, 2] = 60
    return frame


def read_number(rgb: np.ndarray) -> int:
    """The frame number drawn by :func:`numbered_frame`, read back from a decoded (resized) frame."""
    height, width = rgb.shape[:2]
    column = width / BITS
    grey = rgb[: height // 2, :, :].mean(axis=2)
    value = 0
    for bit in range(BITS):
        left = int(bit * column + column / 4)
        right = max(left + 1, int((bit + 1) * column - column / 4))
        if grey[height // 8 : height * 3 // 8, left:right].mean() > 128:
            value |= 1 << bit
    return value


def x264_available() -> bool:
    import av

    return "libx264" in av.codecs_available


def write_numbered_clip(
    path: Path,
    *,
    frames: int = 48,
    fps: int | Fraction = 24,
    codec: str = "libx264",
    container_format: str | None = None,
    first_pts: int = 0,
    gop: int = 12,
    timecode: str | None = None,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    container_options: dict[str, str] | None = None,
) -> Path:
    """A clip of ``frames`` numbered frames. libx264 gets 3 B-frames and a keyframe every ``gop``."""
    import av

    width, height = size
    with av.open(str(path), mode="w", format=container_format, options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = 1 / Fraction(fps)
        if codec == "libx264":
            stream.options = {
                "x264-params": f"bframes=3:b-adapt=0:keyint={gop}:min-keyint={gop}:scenecut=0",
                "crf": "16",
            }
        else:
            stream.gop_size = gop
            stream.options = {"qscale": "3"} if codec == "mpeg4" else {}
        if timecode is not None:
            stream.metadata["timecode"] = timecode
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(numbered_frame(index, width, height), format="rgb24")
            frame.pts = first_pts + index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_shots_clip(
    path: Path,
    shots: Sequence[tuple[int, tuple[int, int, int]]],
    *,
    fps: int = 25,
    noise: float = 6.0,
    fade_frames: int = 0,
    flashes: Sequence[int] = (),
    seed: int = 7,
) -> Path:
    """Shots of (length, RGB colour) with camera-like noise, a texture and a little motion.

    With ``fade_frames`` > 0 the *last* shot is reached by a linear cross-fade of that many frames
    instead of a hard cut. Frames listed in ``flashes`` are white (lightning).
    """
    import av

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264" if x264_available() else "mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        pictures: list[np.ndarray] = []
        for shot, (length, colour) in enumerate(shots):
            for local in range(length):
                texture = 18 * np.sin((xx + local * (shot + 1)) / (3 + shot)) * np.cos(yy / (4 + shot))
                pictures.append(np.asarray(colour, np.float32)[None, None, :] + texture[..., None])
        if fade_frames:
            before = sum(length for length, _ in shots[:-1])
            start = before - fade_frames
            last = pictures[before]
            for step in range(fade_frames):
                weight = (step + 1) / (fade_frames + 1)
                pictures[start + step] = (1 - weight) * pictures[start + step] + weight * last
        for flash in flashes:
            pictures[flash] = np.full_like(pictures[flash], 255.0)
        for index, picture in enumerate(pictures):
            noisy = picture + rng.normal(0.0, noise, picture.shape)
            rgb = np.clip(noisy, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
