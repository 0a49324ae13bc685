"""Thumbnails on disk, keyed by content hash and size, plus the ``thumbnail`` job step.

A thumbnail's longest side is the requested size. Transparency is shown on a checkerboard. The JPEG
carries a comment naming how it was made, so a cached one is returned without decoding anything.
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.media.errors import InvalidMediaError, MediaError, UnsupportedMediaError
from core.media.kinds import AssetKind
from core.media.limits import MediaLimits

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence
    from pathlib import Path

    from core.jobs.steps import Progress, StepContext

log = logging.getLogger(__name__)

JPEG_QUALITY = 88
_COMMENT_PREFIX = b"stratopipe-thumbnail;"
_BACKGROUND = (46, 48, 52)  # neutral dark grey, RGB
_INK = (178, 182, 190)
_ACCENT = (122, 162, 247)


@dataclass(frozen=True)
class ThumbnailResult:
    path: Path
    width: int
    height: int
    placeholder: bool
    source: str  # how it was made: "jpeg-reduced-8", "exr-tonemapped", "video-poster", ...


def thumbnail_path(thumbnail_dir: Path, content_hash: str, size: int) -> Path:
    return thumbnail_dir / content_hash[:2] / f"{content_hash}_{size}.jpg"


def make_thumbnail(
    source: Path,
    kind: AssetKind,
    thumbnail_dir: Path,
    content_hash: str,
    size: int,
    limits: MediaLimits,
    frames: Sequence[Path] = (),
    check_cancel: Callable[[], None] | None = None,
) -> ThumbnailResult:
    """The thumbnail of ``source``, made or found in the cache. ``check_cancel`` is called during
    long work (a long sound file's decode) and raises to stop it."""
    target = thumbnail_path(thumbnail_dir, content_hash, size)
    cached = _read_cached(target)
    if cached is not None:
        return cached
    rgb, made_by, placeholder = _render(source, AssetKind(kind), size, limits, frames, check_cancel)
    _write_jpeg_atomically(target, rgb, made_by, placeholder)
    height, width = rgb.shape[:2]
    return ThumbnailResult(target, width, height, placeholder, made_by)


def _render(
    source: Path,
    kind: AssetKind,
    size: int,
    limits: MediaLimits,
    frames: Sequence[Path],
    check_cancel: Callable[[], None] | None = None,
) -> tuple[np.ndarray, str, bool]:
    from core.media.decode import composite_on_checkerboard, load_image_with_source
    from core.media.probe import check_file_size

    extension = source.suffix.lower().lstrip(".")
    if kind in (AssetKind.IMAGE, AssetKind.SEQUENCE):
        image_path = frames[0] if frames else source
        check_file_size(image_path, limits)
        try:
            image, made_by = load_image_with_source(image_path, limits, max_side=size)
        except UnsupportedMediaError as exc:
            log.info("Placeholder thumbnail: %s", exc)
            return placeholder_card(size, image_path.suffix.lstrip(".")), "image-placeholder", True
        if kind is AssetKind.SEQUENCE:
            made_by = f"sequence-{made_by}"
        cell = max(4, size // 32)
        return composite_on_checkerboard(fit_to(image, size), cell), made_by, False
    if kind is AssetKind.VIDEO:
        from core.media.video import poster_frame

        check_file_size(source, limits)
        return fit_to(poster_frame(source, size), size), "video-poster", False
    if kind is AssetKind.AUDIO:
        from core.media.waveform import waveform_thumbnail

        check_file_size(source, limits)
        return waveform_thumbnail(source, size, check_cancel), "audio-waveform", False
    if kind is AssetKind.GEOMETRY:
        return geometry_placeholder(size, extension), "geometry-placeholder", True
    return placeholder_card(size, extension), f"{kind}-placeholder", True


def fit_to(image: np.ndarray, size: int) -> np.ndarray:
    """Scale so the longest side is exactly ``size`` (shrinking with area averaging)."""
    import cv2

    height, width = image.shape[:2]
    longest = max(height, width)
    if longest == size:
        return image
    scale = size / longest
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, new_size, interpolation=interpolation))


def geometry_placeholder(size: int, extension: str) -> np.ndarray:
    """A neutral card with a wireframe cube, "3D" and the file extension: real renders come later
    from the render lane and replace it."""
    import cv2

    image = np.full((size, size, 3), _BACKGROUND, dtype=np.uint8)
    s = size / 256.0
    centre_x, centre_y, edge = size * 0.5, size * 0.42, 62 * s
    # Isometric cube seen from above: "c" is the near top corner, three faces visible.
    dx, dy = edge * 0.866, edge * 0.5
    points = {
        "c": (centre_x, centre_y),
        "t": (centre_x, centre_y - edge),
        "l": (centre_x - dx, centre_y - dy),
        "r": (centre_x + dx, centre_y - dy),
        "b": (centre_x, centre_y + edge),
        "bl": (centre_x - dx, centre_y + edge - dy),
        "br": (centre_x + dx, centre_y + edge - dy),
    }
    pts = {k: (round(x), round(y)) for k, (x, y) in points.items()}
    thickness = max(1, round(2 * s))
    faces = (
        ("c", "l", "t", "r"),  # top face
        ("c", "l", "bl", "b"),
        ("c", "r", "br", "b"),
    )
    shades = ((74, 78, 86), (62, 66, 72), (54, 57, 63))
    for face, shade in zip(faces, shades, strict=True):
        polygon = np.array([pts[k] for k in face], dtype=np.int32)
        cv2.fillConvexPoly(image, polygon, shade, lineType=cv2.LINE_AA)
        cv2.polylines(image, [polygon], True, _INK, thickness, lineType=cv2.LINE_AA)
    _centred_text(image, "3D", size * 0.78, 0.9 * s, _ACCENT, max(1, round(2 * s)))
    _centred_text(image, extension.upper()[:8] or "MESH", size * 0.92, 0.55 * s, _INK, thickness)
    return image


def placeholder_card(size: int, extension: str) -> np.ndarray:
    """A page with a folded corner and the file extension: for documents and undecodable files."""
    import cv2

    image = np.full((size, size, 3), _BACKGROUND, dtype=np.uint8)
    s = size / 256.0
    left, right, top, bottom, fold = 72 * s, 184 * s, 36 * s, 200 * s, 30 * s
    outline = (
        np.array(
            [(left, top), (right - fold, top), (right, top + fold), (right, bottom), (left, bottom)],
            dtype=np.float64,
        )
        .round()
        .astype(np.int32)
    )
    cv2.fillPoly(image, [outline], (70, 74, 82), lineType=cv2.LINE_AA)
    cv2.polylines(image, [outline], True, _INK, max(1, round(2 * s)), lineType=cv2.LINE_AA)
    corner = (
        np.array([(right - fold, top), (right - fold, top + fold), (right, top + fold)], dtype=np.float64)
        .round()
        .astype(np.int32)
    )
    cv2.polylines(image, [corner], False, _INK, max(1, round(2 * s)), lineType=cv2.LINE_AA)
    label = extension.upper()[:6] or "FILE"
    _centred_text(image, label, 130 * s, 0.8 * s, _ACCENT, max(1, round(2 * s)))
    return image


def _centred_text(
    image: np.ndarray,
    text: str,
    baseline_y: float,
    scale: float,
    colour: tuple[int, int, int],
    thickness: int,
) -> None:
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, _), _ = cv2.getTextSize(text, font, scale, thickness)
    origin = (round((image.shape[1] - width) / 2), round(baseline_y))
    cv2.putText(image, text, origin, font, scale, colour, thickness, lineType=cv2.LINE_AA)


def _write_jpeg_atomically(target: Path, rgb: np.ndarray, made_by: str, placeholder: bool) -> None:
    """Temporary file plus rename: a reader never sees half a thumbnail, and two workers making
    the same one at once both succeed."""
    import cv2

    ok, encoded = cv2.imencode(
        ".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:
        raise InvalidMediaError(f"Could not encode a thumbnail for {target.name}", target)
    comment = _COMMENT_PREFIX + f"source={made_by};placeholder={int(placeholder)}".encode()
    # A COM segment right after SOI: FF FE, big-endian length (including itself), then the text.
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    data = encoded.tobytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("wb") as stream:
            stream.write(data[:2] + segment + data[2:])
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _read_cached(target: Path) -> ThumbnailResult | None:
    from core.media.probe_image import pillow

    try:
        with pillow().open(target) as image:
            width, height = image.size
            comment = image.info.get("comment", b"")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, SyntaxError) as exc:
        log.warning("Replacing unreadable cached thumbnail %s (%s)", target, exc)
        return None
    made_by, placeholder = "cached", False
    if isinstance(comment, bytes) and comment.startswith(_COMMENT_PREFIX):
        fields = dict(
            item.split("=", 1)
            for item in comment[len(_COMMENT_PREFIX) :].decode("ascii", "replace").split(";")
            if "=" in item
        )
        made_by = fields.get("source", made_by)
        placeholder = fields.get("placeholder") == "1"
    return ThumbnailResult(target, width, height, placeholder, made_by)


def thumbnail_step(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
    """Job step ``thumbnail``: make (or find) the asset's thumbnail at the configured size."""
    from core.jobs.steps import InvalidInputError, Progress, RecoverableError
    from core.profiles import thumbnail_size_for

    asset = ctx.asset
    if asset is None:
        raise InvalidInputError("The thumbnail step needs an asset")
    ctx.cancel.raise_if_cancelled()
    ctx.device = "cpu"
    yield Progress(0.0, f"Making thumbnail for {asset.path.name}")
    try:
        kind = AssetKind(asset.kind)
    except ValueError:
        kind = AssetKind.OTHER
    try:
        result = make_thumbnail(
            asset.path,
            kind,
            ctx.paths.thumbnail_dir,
            asset.content_hash,
            thumbnail_size_for(ctx.params, ctx.settings.thumbnail_size),  # the ingest profile's size
            MediaLimits.from_settings(ctx.settings),
            frames=asset.frames,
            check_cancel=ctx.cancel.raise_if_cancelled,
        )
    except InvalidMediaError as exc:
        raise InvalidInputError(str(exc)) from exc
    except MediaError as exc:
        raise RecoverableError(str(exc)) from exc
    except OSError as exc:  # the thumbnail folder itself: full disk, permissions
        raise RecoverableError(f"Could not write the thumbnail for {asset.path.name}: {exc}") from exc
    yield Progress(1.0, "Thumbnail ready")
    return {
        "thumbnail": str(result.path),
        "width": result.width,
        "height": result.height,
        "placeholder": result.placeholder,
        "source": result.source,
    }
