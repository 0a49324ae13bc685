from __future__ import annotations

import json
from typing import TYPE_CHECKING

import cv2
import pytest

from core.media.kinds import AssetKind
from core.media.probe import probe
from core.media.thumbnails import make_thumbnail
from core.media.video import poster_frame
from tests.core.media.conftest import write_video

if TYPE_CHECKING:
    from pathlib import Path

    from core.media.limits import MediaLimits


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("video") / "dailies & notes (v2)"
    folder.mkdir()
    return write_video(folder / "shot 010 – take 3.mp4", width=64, height=48, seconds=2.0, fps=24)


def test_probe_reports_stream_facts(clip: Path, limits: MediaLimits) -> None:
    meta = probe(clip, AssetKind.VIDEO, limits)
    assert meta["codec"] == "mpeg4"
    assert (meta["width"], meta["height"]) == (64, 48)
    assert meta["fps"] == 24.0
    assert meta["fps_rational"] == "24/1"
    assert meta["frames"] == 48
    assert meta["duration_s"] == pytest.approx(2.0, abs=0.05)
    assert meta["pix_fmt"] == "yuv420p"
    assert meta["audio"] is False
    json.dumps(meta)


def test_poster_comes_from_about_ten_percent_in(tmp_path: Path) -> None:
    # 4 s at 24 fps, keyframe every second: 10% is 0.4 s, so the poster is the first keyframe...
    long_clip = write_video(tmp_path / "long.mp4", seconds=4.0)
    early = poster_frame(long_clip, 32)
    # ...while asking for 60% lands on the keyframe at 2 s, whose green is clearly brighter.
    later = poster_frame(long_clip, 32, at_fraction=0.6)
    assert early.shape == (24, 32, 3)
    assert later[..., 1].mean() > early[..., 1].mean() + 100


def test_short_clip_falls_back_to_first_frame(tmp_path: Path) -> None:
    short = write_video(tmp_path / "blip.mp4", seconds=0.25)
    frame = poster_frame(short, 256)
    assert frame.shape == (48, 64, 3)  # never enlarged
    assert frame[..., 1].mean() == pytest.approx(40, abs=8)  # green of frame 0


def test_video_thumbnail(clip: Path, tmp_path: Path, limits: MediaLimits) -> None:
    result = make_thumbnail(clip, AssetKind.VIDEO, tmp_path, "12" * 16, 128, limits)
    assert (result.width, result.height, result.source) == (128, 96, "video-poster")
    assert result.placeholder is False
    assert cv2.imread(str(result.path)).shape == (96, 128, 3)
