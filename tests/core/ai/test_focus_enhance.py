"""Focus crop and enhancement, classical and model paths."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

from core.ai.device import DeviceCapabilities, choose_device
from core.ai.enhance import enhance_image
from core.ai.focus import focus_box, focus_crop
from core.ai.inference import InferenceEngine
from core.ai.models import entry_for_file, write_manifest
from tests.core.ai import imagegen, modelkit

if TYPE_CHECKING:
    from pathlib import Path

CPU = choose_device("cpu", DeviceCapabilities(torch_version=torch.__version__))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / float(aw * ah + bw * bh - inter)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saliency_finds_an_off_centre_object(seed: int) -> None:
    image, truth = imagegen.salient_object_scene(seed)
    result = focus_box(image)
    assert result.method == "saliency"
    assert _overlap(result.box, truth) > 0.4, (result, truth)
    crop = focus_crop(image, result.box, 96)
    assert crop.shape == (96, 96, 3)
    # The red object fills the middle of the thumbnail.
    centre = crop[36:60, 36:60].astype(int)
    assert (centre[:, :, 0] - centre[:, :, 2]).mean() > 100


def test_featureless_image_falls_back_to_centre() -> None:
    flat = np.full((120, 200, 3), 90, np.uint8)
    result = focus_box(flat)
    assert result.method == "center"
    assert result.box == (40, 0, 120, 120)


def test_detector_model_takes_precedence(tmp_path: Path) -> None:
    path = modelkit.save_safetensors(modelkit.detector_for_red(), tmp_path / "red.safetensors")
    entry = entry_for_file(
        path,
        name="red-finder",
        task="detect",
        format="safetensors",
        architecture="tiny-heatmap-detector-v1",
        architecture_params={"width": 2},
        input_size=[128, 96],
        mean=[0, 0, 0],
        std=[1, 1, 1],
    )
    write_manifest(tmp_path, [entry])
    image, truth = imagegen.salient_object_scene(4)
    result = focus_box(image, InferenceEngine(CPU, tmp_path))
    assert result.method == "detector:red-finder"
    assert _overlap(result.box, truth) > 0.3, (result, truth)


def test_focus_crop_of_box_at_the_border_stays_inside() -> None:
    image = np.zeros((100, 300, 3), np.uint8)
    crop = focus_crop(image, (290, 90, 10, 10), 64)
    assert crop.shape == (64, 64, 3)


def test_classical_enhance_changes_image_and_keeps_input() -> None:
    image = imagegen.photo_scene(5, 200, 150)
    before = image.copy()
    result = enhance_image(image)
    assert result.method == "classical:clahe+denoise+unsharp"
    assert result.image.shape == image.shape
    assert np.array_equal(image, before), "the input array is never modified"
    assert np.abs(result.image.astype(int) - image).mean() > 1.0


def test_classical_enhance_skips_denoise_over_the_cap() -> None:
    image = imagegen.photo_scene(5, 200, 150)
    result = enhance_image(image, max_denoise_pixels=1000)
    assert result.method == "classical:clahe+unsharp"
    assert "denoise skipped" in result.note


@pytest.mark.parametrize("fmt", ["safetensors", "torchscript"])
def test_model_enhance_upscales(tmp_path: Path, fmt: str) -> None:
    module = modelkit.espcn()
    if fmt == "safetensors":
        path = modelkit.save_safetensors(module, tmp_path / "sr.safetensors")
        extra = {"architecture": "tiny-espcn-v1", "architecture_params": {"scale": 2, "width": 8}}
    else:
        path = modelkit.save_torchscript(module, tmp_path / "sr.pt", torch.zeros(1, 3, 32, 32))
        extra = {}
    entry = entry_for_file(
        path, name="sr", task="enhance", format=fmt, mean=[0, 0, 0], std=[1, 1, 1], **extra
    )
    write_manifest(tmp_path, [entry])
    # Bigger than one tile so the tiled path and its seams are exercised.
    image = imagegen.photo_scene(6, 300, 270)
    result = enhance_image(image, InferenceEngine(CPU, tmp_path))
    assert result.method == "model:sr"
    assert result.scale == 2
    assert result.image.shape == (540, 600, 3)
    # Downscaled back it is close to the input: a super-resolution, not noise.
    import cv2

    back = cv2.resize(result.image, (300, 270), interpolation=cv2.INTER_AREA)
    assert np.abs(back.astype(int) - image).mean() < 8.0
