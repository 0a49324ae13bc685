"""The classical classifier on generated images whose right answer is known."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from core.ai import classify as c
from core.ai.classify import ClassifyHints, classify_classical
from tests.core.ai import imagegen

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (imagegen.normal_map, c.NORMAL_MAP),
        (imagegen.grey_mask, c.ROUGHNESS_OR_MASK),
        (imagegen.albedo_texture, c.ALBEDO),
        (imagegen.photo_scene, c.PHOTOGRAPH),
        (imagegen.cg_render, c.CG_RENDER),
        (imagegen.document_page, c.DOCUMENT_SCAN),
        (imagegen.line_art, c.LINE_ART),
        (imagegen.ui_screenshot, c.UI_SCREENSHOT),
    ],
)
def test_generated_image_gets_its_category(make: Callable[[], np.ndarray], expected: str) -> None:
    result = classify_classical(make())
    assert result.top == expected, result.categories
    assert result.path == "classical"
    assert result.model is None
    assert result.categories[0][1] >= 0.4
    confidences = [conf for _, conf in result.categories]
    assert confidences == sorted(confidences, reverse=True)
    assert len(result.categories) <= c.TOP_K


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_photo_like_scenes_are_not_textures(seed: int) -> None:
    result = classify_classical(imagegen.photo_scene(seed, 480, 360))
    assert result.top == c.PHOTOGRAPH
    assert not result.top.startswith("texture/")


def test_float_hdr_two_to_one_is_a_panorama() -> None:
    radiance = imagegen.hdr_panorama_float()
    hints = ClassifyHints(is_float_hdr=True)
    result = classify_classical(imagegen.tonemap(radiance), hints)
    assert result.top == c.HDR_PANORAMA
    # The same pixels without the float hint and in a 4:3 frame are not called a panorama.
    plain = classify_classical(imagegen.tonemap(radiance)[:, :340])
    assert plain.top != c.HDR_PANORAMA


def test_geometry_render_is_a_3d_model() -> None:
    result = classify_classical(imagegen.cg_render(), ClassifyHints(source_kind="geometry"))
    names = [name for name, _ in result.categories]
    assert names[0] == c.MODEL_RENDER
    assert c.CG_RENDER in names


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1, 3), np.uint8),
        np.full((5, 700, 3), 255, np.uint8),
        np.zeros((64, 64), np.uint16),
        np.random.default_rng(0).random((32, 48, 4)).astype(np.float32),
    ],
)
def test_odd_inputs_do_not_crash(image: np.ndarray) -> None:
    result = classify_classical(image)
    assert result.categories
    assert all(0.0 <= conf <= 1.0 for _, conf in result.categories)


def test_bad_shape_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="expected an H×W×C image"):
        classify_classical(np.zeros((4, 4, 4, 4), np.uint8))
