"""Clips shared by the video tests: written once per session (encoding is the slow part)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.core.video.clips import write_numbered_clip, x264_available

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("video clips")


@pytest.fixture(scope="session")
def h264_clip(clip_dir: Path) -> Path:
    """24 fps, 3 s, H.264 with 3 B-frames and a keyframe every 12 frames, in MP4 (edit list)."""
    codec = "libx264" if x264_available() else "mpeg4"
    return write_numbered_clip(clip_dir / "shot 010 h264.mp4", frames=72, fps=24, codec=codec)


@pytest.fixture(scope="session")
def offset_ts_clip(clip_dir: Path) -> Path:
    """25 fps, 2.4 s, MPEG-TS starting at a non-zero time, with no frame count in its header."""
    codec = "libx264" if x264_available() else "mpeg4"
    return write_numbered_clip(
        clip_dir / "offset.ts", frames=60, fps=25, codec=codec, container_format="mpegts", first_pts=40
    )


@pytest.fixture(scope="session")
def offset_mkv_clip(clip_dir: Path) -> Path:
    """25 fps MPEG-4 Part 2 in Matroska whose first frame is at 0.68 s."""
    return write_numbered_clip(
        clip_dir / "offset.mkv", frames=50, fps=25, codec="mpeg4", container_format="matroska", first_pts=17
    )
