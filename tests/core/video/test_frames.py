"""Frame-accurate decoding: every frame carries its number, so a wrong frame cannot pass."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from core.media.errors import InvalidMediaError, UnreadableMediaError
from core.media.limits import MediaLimits
from core.video.frames import FrameSource, SequenceFrameSource, VideoFrameSource, open_frame_source
from tests.core.video.clips import numbered_frame, read_number, write_numbered_clip, x264_available

if TYPE_CHECKING:
    from pathlib import Path

CLIPS = ("h264_clip", "offset_ts_clip", "offset_mkv_clip")


AV_PICTURE_TYPE_B = 3  # libavutil's AVPictureType, which PyAV 18 hands out as a plain int


def _picture_types(path: Path) -> set[int]:
    import av

    with av.open(str(path)) as container:
        return {int(frame.pict_type) for frame in container.decode(video=0)}


def _first_pts(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return int(frame.pts)


@pytest.mark.parametrize("clip_name", CLIPS)
def test_frame_at_returns_exactly_the_asked_frame_in_any_order(
    clip_name: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(clip_name)
    with VideoFrameSource(path) as clip:
        order = list(range(clip.frame_count))
        random.Random(clip_name).shuffle(order)
        # Random jumps, then the hard cases: the last frame, backwards steps, a forward crawl.
        wanted = [*order[:30], clip.frame_count - 1, 0, 13, 12, 11, 10, 30, 31, 32, clip.frame_count - 2]
        got = [read_number(clip.frame_at(index)) for index in wanted]
    assert got == wanted


@pytest.mark.skipif(not x264_available(), reason="needs libx264 for B-frames")
def test_h264_clip_really_has_b_frames(h264_clip: Path) -> None:
    assert AV_PICTURE_TYPE_B in _picture_types(h264_clip)


def test_offset_clips_really_start_late(offset_ts_clip: Path, offset_mkv_clip: Path) -> None:
    assert _first_pts(offset_ts_clip) > 0
    assert _first_pts(offset_mkv_clip) > 0


@pytest.mark.parametrize(("clip_name", "frames", "fps"), [
    ("h264_clip", 72, 24), ("offset_ts_clip", 60, 25), ("offset_mkv_clip", 50, 25),
])  # fmt: skip
def test_frame_count_fps_and_size_are_exact(
    clip_name: str, frames: int, fps: int, request: pytest.FixtureRequest
) -> None:
    with VideoFrameSource(request.getfixturevalue(clip_name)) as clip:
        assert clip.frame_count == frames
        assert clip.fps == Fraction(fps)
        assert (clip.width, clip.height) == (64, 48)
        assert clip.duration == pytest.approx(frames / fps)
        assert isinstance(clip, FrameSource)


def test_iter_frames_plays_on_from_any_frame(offset_ts_clip: Path) -> None:
    with VideoFrameSource(offset_ts_clip) as clip:
        clip.frame_at(50)  # the decoder is elsewhere when iteration starts
        numbers = [(index, read_number(rgb)) for index, rgb in clip.iter_frames(7)]
    assert numbers == [(i, i) for i in range(7, 60)]


def test_max_side_shrinks_keeping_aspect(h264_clip: Path) -> None:
    with VideoFrameSource(h264_clip) as clip:
        small = clip.frame_at(37, max_side=32)
        full = clip.frame_at(37)
    assert small.shape == (24, 32, 3)
    assert full.shape == (48, 64, 3)
    assert small.dtype == np.uint8
    assert read_number(small) == 37


def test_frames_outside_the_clip_are_refused(h264_clip: Path) -> None:
    with VideoFrameSource(h264_clip) as clip, pytest.raises(IndexError, match="outside the clip"):
        clip.frame_at(72)


def test_timecode_tag_gives_the_start_timecode(clip_dir: Path) -> None:
    path = write_numbered_clip(clip_dir / "tc.mov", frames=12, codec="mpeg4", timecode="01:00:00:00")
    with VideoFrameSource(path) as clip:
        assert clip.timecode_start == 24 * 3600


def test_video_without_index_at_the_end_fails_clearly(h264_clip: Path, tmp_path: Path) -> None:
    data = h264_clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: data.find(b"moov") - 4])  # PyAV writes the index (moov) last
    with pytest.raises(InvalidMediaError, match=r"cut\.mp4 is not a playable video"):
        VideoFrameSource(cut)


def test_truncated_video_fails_at_the_missing_frames(tmp_path: Path) -> None:
    path = write_numbered_clip(tmp_path / "fast.mp4", frames=96, container_options={"movflags": "faststart"})
    data = path.read_bytes()
    cut = tmp_path / "half.mp4"
    cut.write_bytes(data[: len(data) // 2])  # the header (first) promises 96 frames; half are gone
    with VideoFrameSource(cut) as clip:
        assert read_number(clip.frame_at(5)) == 5
        with pytest.raises(InvalidMediaError, match=r"half.mp4 ends before frame 90 of 96 \(truncated"):
            clip.frame_at(90)


def test_missing_and_empty_files_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(UnreadableMediaError, match="no longer exists"):
        VideoFrameSource(tmp_path / "gone.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(InvalidMediaError, match=r"empty\.mp4 is not a playable video"):
        VideoFrameSource(tmp_path / "empty.mp4")


@pytest.fixture
def png_sequence(tmp_path: Path) -> list[Path]:
    paths = []
    for number in range(1001, 1031):
        path = tmp_path / f"shot.{number:04d}.png"
        bgr = cv2.cvtColor(numbered_frame(number - 1001), cv2.COLOR_RGB2BGR)
        assert cv2.imwrite(str(path), bgr)
        paths.append(path)
    return paths


@pytest.fixture
def limits() -> MediaLimits:
    return MediaLimits(max_file_size_bytes=64 << 20, max_image_pixels=50_000_000)


def test_image_sequence_plays_as_one_clip(png_sequence: list[Path], limits: MediaLimits) -> None:
    clip = open_frame_source(png_sequence[0], frames=png_sequence, fps=25, limits=limits)
    with clip:
        assert isinstance(clip, SequenceFrameSource)
        assert (clip.frame_count, clip.fps, clip.width, clip.height) == (30, Fraction(25), 64, 48)
        assert clip.duration == pytest.approx(1.2)
        assert [read_number(clip.frame_at(i)) for i in (29, 0, 17)] == [29, 0, 17]
        assert [read_number(rgb) for _, rgb in clip.iter_frames(25)] == [25, 26, 27, 28, 29]
        assert clip.frame_at(3, max_side=32).shape == (24, 32, 3)


def test_exr_sequence_frames_are_tone_mapped(tmp_path: Path, limits: MediaLimits) -> None:
    import OpenEXR

    paths = []
    for index in range(3):
        linear = numbered_frame(index).astype(np.float32) / 255.0 * 4.0  # HDR: white is 4.0
        path = tmp_path / f"beauty.{index:04d}.exr"
        OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, {"RGB": linear}).write(str(path))
        paths.append(path)
    with SequenceFrameSource(paths, fps=24, limits=limits) as clip:
        frames = [clip.frame_at(i) for i in range(3)]
    assert [read_number(rgb) for rgb in frames] == [0, 1, 2]
    assert all(rgb.dtype == np.uint8 for rgb in frames)


def test_sequence_with_a_broken_frame_names_it(png_sequence: list[Path], limits: MediaLimits) -> None:
    png_sequence[4].write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with SequenceFrameSource(png_sequence, limits=limits) as clip:
        assert read_number(clip.frame_at(3)) == 3
        with pytest.raises(InvalidMediaError, match=r"shot\.1005\.png"):
            clip.frame_at(4)


def test_empty_sequence_is_refused() -> None:
    with pytest.raises(InvalidMediaError, match="no frames"):
        SequenceFrameSource([])
