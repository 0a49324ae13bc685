"""Decode images to 8-bit RGB(A) arrays for thumbnails, and to float RGBA for the colour-managed viewer.

Every path checks dimensions and decoded size from the header first (:func:`read_image_header`), so a
bomb is refused before a byte of pixels is decoded; decodes then wait for room in the process's decode
budget, so parallel threads stay within it together. JPEGs use libjpeg's DCT scaling
(``IMREAD_REDUCED_*``) when only a small image is wanted: decoding at 1/8 size is several times faster
than a full decode.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core.media.errors import InvalidMediaError, UnsupportedMediaError, unreadable
from core.media.limits import DECODE_WORKING_FACTOR, decode_budget
from core.media.probe_image import (
    UNDECODABLE_FORMATS,
    ImageHeader,
    decoded_size,
    pillow,
    read_image_header,
)

if TYPE_CHECKING:
    from pathlib import Path

    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)

_CV2_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "WEBP", "BMP", "HDR"})
_HDR_FORMATS = frozenset({"EXR", "HDR"})


def load_image_rgba(path: Path, limits: MediaLimits, max_side: int | None = None) -> np.ndarray:
    """uint8 HxWx3 (RGB) or HxWx4 (RGBA). With ``max_side`` the longest side is at most that."""
    rgba, _ = load_image_with_source(path, limits, max_side)
    return rgba


def load_image_with_source(
    path: Path, limits: MediaLimits, max_side: int | None = None
) -> tuple[np.ndarray, str]:
    """Like :func:`load_image_rgba`, also naming the decode path taken (for logs and benchmarks)."""
    header = _decodable_header(path, limits)
    with decode_budget(limits).reserve(header.decoded_bytes * DECODE_WORKING_FACTOR):
        return _decode(path, header, max_side)


@dataclass(frozen=True)
class FloatImage:
    """Full-size pixels for colour-managed viewing: float32 HxWx4 RGBA holding the values the file
    stores: scene-linear and unclipped for float files (EXR, HDR, float TIFF), 0..1 code values for
    8/16-bit files (still display-encoded: the input colour space says how)."""

    pixels: np.ndarray
    format: str
    is_float: bool
    details: dict[str, Any] = field(default_factory=dict)  # the header's (color_space, bit_depth...)


def load_image_float(path: Path, limits: MediaLimits) -> FloatImage:
    """Decode at full size to float RGBA without tone mapping or clipping (a missing alpha is 1)."""
    header = _decodable_header(path, limits)
    float_rgba = decoded_size(header.width, header.height, 4, 32)
    with decode_budget(limits).reserve((header.decoded_bytes + float_rgba) * DECODE_WORKING_FACTOR):
        raw, bgr = _decode_unchanged(path, header)
        is_float = bool(np.issubdtype(raw.dtype, np.floating))
        return FloatImage(_unit_float_rgba(raw, bgr=bgr), header.format, is_float, dict(header.details))


def _decodable_header(path: Path, limits: MediaLimits) -> ImageHeader:
    header = read_image_header(path, limits)
    if header.format in UNDECODABLE_FORMATS:
        raise UnsupportedMediaError(
            f"{path.name} is a {header.format} image, which this version cannot decode ({path})", path
        )
    return header


def _decode_unchanged(path: Path, header: ImageHeader) -> tuple[np.ndarray, bool]:
    """The decoded array at its own depth (float, 16-bit...) and whether it is in BGR order."""
    if header.format == "EXR":
        return _exr_float(path, None), False
    if header.format in _CV2_FORMATS and header.format != "JPEG":
        import cv2

        decoded = cv2.imdecode(_read_bytes(path), cv2.IMREAD_UNCHANGED)
        if decoded is not None:
            return np.asarray(decoded), True
    # JPEG, PSD, TGA, GIF... and layouts OpenCV cannot read are 8-bit anyway.
    return _decode(path, header, None)[0], False


def _unit_float_rgba(image: np.ndarray, *, bgr: bool) -> np.ndarray:
    """Any decoded array to float32 HxWx4 RGBA: integers scaled to 0..1, floats kept as they are."""
    if np.issubdtype(image.dtype, np.floating):
        values = image.astype(np.float32, copy=False)
    else:
        values = image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    if values.ndim == 2:
        values = values[:, :, None]
    channels = values.shape[2]
    if channels >= 3 and bgr:
        values = _bgr_to_rgb(values[:, :, :4])
    if channels <= 2:  # grey, or grey + alpha
        grey = values[:, :, :1]
        alpha = values[:, :, 1:2] if channels == 2 else np.ones_like(grey)
        return np.ascontiguousarray(np.concatenate([grey, grey, grey, alpha], axis=2))
    if values.shape[2] == 3:
        values = np.concatenate([values, np.ones_like(values[:, :, :1])], axis=2)
    return np.ascontiguousarray(values[:, :, :4])


def _decode(path: Path, header: ImageHeader, max_side: int | None) -> tuple[np.ndarray, str]:
    if header.format == "EXR":
        image, source = _load_exr(path, max_side), "exr-tonemapped"
    elif header.format in _CV2_FORMATS:
        image, source = _load_with_cv2(path, header, max_side)
    else:
        image, source = _load_with_pillow(path, header), f"pillow-{header.format.lower()}"
    if max_side is not None:
        image = fit_within(image, max_side)
    return image, source


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink so the longest side is ``max_side`` (never enlarges), keeping the aspect ratio."""
    import cv2

    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def _read_bytes(path: Path) -> np.ndarray:
    try:
        return np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise unreadable(path, exc) from exc


def _reduction_flag(header: ImageHeader, max_side: int | None) -> tuple[int, int]:
    """Largest libjpeg scale (1/2, 1/4, 1/8) that still leaves at least ``max_side`` pixels."""
    import cv2

    if max_side is None:
        return cv2.IMREAD_COLOR, 1
    longest = max(header.width, header.height)
    for factor, flag in (
        (8, cv2.IMREAD_REDUCED_COLOR_8),
        (4, cv2.IMREAD_REDUCED_COLOR_4),
        (2, cv2.IMREAD_REDUCED_COLOR_2),
    ):
        if longest // factor >= max_side:
            return flag, factor
    return cv2.IMREAD_COLOR, 1


def _load_with_cv2(path: Path, header: ImageHeader, max_side: int | None) -> tuple[np.ndarray, str]:
    import cv2

    data = _read_bytes(path)
    if header.format == "JPEG":
        _ensure_jpeg_complete(path, data)
        flag, factor = _reduction_flag(header, max_side)
        decoded = cv2.imdecode(data, flag)
        source = f"jpeg-reduced-{factor}" if factor > 1 else "jpeg"
    else:
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        source = header.format.lower()
    if decoded is None:
        if header.format in ("TIFF", "WEBP", "BMP"):
            # OpenCV lacks some TIFF compressions/layouts that Pillow reads.
            return _load_with_pillow(path, header), f"pillow-{header.format.lower()}"
        raise InvalidMediaError(
            f"{path.name} could not be decoded: the {header.format} data is corrupt or truncated ({path})",
            path,
        )
    if header.format == "HDR":
        return tonemap_to_srgb(_bgr_to_rgb(np.asarray(decoded, dtype=np.float32))), "hdr-tonemapped"
    return to_uint8_rgb(np.asarray(decoded), bgr=True), source


def _ensure_jpeg_complete(path: Path, data: np.ndarray) -> None:
    """libjpeg fills a cut-off JPEG with grey and calls it a success; a missing end marker after
    the last scan tells us the file is incomplete."""
    if data.size >= 2 and data[-2] == 0xFF and data[-1] == 0xD9:
        return  # the common case: the file ends with its end marker
    raw = data.tobytes()
    last_scan = raw.rfind(b"\xff\xda")
    if last_scan < 0 or raw.find(b"\xff\xd9", last_scan) < 0:
        raise InvalidMediaError(
            f"{path.name} is truncated: the JPEG data ends early (incomplete copy or download?) ({path})",
            path,
        )


def _bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] >= 3:
        order = [2, 1, 0, 3] if image.shape[2] == 4 else [2, 1, 0]
        return image[:, :, order]
    return image


def to_uint8_rgb(image: np.ndarray, bgr: bool) -> np.ndarray:
    """Any decoded array (8/16-bit, float, 1-4 channels) to uint8 RGB or RGBA."""
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype == np.uint8:
        converted = image
    elif image.dtype == np.uint16:
        converted = (image >> 8).astype(np.uint8)
    elif np.issubdtype(image.dtype, np.floating):
        if image.ndim == 3 and image.shape[2] in (3, 4):
            colour = _bgr_to_rgb(image) if bgr else image
            return tonemap_to_srgb(colour.astype(np.float32))
        converted = (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    else:
        peak = float(image.max()) or 1.0
        converted = (image.astype(np.float64) * (255.0 / peak)).astype(np.uint8)
    if converted.ndim == 2:
        return np.repeat(converted[:, :, None], 3, axis=2)
    channels = converted.shape[2]
    if channels == 2:  # grey + alpha
        grey, alpha = converted[:, :, 0], converted[:, :, 1]
        return np.dstack([grey, grey, grey, alpha])
    if bgr:
        converted = _bgr_to_rgb(converted)
    return np.ascontiguousarray(converted[:, :, :4])


def tonemap_to_srgb(linear: np.ndarray, exposure: float = 0.0) -> np.ndarray:
    """Scene-linear float RGB(A) to display sRGB uint8: Reinhard on colour, then the sRGB curve.

    NaN and negative values become 0 and infinities white, so a render with a few bad pixels
    still shows. Alpha (a fourth channel) is clamped, not tone-mapped.
    """
    colour = np.nan_to_num(linear[:, :, :3], nan=0.0, posinf=65504.0, neginf=0.0)
    colour = np.maximum(colour, 0.0) * np.float32(2.0**exposure)
    mapped = colour / (1.0 + colour)
    encoded = np.where(mapped <= 0.0031308, mapped * 12.92, 1.055 * np.power(mapped, 1.0 / 2.4) - 0.055)
    result: np.ndarray = (np.clip(encoded, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if linear.shape[2] == 4:
        alpha = np.clip(np.nan_to_num(linear[:, :, 3], nan=1.0), 0.0, 1.0)
        result = np.dstack([result, (alpha * 255.0 + 0.5).astype(np.uint8)])
    return result


def _load_exr(path: Path, max_side: int | None) -> np.ndarray:
    planes = _exr_planes(path, max_side)
    if all(plane.dtype == np.float16 for plane in planes):
        # Half floats (most EXRs from renderers and comp) have 65,536 values: tone-map each once and
        # look the pixels up (the same bytes as the float path below, ~8x faster on a 2K frame).
        colour, alpha = _half_to_srgb()
        mapped = [colour[plane.view(np.uint16)] for plane in planes[:3]]
        mapped += [alpha[plane.view(np.uint16)] for plane in planes[3:]]
        return np.dstack(mapped)
    return tonemap_to_srgb(np.dstack([np.asarray(plane, dtype=np.float32) for plane in planes]))


@functools.cache
def _half_to_srgb() -> tuple[np.ndarray, np.ndarray]:
    """``tonemap_to_srgb`` of every half-float value: (colour, alpha) tables indexed by the bits."""
    values = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    mapped = tonemap_to_srgb(np.repeat(values[:, None, None], 4, axis=2))
    return np.ascontiguousarray(mapped[:, 0, 0]), np.ascontiguousarray(mapped[:, 0, 3])


def _exr_float(path: Path, max_side: int | None) -> np.ndarray:
    """The colour channels as float32 RGB(A), as stored; with ``max_side``, every n-th pixel only."""
    return np.dstack([np.asarray(plane, dtype=np.float32) for plane in _exr_planes(path, max_side)])


def _exr_planes(path: Path, max_side: int | None) -> list[np.ndarray]:
    """The colour channels R, G, B (and A) in their stored type; with ``max_side``, every n-th pixel."""
    import OpenEXR

    try:
        exr = OpenEXR.File(str(path), separate_channels=True)
        channels: dict[str, Any] = exr.channels()
    except (RuntimeError, OSError, ValueError) as exc:
        raise InvalidMediaError(f"{path.name} could not be decoded as OpenEXR: {exc} ({path})") from exc
    planes = {name: channel.pixels for name, channel in channels.items()}
    names = _exr_colour_channels(planes)
    if names is None:
        raise UnsupportedMediaError(
            f"{path.name} has no colour channels to show (channels: {', '.join(sorted(planes))}) ({path})",
            path,
        )
    step = 1
    if max_side is not None:
        # Subsample before tone-mapping: the curve is per pixel, so this only saves work.
        step = max(1, max(planes[names[0]].shape) // (max_side * 2))
    return [np.asarray(planes[n])[::step, ::step] for n in names]


def _exr_colour_channels(planes: dict[str, Any]) -> list[str] | None:
    """R,G,B(,A) (also inside a layer such as ``beauty.R``), or luminance Y shown as grey."""
    for prefix in ("", *sorted({n.rsplit(".", 1)[0] + "." for n in planes if "." in n})):
        rgb = [f"{prefix}{c}" for c in "RGB"]
        if all(n in planes for n in rgb):
            alpha = f"{prefix}A"
            return [*rgb, alpha] if alpha in planes else rgb
    if "Y" in planes:
        return ["Y", "Y", "Y", "A"] if "A" in planes else ["Y", "Y", "Y"]
    return None


def _load_with_pillow(path: Path, header: ImageHeader) -> np.ndarray:
    """PSD composites, TGA, GIF and whatever OpenCV could not read."""
    image_module = pillow()
    try:
        with image_module.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                converted = image.convert("RGBA")
            elif image.mode.startswith("I;16") or image.mode in ("I", "F"):
                return to_uint8_rgb(np.asarray(image), bgr=False)
            else:
                converted = image.convert("RGB")
            return np.asarray(converted).copy()
    except OSError as exc:
        if isinstance(exc, FileNotFoundError | PermissionError):
            raise unreadable(path, exc) from exc
        raise InvalidMediaError(
            f"{path.name} could not be decoded: the {header.format} data is corrupt or truncated "
            f"({exc}) ({path})",
            path,
        ) from exc
    except (ValueError, SyntaxError, EOFError) as exc:
        raise InvalidMediaError(f"{path.name} could not be decoded: {exc} ({path})", path) from exc


def composite_on_checkerboard(rgba: np.ndarray, cell: int = 8) -> np.ndarray:
    """Flatten RGBA onto a light/dark grey checkerboard so transparency stays visible."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        return rgba[:, :, :3] if rgba.ndim == 3 else np.repeat(rgba[:, :, None], 3, axis=2)
    height, width = rgba.shape[:2]
    rows = (np.arange(height) // cell)[:, None]
    cols = (np.arange(width) // cell)[None, :]
    board = np.where((rows + cols) % 2 == 0, 204, 153).astype(np.uint16)[:, :, None]
    alpha = rgba[:, :, 3:4].astype(np.uint16)
    colour = rgba[:, :, :3].astype(np.uint16)
    blended = (colour * alpha + board * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)
