"""Render job steps: artifact paths, outputs, device, retry policy, and the doctor report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from core.jobs.steps import (
    AssetRef,
    CancelToken,
    InvalidInputError,
    Progress,
    StepContext,
    StepOutput,
)
from core.paths import AppPaths
from core.render import RenderService, describe_backends
from core.render.steps import render_thumbnail_step, render_turntable_step
from core.settings import Settings
from tests.core.render.image_checks import assert_framed, coverage

if TYPE_CHECKING:
    from collections.abc import Generator

HASH = "ab" + "0" * 30


def _context(source: Path, tmp_path: Path, **params: Any) -> StepContext:
    asset = AssetRef(id=1, path=source, kind="geometry", content_hash=HASH)
    return StepContext(
        asset=asset,
        paths=AppPaths.resolve(tmp_path / "data"),
        settings=Settings(),
        cancel=CancelToken(),
        params=params,
    )


def _drive(
    step: Generator[Progress, None, StepOutput],
) -> tuple[list[Progress], StepOutput]:
    progress: list[Progress] = []
    while True:
        try:
            progress.append(next(step))
        except StopIteration as stop:
            return progress, stop.value


def test_thumbnail_step_writes_artifact_and_sets_device(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    ctx = _context(models["obj_textured"], tmp_path, render_service=render_service, size=128)
    progress, output = _drive(render_thumbnail_step(ctx))
    expected = ctx.paths.artifact_dir / "ab" / f"{HASH}_thumbnail_128.png"
    assert output["path"] == str(expected)
    assert_framed(coverage(expected))
    assert output["backend"] == "pyrender"
    assert output["gl_platform"] in ("egl", "osmesa")
    assert output["gl_renderer"]
    assert output["seconds"] > 0
    assert ctx.device == f"pyrender/{output['gl_platform']}"
    assert progress[0].fraction == 0.0
    assert progress[-1].fraction == 1.0


def test_turntable_step_reports_frame_progress(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    ctx = _context(models["off"], tmp_path, render_service=render_service, size=64, frames=6)
    progress, output = _drive(render_turntable_step(ctx))
    assert output["path"].endswith(f"{HASH}_turntable_64.mp4")
    assert output["frames"] == 6
    assert any("Frame 6/6" in p.message for p in progress)
    fractions = [p.fraction for p in progress]
    assert fractions == sorted(fractions)


def test_invalid_model_is_invalid_input_never_retried(
    hostile_models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    ctx = _context(hostile_models["broken_glb_header"], tmp_path, render_service=render_service)
    with pytest.raises(InvalidInputError, match="broken GLB header"):
        _drive(render_thumbnail_step(ctx))


def test_step_without_a_service_uses_a_short_lived_one(models: dict[str, Path], tmp_path: Path) -> None:
    ctx = _context(models["stl_ascii"], tmp_path, size=64)
    _, output = _drive(render_thumbnail_step(ctx))
    assert Path(output["path"]).is_file()


def test_describe_backends_for_doctor(fake_blender: Path) -> None:
    report = describe_backends(blender_path=str(fake_blender))
    assert report["pyrender"]["available"] is True
    assert report["pyrender"]["gl_platform"] in ("egl", "osmesa")
    assert report["pyrender"]["gl_renderer"]
    assert report["blender"] == {
        "available": True,
        "path": str(fake_blender),
        "version": "Blender 9.9.9 (fake)",
    }
