"""Job steps for the AI layer: classify, focus crop and enhance one asset.

Each step reads the asset's image (for video and geometry, the preview image the caller names in
``ctx.params["preview_image"]``: a poster frame or a render), uses the app's inference engine when one
is passed in ``ctx.params["inference_engine"]`` and makes its own otherwise, and writes any image it
makes under ``ctx.paths.artifact_dir``, never next to or over the original.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.ai.cam import FOCUS_THUMBNAIL
from core.ai.classify import ClassificationResult, ClassifyHints, SourceKind
from core.ai.device import choose_device
from core.ai.inference import InferenceEngine
from core.ai.models import resolve_model_dir
from core.ai.subjects import mean_result, tags_for
from core.jobs.steps import InvalidInputError, Progress, RecoverableError, StepContext, StepOutput
from core.profiles import thumbnail_size_for

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

    import numpy as np
    import numpy.typing as npt

    from core.jobs.steps import CancelToken
    from core.settings import Settings

log = logging.getLogger(__name__)

CLASSIFY_MAX_SIDE = 1024
FOCUS_MAX_SIDE = 1024
ENHANCE_MAX_SIDE = 2048
# x2 by default: Real-ESRGAN's compact x2 model costs ~20 s a megapixel on two CPU cores, x4plus
# ~25 times that (README, measured figures); a GPU makes either quick.
ENHANCE_SCALE = 2
# A clip is sorted from this many frames spread over it, each at most this size (the model sees
# 224 px; a larger decode only costs time).
VIDEO_FRAMES = 5
VIDEO_FRAME_SIDE = 512
_FLOAT_SUFFIXES = frozenset({".exr", ".hdr"})
_FLOAT_SOURCES = frozenset({"exr-tonemapped", "hdr-tonemapped"})


@dataclass(frozen=True)
class LoadedImage:
    rgb: npt.NDArray[np.uint8]
    is_float_hdr: bool
    source_width: int  # of the file, before any downscale for analysis
    source_height: int


def load_rgb_for_ai(path: Path, settings: Settings, max_side: int) -> LoadedImage:
    """Decode ``path`` to RGB uint8, longest side at most ``max_side``, refusing bombs first.

    Uses core.media.decode when it is installed (EXR, truncated-JPEG checks, DCT scaling), else a
    plain OpenCV path with a Pillow header check.
    """
    from core.ai.classify import as_rgb_uint8

    if not path.is_file():
        raise InvalidInputError(f"{path.name} cannot be read: the file does not exist ({path})")
    try:
        from core.media.decode import load_image_with_source
        from core.media.errors import InvalidMediaError, MediaError
        from core.media.limits import MediaLimits
    except ImportError:
        rgb, is_float, size = _load_with_cv2(path, settings, max_side)
        return LoadedImage(as_rgb_uint8(rgb), is_float, size[0], size[1])
    try:
        decoded, source = load_image_with_source(path, MediaLimits.from_settings(settings), max_side)
    except InvalidMediaError as exc:
        raise InvalidInputError(str(exc)) from exc
    except MediaError as exc:
        raise RecoverableError(str(exc)) from exc
    width, height = _header_size(path) or (decoded.shape[1], decoded.shape[0])
    is_float = source in _FLOAT_SOURCES or path.suffix.lower() in _FLOAT_SUFFIXES
    return LoadedImage(as_rgb_uint8(decoded), is_float, width, height)


def _header_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return int(image.width), int(image.height)
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def _load_with_cv2(
    path: Path, settings: Settings, max_side: int
) -> tuple[npt.NDArray[Any], bool, tuple[int, int]]:
    import cv2
    import numpy as np

    size = _header_size(path)
    if size is not None and size[0] * size[1] > settings.max_image_pixels:
        raise InvalidInputError(
            f"{path.name} is {size[0]}×{size[1]} pixels, over the limit of "
            f"{settings.max_image_pixels:,} ({path})"
        )
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise RecoverableError(f"{path.name} cannot be read: {exc}") from exc
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if decoded is None:
        raise InvalidInputError(f"{path.name} is not an image this build can decode ({path})")
    is_float = decoded.dtype.kind == "f"
    if decoded.ndim == 3 and decoded.shape[2] >= 3:
        order = cv2.COLOR_BGRA2RGBA if decoded.shape[2] == 4 else cv2.COLOR_BGR2RGB
        decoded = cv2.cvtColor(decoded, order)
    if is_float:
        linear = np.clip(np.nan_to_num(decoded.astype(np.float32)), 0.0, None)
        decoded = (linear / (1.0 + linear)) ** (1.0 / 2.2)  # Reinhard, then display gamma
    height, width = decoded.shape[:2]
    if max(height, width) > max_side:
        scale = max_side / max(height, width)
        new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        decoded = cv2.resize(decoded, new_size, interpolation=cv2.INTER_AREA)
    return decoded, is_float, size or (width, height)


def _source_path(ctx: StepContext) -> Path:
    if ctx.asset is None:
        raise InvalidInputError("This step needs an asset")
    preview = ctx.params.get("preview_image")
    if preview:
        return Path(preview)
    if ctx.asset.kind in ("video", "geometry"):
        made = _made_preview(ctx)
        if made is not None:
            return made
        raise InvalidInputError(
            f"{ctx.asset.path.name} is a {ctx.asset.kind}: its poster frame or render must be made "
            "before it can be sorted"
        )
    return ctx.asset.path


def _made_preview(ctx: StepContext) -> Path | None:
    """The image the earlier steps made for a video (poster) or a model (render), if there is one."""
    assert ctx.asset is not None
    size = thumbnail_size_for(ctx.params, ctx.settings.thumbnail_size)
    if ctx.asset.kind == "geometry":
        from core.render.steps import artifact_path

        candidate = artifact_path(ctx, "thumbnail", size)
    else:
        from core.media.thumbnails import thumbnail_path

        candidate = thumbnail_path(ctx.paths.thumbnail_dir, ctx.asset.content_hash, size)
    return candidate if candidate.is_file() else None


def _source_kind(ctx: StepContext) -> SourceKind:
    kind = ctx.asset.kind if ctx.asset else "image"
    if kind == "video":
        return "video"
    if kind == "geometry":
        return "geometry"
    return "image"


def engine_for(ctx: StepContext) -> InferenceEngine:
    """The app's shared engine when passed in, else a new one for this step alone; either way with
    the models the user switched off as they are now (Preferences apply at once)."""
    engine = ctx.params.get("inference_engine")
    if not isinstance(engine, InferenceEngine):
        choice = choose_device(ctx.settings.inference_device)
        engine = InferenceEngine(choice, resolve_model_dir(ctx.settings, ctx.paths))
    engine.disabled_models = frozenset(ctx.settings.disabled_models)
    return engine


def _artifact_name(ctx: StepContext, suffix: str) -> Path:
    assert ctx.asset is not None
    key = ctx.asset.content_hash or f"asset-{ctx.asset.id}"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", key)[:80]
    return ctx.paths.artifact_dir / f"{safe}-{suffix}.png"


def write_png(path: Path, rgb: npt.NDArray[np.uint8]) -> Path:
    """Write atomically: a half-written PNG must never be picked up as a finished artifact."""
    import cv2

    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RecoverableError(f"could not encode {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(encoded.tobytes())
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RecoverableError(f"could not write {path}: {exc}") from exc
    return path


def classification_output(result: ClassificationResult, frames: int = 1) -> StepOutput:
    """The job's record: confident tags in ``categories`` (what the catalog stores and counts),
    the rest in ``hidden`` (shown only when asked for), and which models ran where."""
    tags = tags_for(result)
    return {
        "categories": [t.as_output() for t in tags if t.confident],
        "hidden": [t.as_output() for t in tags if not t.confident],
        "path": result.path,
        "model": result.model,
        "device": result.device,
        "note": result.note,
        "subject_model": result.subject_model,
        "subject_note": result.subject_note,
        "frames": frames,
    }


def _video_frames(ctx: StepContext) -> list[npt.NDArray[np.uint8]]:
    """Frames spread over the clip (a poster alone misjudges a clip that changes scene); empty
    when the clip cannot be opened here, so the caller falls back to the poster."""
    from core.media.errors import MediaError
    from core.video.filmstrip import filmstrip_indices
    from core.video.steps import open_asset_clip

    assert ctx.asset is not None
    try:
        with open_asset_clip(ctx) as clip:
            return [
                clip.frame_at(index, max_side=VIDEO_FRAME_SIDE)
                for index in filmstrip_indices(clip.frame_count, VIDEO_FRAMES)
            ]
    except (InvalidInputError, RecoverableError, MediaError, OSError, ValueError) as exc:
        log.info("Sorting %s from its poster: its frames cannot be read (%s)", ctx.asset.path.name, exc)
        return []


def classify_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    kind = _source_kind(ctx)
    metadata = ctx.asset.metadata if ctx.asset else {}
    frames = _video_frames(ctx) if kind == "video" and "preview_image" not in ctx.params else []
    if frames:
        yield Progress(0.05, f"Read {len(frames)} frames")
        hints = ClassifyHints(source_kind=kind, width=frames[0].shape[1], height=frames[0].shape[0])
    else:
        source = _source_path(ctx)
        yield Progress(0.05, f"Reading {source.name}")
        loaded = load_rgb_for_ai(source, ctx.settings, CLASSIFY_MAX_SIDE)
        frames = [loaded.rgb]
        is_float = ctx.params.get("is_float_hdr", metadata.get("is_float_hdr", loaded.is_float_hdr))
        hints = ClassifyHints(
            source_kind=kind,
            is_float_hdr=bool(is_float),
            width=loaded.source_width,
            height=loaded.source_height,
        )
    ctx.cancel.raise_if_cancelled()
    yield Progress(0.4, "Sorting")
    engine = engine_for(ctx)
    batcher = ctx.params.get("classify_batcher")
    if batcher is not None:
        # The app's inference lane: each frame waits for a batched forward pass with other files.
        results = [batcher.classify(frame, hints, ctx.cancel) for frame in frames]
    else:
        results = engine.classify_batch(frames, [hints] * len(frames), cancel=ctx.cancel)
    result = mean_result(results)
    ctx.device = result.device
    yield Progress(1.0, f"Sorted as {result.top}")
    return classification_output(result, len(frames))


def focus_crop_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    from core.ai.focus import focus_box, focus_crop

    source = _source_path(ctx)
    size = int(ctx.params.get("size", thumbnail_size_for(ctx.params, ctx.settings.thumbnail_size)))
    if not 16 <= size <= 4096:
        raise InvalidInputError(f"focus thumbnail size must be 16-4096 pixels, got {size}")
    yield Progress(0.05, f"Reading {source.name}")
    loaded = load_rgb_for_ai(source, ctx.settings, max(FOCUS_MAX_SIDE, size))
    ctx.cancel.raise_if_cancelled()
    yield Progress(0.4, "Finding the subject")
    engine = engine_for(ctx)
    focus = focus_box(loaded.rgb, engine)
    ctx.device = engine.device if focus.method.startswith(("detector:", "cam:")) else "cpu"
    crop = focus_crop(loaded.rgb, focus.box, size)
    scale_x = loaded.source_width / loaded.rgb.shape[1]
    scale_y = loaded.source_height / loaded.rgb.shape[0]
    x, y, w, h = focus.box
    source_box = [round(x * scale_x), round(y * scale_y), round(w * scale_x), round(h * scale_y)]
    ctx.cancel.raise_if_cancelled()
    target = write_png(_artifact_name(ctx, f"focus-{size}"), crop)
    yield Progress(1.0, f"Focus by {focus.method}")
    return {
        "box": source_box,
        "method": focus.method,
        "score": focus.score,
        "note": focus.note,
        "crop": str(target),
        FOCUS_THUMBNAIL: _focus_thumbnail(
            ctx, loaded.rgb, focus.box, target if size == _grid_size(ctx) else None
        ),
    }


def _grid_size(ctx: StepContext) -> int:
    return ctx.settings.thumbnail_size


def _focus_thumbnail(
    ctx: StepContext, rgb: npt.NDArray[np.uint8], box: tuple[int, int, int, int], made: Path | None
) -> str | None:
    """The grid's crop around a small or off-centre subject (a square of the grid thumbnail's size),
    or None when the setting is off, the asset is not a still image (a poster is already a crop of
    its own) or the subject is large and central. ``made`` is the focus crop when it has that size."""
    from core.ai.cam import wants_focus_thumbnail
    from core.ai.focus import focus_crop

    assert ctx.asset is not None
    height, width = rgb.shape[:2]
    if not ctx.settings.focus_thumbnails or ctx.asset.kind != "image":
        return None
    if not wants_focus_thumbnail(box, width, height):
        return None
    size = _grid_size(ctx)
    return str(made or write_png(_artifact_name(ctx, f"focus-{size}"), focus_crop(rgb, box, size)))


def enhance_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    """An enhanced copy in the artifact dir (the original is only read). Cancellable at any time
    (between parts, and within one on the ncnn runtime)."""
    from core.ai.enhance import enhance_tiles

    source = _source_path(ctx)
    max_side = int(ctx.params.get("max_side", ENHANCE_MAX_SIDE))
    scale = int(ctx.params.get("scale", ENHANCE_SCALE))
    if scale not in (2, 4):
        raise InvalidInputError(f"enhancement scale must be 2 or 4, got {scale}")
    yield Progress(0.05, f"Reading {source.name}")
    loaded = load_rgb_for_ai(source, ctx.settings, max_side)
    ctx.cancel.raise_if_cancelled()
    yield Progress(0.1, "Enhancing")
    tiles = enhance_tiles(loaded.rgb, engine_for(ctx), scale=scale, cancel=ctx.cancel)
    while True:
        try:
            tile = next(tiles)
        except StopIteration as done:
            result = done.value
            break
        yield Progress(0.1 + 0.8 * tile.fraction, f"Enhancing: part {tile.done} of {tile.total}")
    ctx.device = result.device
    ctx.cancel.raise_if_cancelled()
    target = write_png(_artifact_name(ctx, "enhanced"), result.image)
    yield Progress(1.0, f"Enhanced ({result.method})")
    return {
        "path": str(target),
        "method": result.method,
        "model": result.model,
        "device": result.device,
        "scale": result.scale,
        "note": result.note,
        "width": int(result.image.shape[1]),
        "height": int(result.image.shape[0]),
    }


def classify_files(
    paths: Sequence[Path],
    engine: InferenceEngine,
    settings: Settings,
    *,
    cancel: CancelToken | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[ClassificationResult | str]:
    """Sort many image files in batches (what ``stratopipe classify`` uses); a str is an error."""
    outcomes: list[ClassificationResult | str] = ["" for _ in paths]
    for start in range(0, len(paths), engine.batch_size):
        if cancel is not None:
            cancel.raise_if_cancelled()
        images: list[npt.NDArray[np.uint8]] = []
        hints: list[ClassifyHints | None] = []
        slots: list[int] = []
        for index in range(start, min(start + engine.batch_size, len(paths))):
            try:
                loaded = load_rgb_for_ai(paths[index], settings, CLASSIFY_MAX_SIDE)
            except (InvalidInputError, RecoverableError) as exc:
                outcomes[index] = str(exc)
                continue
            images.append(loaded.rgb)
            hints.append(
                ClassifyHints(
                    is_float_hdr=loaded.is_float_hdr,
                    width=loaded.source_width,
                    height=loaded.source_height,
                )
            )
            slots.append(index)
        for index, result in zip(slots, engine.classify_batch(images, hints), strict=True):
            outcomes[index] = result
        if progress is not None:
            progress(min(start + engine.batch_size, len(paths)) / max(len(paths), 1))
    return outcomes
