"""Media generated on the fly: every format the ingest handles, written by real encoders."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from core.media.limits import MediaLimits

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def limits() -> MediaLimits:
    return MediaLimits(max_file_size_bytes=64 << 20, max_image_pixels=50_000_000)


def gradient_bgr(width: int = 64, height: int = 48) -> np.ndarray:
    """A colourful test card: horizontal red ramp, vertical green ramp, constant blue."""
    xs = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    ys = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, axis=1)
    blue = np.full((height, width), 96, dtype=np.float32)
    return np.dstack([blue, ys, xs]).astype(np.uint8)


def write_image(path: Path, image: np.ndarray, params: list[int] | None = None) -> Path:
    """Through imencode + tofile so paths with unicode characters work on every platform."""
    ok, data = cv2.imencode(path.suffix if path.suffix else ".png", image, params or [])
    assert ok
    data.tofile(path)
    return path


def write_video(path: Path, width: int = 64, height: int = 48, seconds: float = 2.0, fps: int = 24) -> Path:
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.gop_size = fps  # a keyframe every second so the poster seek has something to find
        for index in range(round(seconds * fps)):
            frame_bgr = np.zeros((height, width, 3), dtype=np.uint8)
            frame_bgr[:, :, 1] = min(255, 40 + index * 4)  # brightening green: position is visible
            frame = av.VideoFrame.from_ndarray(frame_bgr[:, :, ::-1].copy(), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "media files ünï €"
    folder.mkdir()
    return folder
