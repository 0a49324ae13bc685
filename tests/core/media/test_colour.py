"""Colour for review: float files read unclipped, exposure, channel views, OCIO transforms, input guess."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from core.media.colour import (
    BUILTIN_CONFIG,
    Channel,
    ColourView,
    apply_exposure,
    config_choices,
    config_source,
    default_view,
    display_values,
    guess_input_space,
    isolate_channel,
    render_display,
)
from core.media.decode import FloatImage, load_image_float
from tests.core.media.test_images import write_exr

if TYPE_CHECKING:
    from pathlib import Path

    from core.media.limits import MediaLimits

SRGB_DISPLAY = "sRGB - Display"
PLAIN_VIEW = "Video (colorimetric)"  # no tone scale: linear -> the display's encoding only


def _srgb_oetf(linear: float) -> float:
    """IEC 61966-2-1, the sRGB curve as published: an expectation independent of OCIO."""
    return linear * 12.92 if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055


def _image(rgba: list[float], *, is_float: bool = True, fmt: str = "EXR") -> FloatImage:
    return FloatImage(np.array([[rgba]], np.float32), fmt, is_float, {"color_space": "linear"})


def test_float_exr_reads_back_unclipped(media_dir: Path, limits: MediaLimits) -> None:
    linear = np.zeros((20, 30, 3), np.float32)
    linear[:, :, 0] = 12.5  # a specular highlight far above display white
    linear[:, :, 1] = 0.18
    linear[:, :, 2] = -0.01  # out-of-gamut negatives are data too
    image = load_image_float(write_exr(media_dir / "hot.exr", linear), limits)
    assert image.is_float
    assert image.pixels.dtype == np.float32
    assert image.pixels.shape == (20, 30, 4)
    assert image.pixels[5, 5] == pytest.approx([12.5, 0.18, -0.01, 1.0], abs=1e-6)


def test_float32_tiff_reads_back_unclipped(media_dir: Path, limits: MediaLimits) -> None:
    """A single-channel float TIFF (Pillow mode "F", as depth and mask passes are written)."""
    from PIL import Image

    values = np.linspace(0.0, 6.0, 24, dtype=np.float32)[None, :].repeat(16, axis=0)
    path = media_dir / "depth.tif"
    Image.fromarray(values).save(path)
    image = load_image_float(path, limits)
    assert image.is_float
    assert image.pixels[3, -1] == pytest.approx([6.0, 6.0, 6.0, 1.0])
    assert image.pixels[3, 12] == pytest.approx([values[3, 12]] * 3 + [1.0])


def test_float_rgb_tiff_is_probed_from_its_tags_and_read_unclipped(
    media_dir: Path, limits: MediaLimits
) -> None:
    """Pillow opens no float RGB TIFF (as Nuke and tifffile write them): the header is read from the
    TIFF's own tags, so the plate is catalogued, and the pixels come back as stored."""
    from core.media.kinds import AssetKind
    from core.media.probe import probe

    bgr = np.zeros((12, 20, 3), np.float32)
    bgr[:, :, 2] = 5.5  # red, far above display white
    bgr[:, :, 1] = 0.18
    path = media_dir / "plate_lin.tif"
    assert cv2.imwrite(str(path), bgr)
    probed = probe(path, AssetKind.IMAGE, limits)
    assert (probed["format"], probed["width"], probed["height"]) == ("TIFF", 20, 12)
    assert (probed["channels"], probed["bit_depth"], probed["color_space"]) == (3, 32, "linear")
    image = load_image_float(path, limits)
    assert image.is_float
    assert image.pixels[4, 7] == pytest.approx([5.5, 0.18, 0.0, 1.0])


def test_sixteen_bit_png_keeps_its_precision(media_dir: Path, limits: MediaLimits) -> None:
    bgr = np.zeros((8, 8, 3), np.uint16)
    bgr[:, :, 2] = 1000  # red, a level 8 bits cannot hold
    path = media_dir / "deep.png"
    assert cv2.imwrite(str(path), bgr)
    image = load_image_float(path, limits)
    assert not image.is_float
    assert image.pixels[0, 0, 0] == pytest.approx(1000 / 65535)
    assert image.pixels[0, 0, 2] == 0.0


def test_exposure_plus_one_stop_doubles_linear_colour_not_alpha() -> None:
    pixels = np.array([[[0.25, 1.5, 8.0, 0.5]]], np.float32)
    assert apply_exposure(pixels, 1.0)[0, 0] == pytest.approx([0.5, 3.0, 16.0, 0.5])
    assert apply_exposure(pixels, -2.0)[0, 0] == pytest.approx([0.0625, 0.375, 2.0, 0.5])


def test_channel_views_isolate_one_channel_as_grey() -> None:
    pixels = np.array([[[0.2, 0.4, 0.8, 0.5]]], np.float32)
    luma = (0.2126, 0.7152, 0.0722)
    assert isolate_channel(pixels, Channel.R, luma)[0, 0] == pytest.approx([0.2, 0.2, 0.2, 0.5])
    assert isolate_channel(pixels, Channel.B, luma)[0, 0] == pytest.approx([0.8, 0.8, 0.8, 0.5])
    y = 0.2 * 0.2126 + 0.4 * 0.7152 + 0.8 * 0.0722
    assert isolate_channel(pixels, Channel.LUMINANCE, luma)[0, 0] == pytest.approx([y, y, y, 0.5])
    alpha_view = display_values(_image([0.2, 0.4, 0.8, 0.5]), ColourView(channel=Channel.A), BUILTIN_CONFIG)
    assert alpha_view[0, 0] == pytest.approx([0.5, 0.5, 0.5, 1.0])


def test_linear_grey_through_the_srgb_display_follows_the_srgb_curve() -> None:
    view = ColourView(display=SRGB_DISPLAY, view=PLAIN_VIEW, input_space="Linear Rec.709 (sRGB)")
    shown = display_values(_image([0.18, 0.18, 0.18, 1.0]), view, BUILTIN_CONFIG)
    assert shown[0, 0, :3] == pytest.approx([_srgb_oetf(0.18)] * 3, abs=1e-3)
    brighter = display_values(_image([0.18, 0.18, 0.18, 1.0]), replace(view, exposure=1.0), BUILTIN_CONFIG)
    assert brighter[0, 0, 0] == pytest.approx(_srgb_oetf(0.36), abs=1e-3)


def test_srgb_encoded_input_round_trips_through_the_plain_srgb_view() -> None:
    """An 8-bit sRGB file shown on an sRGB display through an untouched view is shown as it is."""
    code = np.array([[[0.1, 0.5, 0.9, 1.0]]], np.float32)
    image = FloatImage(code, "PNG", False, {})
    shown = render_display(image, ColourView(display=SRGB_DISPLAY, view=PLAIN_VIEW), BUILTIN_CONFIG)
    assert shown[0, 0].tolist() == pytest.approx([26, 128, 230, 255], abs=1)


def test_gamma_trim_brightens_mid_tones_after_the_view() -> None:
    view = ColourView(display=SRGB_DISPLAY, view=PLAIN_VIEW, input_space="Linear Rec.709 (sRGB)")
    grey = _image([0.18, 0.18, 0.18, 1.0])
    plain = display_values(grey, view, BUILTIN_CONFIG)[0, 0, 0]
    trimmed = display_values(grey, replace(view, gamma=2.0), BUILTIN_CONFIG)[0, 0, 0]
    assert trimmed == pytest.approx(plain**0.5, abs=1e-4)


def test_the_aces_view_tone_maps_highlights_below_display_white() -> None:
    hot = _image([16.0, 16.0, 16.0, 1.0])
    plain = display_values(hot, ColourView(display=SRGB_DISPLAY, view=PLAIN_VIEW), BUILTIN_CONFIG)
    aces = display_values(hot, ColourView(display=SRGB_DISPLAY), BUILTIN_CONFIG)  # the default view
    assert plain[0, 0, 0] == pytest.approx(1.0)
    assert 0.8 < aces[0, 0, 0] < 1.0


def test_input_space_guess_by_file_type_and_header() -> None:
    assert guess_input_space(BUILTIN_CONFIG, _image([0, 0, 0, 1])) == "Linear Rec.709 (sRGB)"
    assert guess_input_space(BUILTIN_CONFIG, _image([0, 0, 0, 1], fmt="HDR")) == "Linear Rec.709 (sRGB)"
    custom = FloatImage(np.zeros((1, 1, 4), np.float32), "EXR", True,
                        {"color_space": "linear (custom chromaticities)"})  # fmt: skip
    assert guess_input_space(BUILTIN_CONFIG, custom) == "ACEScg"
    assert guess_input_space(BUILTIN_CONFIG, _image([0, 0, 0, 1], is_float=False, fmt="PNG")) == (
        "sRGB Encoded Rec.709 (sRGB)"
    )


def test_config_source_prefers_the_setting_then_ocio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCIO", raising=False)
    assert config_source("") == BUILTIN_CONFIG
    monkeypatch.setenv("OCIO", "/studio/config.ocio")
    assert config_source("") == "/studio/config.ocio"
    assert config_source("/show/config.ocio") == "/show/config.ocio"


def test_builtin_config_offers_displays_views_and_input_spaces() -> None:
    choices = config_choices(BUILTIN_CONFIG)
    assert SRGB_DISPLAY in choices.displays
    assert PLAIN_VIEW in choices.displays[SRGB_DISPLAY]
    assert {"ACEScg", "Linear Rec.709 (sRGB)", "sRGB Encoded Rec.709 (sRGB)"} <= set(choices.input_spaces)


def test_display_referred_pictures_default_to_a_view_without_tone_scale() -> None:
    plate, jpeg = _image([0, 0, 0, 1]), _image([0, 0, 0, 1], is_float=False, fmt="JPEG")
    assert default_view(BUILTIN_CONFIG, SRGB_DISPLAY, jpeg) == PLAIN_VIEW
    assert default_view(BUILTIN_CONFIG, SRGB_DISPLAY, plate).startswith("ACES")
