"""Filmstrips (what hover-scrub shows) and scene cuts (where shots start), on real encoded clips."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from core.video.filmstrip import cell_at, filmstrip_indices, make_filmstrip, write_jpeg
from core.video.frames import VideoFrameSource
from core.video.scene_cuts import detect_scene_cuts, scan_scene_cuts
from tests.core.video.clips import read_number, write_shots_clip

if TYPE_CHECKING:
    from pathlib import Path

RED, GREEN, BLUE, GREY, DARK = (200, 40, 40), (40, 180, 60), (60, 60, 200), (128, 128, 128), (70, 75, 60)


def test_filmstrip_indices_sit_in_the_middle_of_equal_slices() -> None:
    assert filmstrip_indices(100, 10) == [5, 15, 25, 35, 45, 55, 65, 75, 85, 95]
    assert filmstrip_indices(72, 4) == [9, 27, 45, 63]
    assert filmstrip_indices(3, 10) == [0, 1, 2]  # a short clip shows every frame once
    assert filmstrip_indices(0, 10) == []
    assert [cell_at(x, 4) for x in (0.0, 0.24, 0.25, 0.99, 1.0, -0.5)] == [0, 0, 1, 3, 3, 0]


def test_filmstrip_shows_the_listed_frames_side_by_side(h264_clip: Path, tmp_path: Path) -> None:
    with VideoFrameSource(h264_clip) as clip:
        strip = make_filmstrip(clip, count=6, height=48)
    assert strip.frames == [6, 18, 30, 42, 54, 66]
    assert (strip.cell_width, strip.cell_height) == (64, 48)
    assert strip.image.shape == (48, 6 * 64, 3)
    cells = [strip.image[:, i * 64 : (i + 1) * 64] for i in range(6)]
    assert [read_number(cell) for cell in cells] == strip.frames

    path = write_jpeg(tmp_path / "strips" / "clip_filmstrip.jpg", strip.image)
    decoded = cv2.imread(str(path))
    assert decoded.shape == (48, 384, 3)
    assert not list(path.parent.glob(".*partial"))


def test_filmstrip_cells_keep_the_clip_aspect(h264_clip: Path) -> None:
    with VideoFrameSource(h264_clip) as clip:
        strip = make_filmstrip(clip, count=10, height=90)
    assert (strip.cell_width, strip.cell_height) == (120, 90)  # 64x48 is 4:3
    assert strip.image.shape == (90, 1200, 3)


SHOTS = [(20, RED), (15, GREEN), (25, BLUE), (12, GREY), (18, DARK)]


@pytest.fixture(scope="module")
def shots_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shots_clip(tmp_path_factory.mktemp("cuts") / "edit.mp4", SHOTS, fps=25)


def test_hard_cuts_are_found_on_the_exact_frame(shots_clip: Path) -> None:
    with VideoFrameSource(shots_clip) as clip:
        scanning = scan_scene_cuts(clip)
        done = []
        while True:
            try:
                done.append(next(scanning))
            except StopIteration as finished:
                result = finished.value
                break
    assert result.cuts == [20, 35, 60, 72]
    assert result.frame_count == 90
    assert done[-1] == 90
    assert len(result.scores) == 90


def test_fades_do_not_cut(tmp_path: Path) -> None:
    fade = write_shots_clip(tmp_path / "dissolve.mp4", [(30, RED), (30, BLUE)], fade_frames=12)
    to_black = write_shots_clip(tmp_path / "to black.mp4", [(24, GREY), (24, (0, 0, 0))], fade_frames=12)
    with VideoFrameSource(fade) as clip:
        assert detect_scene_cuts(clip) == []
    with VideoFrameSource(to_black) as clip:
        assert detect_scene_cuts(clip) == []


def test_camera_noise_and_flashes_do_not_cut(tmp_path: Path) -> None:
    noisy = write_shots_clip(tmp_path / "grainy.mp4", [(50, GREY)], noise=20.0)
    with VideoFrameSource(noisy) as clip:
        assert detect_scene_cuts(clip) == []
    # One white frame (lightning) inside a shot, then a real cut: only the cut counts.
    flash = write_shots_clip(tmp_path / "flash.mp4", [(30, DARK), (20, RED)], flashes=[15])
    with VideoFrameSource(flash) as clip:
        assert detect_scene_cuts(clip) == [30]


def test_min_scene_len_merges_cuts_closer_than_it(tmp_path: Path) -> None:
    path = write_shots_clip(tmp_path / "quick.mp4", [(20, RED), (4, GREEN), (20, BLUE)])
    with VideoFrameSource(path) as clip:
        assert detect_scene_cuts(clip, min_scene_len=8) == [20]
    with VideoFrameSource(path) as clip:
        assert detect_scene_cuts(clip, min_scene_len=3) == [20, 24]


def test_sequence_cuts_are_found_too(tmp_path: Path) -> None:
    from core.media.limits import MediaLimits
    from core.video.frames import SequenceFrameSource

    paths = []
    for index in range(30):
        colour = RED if index < 17 else BLUE
        frame = np.full((48, 64, 3), colour[::-1], np.uint8)
        paths.append(tmp_path / f"plate.{index + 1001}.png")
        assert cv2.imwrite(str(paths[-1]), frame)
    limits = MediaLimits(max_file_size_bytes=1 << 20, max_image_pixels=1 << 20)
    with SequenceFrameSource(paths, limits=limits) as clip:
        assert detect_scene_cuts(clip) == [17]
