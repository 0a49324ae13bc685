"""The ``filmstrip`` and ``scene_cuts`` job steps: outputs, progress, cancel, bad files, catalog."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.jobs.steps import AssetRef, CancelToken, InvalidInputError, JobCancelledError, Progress, StepContext
from core.paths import AppPaths
from core.settings import Settings
from core.video.steps import filmstrip_step, record_video_output, scene_cuts_step
from tests.core.video.clips import numbered_frame, read_number, write_numbered_clip, write_shots_clip

if TYPE_CHECKING:
    from collections.abc import Generator


def run_step(gen: Generator[Progress, None, dict[str, Any]]) -> tuple[list[Progress], dict[str, Any]]:
    progress: list[Progress] = []
    while True:
        try:
            progress.append(next(gen))
        except StopIteration as stop:
            return progress, stop.value


def context(asset: AssetRef, **params: Any) -> StepContext:
    return StepContext(
        asset=asset,
        paths=AppPaths.resolve().ensure(),
        settings=Settings(),
        cancel=CancelToken(),
        params=params,
    )


def video_asset(path: Path, asset_id: int = 3) -> AssetRef:
    return AssetRef(id=asset_id, path=path, kind="video", content_hash="ab" * 16)


def test_filmstrip_step_writes_a_jpeg_artifact(h264_clip: Path) -> None:
    ctx = context(video_asset(h264_clip), count=4, height=48)
    progress, out = run_step(filmstrip_step(ctx))
    path = Path(out["path"])
    assert path.parent.parent == ctx.paths.artifact_dir
    assert path.name == f"{'ab' * 16}_filmstrip_4x48.jpg"
    assert out["frames"] == [9, 27, 45, 63]
    assert (out["count"], out["cell_width"], out["cell_height"]) == (4, 64, 48)
    strip = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert [read_number(strip[:, i * 64 : (i + 1) * 64]) for i in range(4)] == out["frames"]
    assert progress[0].fraction == 0.0
    assert progress[-1].fraction == pytest.approx(1.0)
    assert ctx.device == "cpu"


def test_scene_cuts_step_reports_cuts_frame_count_and_fps(tmp_path: Path) -> None:
    clip = write_shots_clip(tmp_path / "edit.mp4", [(30, (200, 40, 40)), (30, (40, 60, 220))], fps=25)
    progress, out = run_step(scene_cuts_step(context(video_asset(clip))))
    assert out == {"cuts": [30], "frame_count": 60, "fps": 25.0}
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions)
    assert len(progress) >= 4  # progress arrives while decoding, not only at the ends


def test_steps_work_on_sequence_assets(tmp_path: Path) -> None:
    frames = []
    for index in range(24):
        frames.append(tmp_path / f"comp.{index + 101:04d}.png")
        assert cv2.imwrite(str(frames[-1]), cv2.cvtColor(numbered_frame(index), cv2.COLOR_RGB2BGR))
    asset = AssetRef(
        id=9,
        path=frames[0],
        kind="sequence",
        content_hash="cd" * 16,
        metadata={"fps": 12.0},
        frames=tuple(frames),
    )
    _, strip = run_step(filmstrip_step(context(asset, count=3, height=48)))
    assert strip["frames"] == [4, 12, 20]
    _, cuts = run_step(scene_cuts_step(context(asset)))
    assert cuts["frame_count"] == 24
    assert cuts["fps"] == 12.0


def test_truncated_video_fails_with_a_clear_message(tmp_path: Path) -> None:
    path = write_numbered_clip(tmp_path / "fast.mp4", frames=96, container_options={"movflags": "faststart"})
    data = path.read_bytes()
    cut = tmp_path / "dailies_cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInputError, match=r"dailies_cut\.mp4 .*truncated"):
        run_step(scene_cuts_step(context(video_asset(cut))))
    with pytest.raises(InvalidInputError, match=r"dailies_cut\.mp4 .*truncated"):
        run_step(filmstrip_step(context(video_asset(cut))))
    junk = tmp_path / "not a video.mov"
    junk.write_bytes(b"\x00\x00\x00\x14ftypqt  " + bytes(2000))
    with pytest.raises(InvalidInputError, match=r"not a video\.mov is not a playable video"):
        run_step(filmstrip_step(context(video_asset(junk))))


def test_steps_refuse_other_kinds(h264_clip: Path) -> None:
    image = AssetRef(id=1, path=h264_clip, kind="image", content_hash="ef" * 16)
    with pytest.raises(InvalidInputError, match="not a video"):
        run_step(scene_cuts_step(context(image)))


def test_scene_cuts_step_stops_when_cancelled(h264_clip: Path) -> None:
    ctx = context(video_asset(h264_clip))
    steps = scene_cuts_step(ctx)
    next(steps)
    next(steps)
    ctx.cancel.cancel()
    with pytest.raises(JobCancelledError):
        next(steps)


def test_outputs_land_on_the_asset_in_the_catalog(h264_clip: Path, tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.db")
    try:
        project = catalog.create_project("Review")
        ids = catalog.add_assets([
            NewAsset(project.id, h264_clip.name, str(h264_clip), "video", "ab" * 16, 1000,
                     metadata={"frames": 70, "frames_estimated": True}),
        ])  # fmt: skip
        asset_id = ids["ab" * 16]
        _, strip = run_step(filmstrip_step(context(video_asset(h264_clip, asset_id))))
        assert record_video_output(catalog, asset_id, "filmstrip", strip)
        cut_out = {"cuts": [24, 48], "frame_count": 72, "fps": 24.0}
        assert record_video_output(catalog, asset_id, "scene_cuts", cut_out)
        assert not record_video_output(catalog, asset_id, "thumbnail", {})
        record = catalog.get_asset(asset_id)
        assert record is not None
        assert record.metadata["scene_cuts"] == [24, 48]
        assert (record.metadata["frames"], record.metadata["frames_estimated"]) == (72, False)
        assert record.metadata["filmstrip"]["frames"] == strip["frames"]
        artifacts = catalog.artifacts(asset_id, "filmstrip")
        assert [a.path for a in artifacts] == [strip["path"]]
    finally:
        catalog.close()


def test_filmstrip_of_a_black_clip_is_black(tmp_path: Path) -> None:
    clip = write_shots_clip(tmp_path / "black.mp4", [(12, (0, 0, 0))], noise=0.0)
    _, out = run_step(filmstrip_step(context(video_asset(clip), count=3, height=24)))
    strip = cv2.imread(out["path"])
    assert strip.shape == (24, 96, 3)
    assert float(np.mean(strip)) < 25
