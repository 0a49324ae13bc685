"""Shot analysis on clips of known content: blur, pan, stillness, cuts, noise, files, the job step."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.video import analysis
from core.video.frames import VideoFrameSource
from core.video.steps import analysis_step, record_video_output
from tests.core.video.clips import write_shots_clip, x264_available
from tests.core.video.test_steps import context, run_step, video_asset

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

SIZE = (240, 160)
PAN = 3  # px per frame, camera panning right


def texture(width: int, height: int, seed: int = 3) -> np.ndarray:
    """A detailed, trackable picture: smoothed random blobs with strong local contrast."""
    rng = np.random.default_rng(seed)
    grey = cv2.GaussianBlur(rng.uniform(0, 255, (height, width)).astype(np.float32), (0, 0), 2.0)
    grey = cv2.normalize(grey, None, 0, 255, cv2.NORM_MINMAX)
    return np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2)


def write_frames(path: Path, frames: Sequence[np.ndarray], fps: int = 24) -> Path:
    import av

    height, width = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264" if x264_available() else "mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = 1 / Fraction(fps)
        stream.options = {"crf": "12"} if x264_available() else {"qscale": "2"}
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def analyse(path: Path, **kwargs: Any) -> analysis.ClipAnalysis:
    with VideoFrameSource(path) as source:
        measuring = analysis.analyse_clip(source, **kwargs)
        while True:
            try:
                next(measuring)
            except StopIteration as done:
                result: analysis.ClipAnalysis = done.value
                return result


def test_blurred_frames_lose_sharpness_and_texture(tmp_path: Path) -> None:
    sharp = texture(*SIZE)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3.0)
    result = analyse(write_frames(tmp_path / "blur.mp4", [sharp] * 12 + [blurred] * 12))
    sharpness = result.metrics["sharpness"]
    assert min(sharpness[2:12]) > 4 * max(sharpness[14:])
    assert np.mean(result.metrics["edges"][:12]) > np.mean(result.metrics["edges"][14:])


def test_a_pan_reports_its_direction_and_speed(tmp_path: Path) -> None:
    wide = texture(SIZE[0] + 30 * PAN, SIZE[1])
    frames = [wide[:, i * PAN : i * PAN + SIZE[0]] for i in range(30)]
    result = analyse(write_frames(tmp_path / "pan.mp4", frames), workers=2)
    assert result.size == SIZE  # smaller than 480 px: measured as is
    assert np.median(result.metrics["camera_x"][1:]) == pytest.approx(PAN, abs=0.3)
    assert np.median(np.abs(result.metrics["camera_y"][1:])) < 0.3
    assert np.median(result.metrics["motion"][1:]) == pytest.approx(PAN, abs=0.8)
    assert result.cuts == []


def test_a_tilt_up_is_negative_y(tmp_path: Path) -> None:
    tall = texture(SIZE[0], SIZE[1] + 20 * PAN)
    frames = [tall[(19 - i) * PAN : (19 - i) * PAN + SIZE[1]] for i in range(20)]
    result = analyse(write_frames(tmp_path / "tilt.mp4", frames))
    assert np.median(result.metrics["camera_y"][1:]) == pytest.approx(-PAN, abs=0.3)


def test_a_static_shot_has_no_motion(tmp_path: Path) -> None:
    result = analyse(write_frames(tmp_path / "static.mp4", [texture(*SIZE)] * 16))
    assert max(result.metrics["motion"]) < 0.05
    assert max(result.metrics["camera"]) < 0.05
    summary = analysis.summarise(result)
    assert len(summary["shots"]) == 1
    assert summary["stats"]["motion"]["max"] < 0.05


def test_large_frames_are_measured_at_480_px(tmp_path: Path) -> None:
    result = analyse(write_frames(tmp_path / "big.mp4", [texture(960, 540)] * 3))
    assert result.size == (480, 270)


def test_shots_split_at_the_cut(tmp_path: Path) -> None:
    clip = write_shots_clip(tmp_path / "cut.mp4", [(16, (200, 60, 40)), (20, (40, 60, 200))])
    result = analyse(clip)
    assert result.cuts == [16]
    summary = analysis.summarise(result)
    assert [(s["start"], s["end"]) for s in summary["shots"]] == [(0, 16), (16, 36)]
    # The jump across the cut is not the second shot's motion.
    assert summary["shots"][1]["stats"]["motion"]["max"] < result.metrics["motion"][16]


def test_noise_raises_the_noise_estimate(tmp_path: Path) -> None:
    shots = [(12, (120, 120, 120))]
    clean = analyse(write_shots_clip(tmp_path / "clean.mp4", shots, noise=1.0))
    noisy = analyse(write_shots_clip(tmp_path / "noisy.mp4", shots, noise=14.0))
    assert np.mean(noisy.metrics["noise"]) > 3 * np.mean(clean.metrics["noise"])


def test_complexity_follows_the_documented_formula() -> None:
    stats = {name: {"mean": 0.0, "std": 0.0, "max": 0.0} for name in analysis.METRICS}
    assert analysis.complexity_score(stats) == 0.0
    stats["motion"]["mean"] = 4.0  # half of saturation: 0.30 * 0.5
    stats["edges"]["mean"] = 1.0  # saturated: 0.20
    assert analysis.complexity_score(stats) == pytest.approx(35.0)


def test_csv_and_json_round_trip(tmp_path: Path) -> None:
    result = analyse(write_shots_clip(tmp_path / "cut.mp4", [(12, (200, 60, 40)), (12, (40, 60, 200))]))
    analysis.write_json(tmp_path / "a.json", result)
    assert analysis.read_json(tmp_path / "a.json") == result
    analysis.write_csv(tmp_path / "a.csv", result)
    assert analysis.read_csv(tmp_path / "a.csv", result.fps, result.size) == result


def test_the_step_stores_the_artifact_and_a_small_summary(tmp_path: Path) -> None:
    clip = write_shots_clip(tmp_path / "cut.mp4", [(12, (200, 60, 40)), (12, (40, 60, 200))])
    catalog = Catalog(tmp_path / "catalog.db")
    try:
        project = catalog.create_project("Review")
        ids = catalog.add_assets([NewAsset(project.id, clip.name, str(clip), "video", "cd" * 16, 1000)])
        asset_id = ids["cd" * 16]
        progress, out = run_step(analysis_step(context(video_asset(clip, asset_id))))
        assert progress[-1].fraction == 1.0
        assert analysis.read_json(tmp_path / out["path"]).cuts == [12]
        assert record_video_output(catalog, asset_id, "analysis", out)
        record = catalog.get_asset(asset_id)
        assert record is not None
        stored = record.metadata["analysis"]
        assert stored["path"] == out["path"]
        assert [(s["start"], s["end"]) for s in stored["shots"]] == [(0, 12), (12, 24)]
        assert "metrics" not in stored  # the per-frame arrays stay in the file
        assert [a.path for a in catalog.artifacts(asset_id, "analysis")] == [out["path"]]
    finally:
        catalog.close()
