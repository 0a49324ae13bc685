"""Probing and decoding every image format the ingest accepts, and thumbnails made from them."""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING

import cv2
import numpy as np
import OpenEXR
import pytest
from PIL import Image

from core.media.decode import composite_on_checkerboard, load_image_rgba
from core.media.kinds import AssetKind
from core.media.probe import probe
from core.media.thumbnails import make_thumbnail, thumbnail_path
from tests.core.media.conftest import gradient_bgr, write_image

if TYPE_CHECKING:
    from pathlib import Path

    from core.media.limits import MediaLimits


def write_exr(path: Path, rgb: np.ndarray, alpha: np.ndarray | None = None) -> Path:
    channels = {"RGB": rgb.astype(np.float32)}
    if alpha is not None:
        channels = {"RGBA": np.dstack([rgb, alpha]).astype(np.float32)}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, channels).write(str(path))
    return path


def write_psd(path: Path, rgb: np.ndarray) -> Path:
    """Minimal flattened RGB Photoshop file (Pillow reads PSD but cannot write it)."""
    height, width = rgb.shape[:2]
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, 8, 3)
    sections = struct.pack(">III", 0, 0, 0)  # colour mode data, resources, layers: all empty
    planes = b"".join(np.ascontiguousarray(rgb[:, :, c]).tobytes() for c in range(3))
    path.write_bytes(header + sections + struct.pack(">H", 0) + planes)
    return path


def test_png_probe_reports_size_depth_alpha(media_dir: Path, limits: MediaLimits) -> None:
    rgba = np.dstack([gradient_bgr(80, 40), np.full((40, 80), 128, np.uint8)])
    path = write_image(media_dir / "alpha.png", rgba)
    meta = probe(path, AssetKind.IMAGE, limits)
    assert meta["format"] == "PNG"
    assert (meta["width"], meta["height"], meta["channels"]) == (80, 40, 4)
    assert meta["has_alpha"] is True
    assert meta["bit_depth"] == 8
    assert meta["size_bytes"] == path.stat().st_size
    json.dumps(meta)  # stored in the catalog as JSON


def test_sixteen_bit_png_probes_as_16_and_decodes_to_8_bit(media_dir: Path, limits: MediaLimits) -> None:
    wide = (gradient_bgr().astype(np.uint16) * 257).astype(np.uint16)
    path = write_image(media_dir / "deep.png", wide)
    assert probe(path, AssetKind.IMAGE, limits)["bit_depth"] == 16
    decoded = load_image_rgba(path, limits)
    assert decoded.dtype == np.uint8
    # RGB order: the red ramp (BGR channel 2) runs left to right.
    assert decoded[0, -1, 0] == 255
    assert decoded[0, 0, 0] == 0
    assert decoded[5, 5, 2] == 96


def test_jpeg_exif_subset(media_dir: Path, limits: MediaLimits) -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS R5"
    exif[0x0132] = "2024:05:01 10:00:00"
    sub = exif.get_ifd(0x8769)
    sub[0xA434] = "RF24-70mm F2.8 L IS USM"
    sub[0x8827] = 400
    sub[0x829A] = 0.008
    path = media_dir / "photo.jpg"
    Image.fromarray(gradient_bgr()[:, :, ::-1]).save(path, exif=exif, quality=90)
    meta = probe(path, AssetKind.IMAGE, limits)
    assert meta["exif"]["camera"] == "Canon EOS R5"
    assert meta["exif"]["lens"] == "RF24-70mm F2.8 L IS USM"
    assert meta["exif"]["iso"] == 400
    assert meta["exif"]["exposure"] == "1/125"
    assert meta["exif"]["date"] == "2024:05:01 10:00:00"


@pytest.mark.parametrize("suffix", [".tif", ".webp", ".bmp", ".tga", ".gif", ".psd"])
def test_other_formats_decode_with_right_colours(media_dir: Path, limits: MediaLimits, suffix: str) -> None:
    bgr = gradient_bgr(64, 48)
    path = media_dir / f"card{suffix}"
    if suffix in (".tga", ".gif"):
        Image.fromarray(bgr[:, :, ::-1]).save(path)
    elif suffix == ".psd":
        write_psd(path, bgr[:, :, ::-1])
    else:
        write_image(path, bgr, [cv2.IMWRITE_WEBP_QUALITY, 101] if suffix == ".webp" else None)
    meta = probe(path, AssetKind.IMAGE, limits)
    assert (meta["width"], meta["height"]) == (64, 48)
    rgb = load_image_rgba(path, limits)
    assert rgb.shape == (48, 64, 3)
    tolerance = 40 if suffix == ".gif" else 6  # GIF is palettised
    assert abs(int(rgb[24, 60, 0]) - int(bgr[24, 60, 2])) <= tolerance  # red ramp in channel 0
    assert abs(int(rgb[24, 60, 2]) - 96) <= tolerance


def test_exr_probe_and_tonemapped_thumbnail_is_neither_black_nor_white(
    media_dir: Path, tmp_path: Path, limits: MediaLimits
) -> None:
    linear = np.zeros((60, 90, 3), np.float32)
    linear[:, :, 0] = np.linspace(0.0, 8.0, 90)[None, :]  # includes highlights far above 1.0
    linear[:, :, 1] = 0.18
    linear[0, 0] = (np.nan, np.inf, -5.0)  # a few broken pixels must not spoil the picture
    path = write_exr(media_dir / "plate.exr", linear)
    meta = probe(path, AssetKind.IMAGE, limits)
    assert (meta["format"], meta["width"], meta["height"]) == ("EXR", 90, 60)
    assert meta["color_space"] == "linear"
    assert meta["bit_depth"] == 32
    assert meta["channel_names"] == ["B", "G", "R"]
    result = make_thumbnail(path, AssetKind.IMAGE, tmp_path / "thumbs", "ab" * 16, 64, limits)
    assert (result.width, result.height, result.source) == (64, 43, "exr-tonemapped")
    pixels = cv2.imread(str(result.path))
    assert 40 < pixels.mean() < 215
    assert pixels[:, -3:, 2].mean() > pixels[:, :3, 2].mean() + 100  # the ramp survives


def test_radiance_hdr_is_tonemapped(media_dir: Path, limits: MediaLimits) -> None:
    linear = np.full((30, 40, 3), 0.5, np.float32)
    path = media_dir / "sky.hdr"
    assert cv2.imwrite(str(path), linear)
    assert probe(path, AssetKind.IMAGE, limits)["width"] == 40
    rgb = load_image_rgba(path, limits)
    assert rgb.shape == (30, 40, 3)
    assert 120 < rgb.mean() < 200  # 0.5 -> Reinhard 0.33 -> sRGB ~155


def test_thumbnail_keeps_aspect_and_reuses_the_cached_file(
    media_dir: Path, tmp_path: Path, limits: MediaLimits
) -> None:
    path = write_image(media_dir / "wide photo.jpg", gradient_bgr(1600, 900))
    thumbs = tmp_path / "thumbs"
    first = make_thumbnail(path, AssetKind.IMAGE, thumbs, "cd" * 16, 256, limits)
    assert first.path == thumbnail_path(thumbs, "cd" * 16, 256) == thumbs / "cd" / f"{'cd' * 16}_256.jpg"
    assert (first.width, first.height, first.placeholder) == (256, 144, False)
    assert first.source == "jpeg-reduced-4"
    assert cv2.imread(str(first.path)).shape == (144, 256, 3)
    path.unlink()  # a cached thumbnail needs no source file at all
    again = make_thumbnail(path, AssetKind.IMAGE, thumbs, "cd" * 16, 256, limits)
    assert again == first
    assert not list(thumbs.rglob("*.tmp"))


def test_alpha_is_shown_on_a_checkerboard(media_dir: Path, tmp_path: Path, limits: MediaLimits) -> None:
    transparent = np.zeros((64, 64, 4), np.uint8)  # fully transparent
    path = write_image(media_dir / "cutout.png", transparent)
    result = make_thumbnail(path, AssetKind.IMAGE, tmp_path, "ef" * 16, 64, limits)
    pixels = cv2.imread(str(result.path), cv2.IMREAD_GRAYSCALE).astype(int)
    # Two alternating greys, not black: light and dark cells differ clearly.
    assert pixels.min() > 120
    assert pixels.max() - pixels.min() > 30


def test_composite_on_checkerboard_blends_by_alpha() -> None:
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 255
    assert (composite_on_checkerboard(rgba)[..., 0] == 255).all()
    rgba[..., 3] = 0
    board = composite_on_checkerboard(rgba, cell=8)
    assert board.shape == (16, 16, 3)
    assert board[0, 0, 1] != board[0, 8, 1]


def test_load_image_max_side(media_dir: Path, limits: MediaLimits) -> None:
    path = write_image(media_dir / "big.png", gradient_bgr(1000, 500))
    assert load_image_rgba(path, limits, max_side=100).shape == (50, 100, 3)


def test_many_workers_making_the_same_thumbnail_at_once(
    media_dir: Path, tmp_path: Path, limits: MediaLimits
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = write_image(media_dir / "shared.jpg", gradient_bgr(640, 480))
    thumbs = tmp_path / "thumbs"

    def make(_: int) -> tuple[int, int]:
        result = make_thumbnail(path, AssetKind.IMAGE, thumbs, "77" * 16, 96, limits)
        return result.width, result.height

    with ThreadPoolExecutor(8) as pool:
        sizes = set(pool.map(make, range(16)))
    assert sizes == {(96, 72)}
    assert [p.name for p in thumbs.rglob("*") if p.is_file()] == [f"{'77' * 16}_96.jpg"]


def test_camera_orientation_is_applied_to_thumbnails(
    media_dir: Path, tmp_path: Path, limits: MediaLimits
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise: a portrait shot
    path = media_dir / "portrait.jpg"
    Image.fromarray(gradient_bgr(800, 400)[:, :, ::-1]).save(path, exif=exif)
    meta = probe(path, AssetKind.IMAGE, limits)
    assert (meta["width"], meta["height"], meta["exif"]["orientation"]) == (800, 400, 6)
    result = make_thumbnail(path, AssetKind.IMAGE, tmp_path, "66" * 16, 100, limits)
    assert (result.width, result.height) == (50, 100)


def test_dpx_is_catalogued_with_a_placeholder(media_dir: Path, tmp_path: Path, limits: MediaLimits) -> None:
    from core.media.kinds import detect_kind

    header = bytearray(2048)
    header[0:4] = b"SDPX"
    header[772:780] = struct.pack(">II", 2048, 1556)  # pixels per line, lines per element
    path = media_dir / "scan.0001.dpx"
    path.write_bytes(bytes(header))
    assert detect_kind(path) is AssetKind.IMAGE
    meta = probe(path, AssetKind.IMAGE, limits)
    assert (meta["format"], meta["width"], meta["height"]) == ("DPX", 2048, 1556)
    result = make_thumbnail(path, AssetKind.IMAGE, tmp_path, "55" * 16, 64, limits)
    assert (result.placeholder, result.source) == (True, "image-placeholder")


def test_half_float_exr_looks_up_the_same_bytes_as_the_float_tone_map(media_dir: Path) -> None:
    from core.media.decode import _exr_float, _load_exr, tonemap_to_srgb

    rng = np.random.default_rng(7)
    rgb = (rng.standard_normal((40, 56, 3)) * 8.0).astype(np.float16)  # negatives and over-range too
    rgb[0, :4] = [[np.nan, np.inf, -np.inf], [0.0, 1e-7, 65504.0], [0.18, 1.0, 2.5], [-0.0, 6e-5, 7.0]]
    alpha = rng.uniform(-0.5, 1.5, (40, 56, 1)).astype(np.float16)
    alpha[0, 0] = np.nan
    path = media_dir / "half.exr"
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {"RGBA": np.dstack([rgb, alpha])}).write(str(path))

    looked_up = _load_exr(path, None)
    computed = tonemap_to_srgb(_exr_float(path, None))
    assert looked_up.dtype == np.uint8
    assert looked_up.shape == (40, 56, 4)
    np.testing.assert_array_equal(looked_up, computed)
    np.testing.assert_array_equal(_load_exr(path, 10), tonemap_to_srgb(_exr_float(path, 10)))
