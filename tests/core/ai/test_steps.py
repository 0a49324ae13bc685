"""The AI job steps run as a runner would run them, on real files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from core.ai.device import DeviceCapabilities, choose_device
from core.ai.inference import InferenceEngine
from core.ai.steps import classify_files, classify_step, enhance_step, focus_crop_step
from core.jobs.steps import AssetRef, CancelToken, InvalidInputError, Progress, StepContext
from core.paths import AppPaths
from core.settings import Settings
from tests.core.ai import imagegen, modelkit

if TYPE_CHECKING:
    from collections.abc import Generator


def _run(step: Any, ctx: StepContext) -> dict[str, Any]:
    generator: Generator[Progress, None, dict[str, Any]] = step(ctx)
    fractions = []
    try:
        while True:
            fractions.append(next(generator).fraction)
    except StopIteration as stop:
        assert fractions == sorted(fractions)
        return stop.value  # type: ignore[no-any-return]


def _write(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _ctx(path: Path, kind: str = "image", **params: Any) -> StepContext:
    paths = AppPaths.resolve().ensure()
    asset = AssetRef(id=7, path=path, kind=kind, content_hash="abc123")
    return StepContext(asset, paths, Settings(), CancelToken(), params=params)


def test_classify_step_on_a_document(tmp_path: Path) -> None:
    ctx = _ctx(_write(tmp_path / "page.png", imagegen.document_page()))
    out = _run(classify_step, ctx)
    assert out["categories"][0]["name"] == "document-scan"
    assert out["path"] == "model:kind-head"  # the shipped head on the subject model's embedding
    assert ctx.device == "cpu"


def test_classify_step_uses_the_shared_engine(tmp_path: Path) -> None:
    model_dir = tmp_path / "models"
    modelkit.write_colour_classifier(model_dir)
    engine = InferenceEngine(choose_device("cpu", DeviceCapabilities("2.13")), model_dir)
    blue = np.zeros((64, 64, 3), np.uint8)
    blue[:, :, 2] = 230
    ctx = _ctx(_write(tmp_path / "blue.png", blue), inference_engine=engine)
    out = _run(classify_step, ctx)
    assert out["categories"][0]["name"] == "blue"
    assert out["path"] == "model:colour-safetensors"
    assert out["model"] == "colour-safetensors"


def test_geometry_needs_its_preview_image(tmp_path: Path) -> None:
    mesh = tmp_path / "chair.obj"
    mesh.write_text("v 0 0 0\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="render must be made"):
        _run(classify_step, _ctx(mesh, kind="geometry"))
    preview = _write(tmp_path / "chair-render.png", imagegen.cg_render())
    out = _run(classify_step, _ctx(mesh, kind="geometry", preview_image=str(preview)))
    assert out["categories"][0]["name"] == "3d-model/render"


def test_classify_step_refuses_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(InvalidInputError):
        _run(classify_step, _ctx(broken))


def test_float_exr_like_hdr_file_is_a_panorama(tmp_path: Path) -> None:
    hdr = tmp_path / "sky.hdr"
    radiance = imagegen.hdr_panorama_float()
    assert cv2.imwrite(str(hdr), cv2.cvtColor(radiance, cv2.COLOR_RGB2BGR))
    out = _run(classify_step, _ctx(hdr))
    assert out["categories"][0]["name"] == "hdr-panorama"


def test_focus_crop_step_writes_a_thumbnail(tmp_path: Path) -> None:
    image, truth = imagegen.salient_object_scene(1, 800, 600)
    ctx = _ctx(_write(tmp_path / "scene.png", image), size=128)
    # A red disc is no ImageNet subject (the model's map is loose around it): the saliency path.
    ctx.settings.disabled_models = ["mobilenet-v2-imagenet"]
    out = _run(focus_crop_step, ctx)
    assert out["method"] == "saliency"
    x, y, w, h = out["box"]
    tx, ty, tw, th = truth
    assert abs((x + w / 2) - (tx + tw / 2)) < 40
    assert abs((y + h / 2) - (ty + th / 2)) < 40
    crop = Path(out["crop"])
    assert crop.parent == ctx.paths.artifact_dir
    assert cv2.imread(str(crop)).shape == (128, 128, 3)


def test_enhance_step_with_the_model_switched_off_runs_the_classical_path(tmp_path: Path) -> None:
    source = _write(tmp_path / "noisy.png", imagegen.photo_scene(8, 160, 120))
    original = source.read_bytes()
    mtime = source.stat().st_mtime_ns
    ctx = _ctx(source)
    ctx.settings.disabled_models = ["realesr-animevideov3-x2"]
    out = _run(enhance_step, ctx)
    result = Path(out["path"])
    assert result != source
    assert result.parent == ctx.paths.artifact_dir
    assert out["method"] == "classical:clahe+denoise+unsharp"
    assert "realesr-animevideov3-x2 is switched off in Preferences" in out["note"]
    assert source.read_bytes() == original
    assert source.stat().st_mtime_ns == mtime
    enhanced = cv2.imread(str(result))
    assert enhanced.shape == (120, 160, 3)
    assert ctx.device == "cpu"


def test_classify_files_batches_and_reports_bad_files(tmp_path: Path) -> None:
    good = [_write(tmp_path / f"{i}.png", imagegen.line_art(i)) for i in range(3)]
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    engine = InferenceEngine(choose_device("cpu", DeviceCapabilities("2.13")), None, batch_size=2)
    outcomes = classify_files([good[0], bad, good[1], good[2]], engine, Settings())
    assert isinstance(outcomes[1], str)
    assert "bad.png" in outcomes[1]
    tops = [o.top for o in outcomes if not isinstance(o, str)]
    assert tops == ["line-art/sketch"] * 3
