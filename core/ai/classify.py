"""Sorting images into categories: the result type and the classical (model-free) classifier.

The classical path measures a handful of image statistics with numpy/OpenCV and scores each
category with simple rules. It is the fallback that always runs, so its categories are the ones the
catalog knows even without any model installed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

SourceKind = Literal["image", "video", "geometry"]

PHOTOGRAPH = "photograph"
CG_RENDER = "cg-render"
NORMAL_MAP = "texture/normal-map"
ROUGHNESS_OR_MASK = "texture/roughness-or-mask"
ALBEDO = "texture/albedo"
HDR_PANORAMA = "hdr-panorama"
LINE_ART = "line-art/sketch"
UI_SCREENSHOT = "ui-screenshot"
DOCUMENT_SCAN = "document-scan"
MODEL_RENDER = "3d-model/render"

CLASSICAL_CATEGORIES = (
    PHOTOGRAPH,
    CG_RENDER,
    NORMAL_MAP,
    ROUGHNESS_OR_MASK,
    ALBEDO,
    HDR_PANORAMA,
    LINE_ART,
    UI_SCREENSHOT,
    DOCUMENT_SCAN,
    MODEL_RENDER,
)

# Statistics are measured on a copy no larger than this: enough for texture and layout, and it
# keeps the classical path at a few milliseconds per image.
ANALYSIS_SIDE = 256
TOP_K = 3


@dataclass(frozen=True)
class ClassificationResult:
    categories: list[tuple[str, float]]  # best first, confidences in [0, 1]
    path: str  # "model:<name>" or "classical"
    model: str | None
    device: str
    note: str = ""  # why a fallback ran, for the user
    # The subject model's 1000 ImageNet class probabilities (see core.ai.subjects), or None with
    # the reason in subject_note when no subject model could run.
    subject_probabilities: npt.NDArray[np.float32] | None = None
    subject_model: str | None = None  # name and version
    subject_note: str = ""

    @property
    def top(self) -> str:
        return self.categories[0][0] if self.categories else ""


@dataclass(frozen=True)
class ClassifyHints:
    """What is known about the source beyond its pixels."""

    source_kind: SourceKind = "image"
    is_float_hdr: bool = False
    width: int | None = None  # of the original file, when the pixels were downscaled
    height: int | None = None


@dataclass(frozen=True)
class ImageFeatures:
    """Statistics the rules read; exposed so tests and tuning can see why a call was made."""

    chroma: float  # mean per-pixel (max - min channel), 0..255
    white_fraction: float
    ink_fraction: float
    flat_fraction: float
    fine_noise: float
    colour_count: float  # distinct 5-bit colours / pixels, 0..1
    colour_spread: float
    axis_edge_fraction: float
    straight_edge_fraction: float
    edge_fraction: float
    text_rows: int
    stroke_width: float
    normal_fraction: float
    mean_blue: float
    tile_seam_ratio: float
    nonstationarity: float
    extras: dict[str, float] = field(default_factory=dict)


def _ramp(value: float, low: float, high: float) -> float:
    """0 at ``low``, 1 at ``high``, linear between (reversed when low > high)."""
    if low == high:
        return 1.0 if value >= high else 0.0
    t = (value - low) / (high - low)
    return float(min(1.0, max(0.0, t)))


def as_rgb_uint8(image: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """Grey, RGBA or 16-bit input as RGB uint8 (alpha composited onto mid grey)."""
    import numpy as np

    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4) or min(array.shape[:2]) < 1:
        raise ValueError(f"expected an H×W×C image, got shape {array.shape}")
    if array.dtype == np.uint16:
        array = (array // 257).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0)
        array = (array * 255.0 + 0.5).astype(np.uint8)
    channels = array.shape[2]
    if channels in (2, 4):
        alpha = array[:, :, -1:].astype(np.float32) / 255.0
        colour = array[:, :, :-1].astype(np.float32)
        array = (colour * alpha + 128.0 * (1.0 - alpha)).astype(np.uint8)
        channels -= 1
    if channels == 1:
        array = np.repeat(array, 3, axis=2)
    return np.ascontiguousarray(array)


def _analysis_copy(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    import cv2
    import numpy as np

    height, width = rgb.shape[:2]
    if min(height, width) < 8:
        # Icons and slivers: enlarge so every statistic has neighbours to compare.
        factor = -(-8 // min(height, width))
        rgb = np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)
        height, width = rgb.shape[:2]
    scale = ANALYSIS_SIDE / max(height, width)
    if scale >= 1.0:
        return rgb
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _text_rows(ink: npt.NDArray[np.bool_]) -> int:
    """Count horizontal bands of ink separated by blank rows: lines of text on a page."""
    import numpy as np

    height = ink.shape[0]
    row_ink = ink.mean(axis=1)
    inked = row_ink > 0.02
    rows = 0
    run = 0
    max_band = max(3, height // 8)
    for value in np.append(inked, False):
        if value:
            run += 1
            continue
        if 1 <= run <= max_band:
            rows += 1
        run = 0
    return rows


def _fine_noise(rgb: npt.NDArray[np.uint8]) -> float:
    """Typical pixel-level deviation from a slight blur, at full resolution in the centre.

    Sensor noise and fine natural texture show up here; smooth shading and flat fills do not.
    Measured before any downscale because averaging pixels hides exactly this noise. The median
    ignores edges.
    """
    import cv2
    import numpy as np

    height, width = rgb.shape[:2]
    crop = 384
    top, left = max(0, (height - crop) // 2), max(0, (width - crop) // 2)
    patch = rgb[top : top + crop, left : left + crop]
    grey = cv2.cvtColor(np.ascontiguousarray(patch), cv2.COLOR_RGB2GRAY).astype(np.float32)
    residual = np.abs(grey - cv2.GaussianBlur(grey, (3, 3), 0.8))
    return float(np.median(residual))


def measure_features(rgb: npt.NDArray[np.uint8]) -> ImageFeatures:
    """Statistics of an RGB uint8 image (downscaled internally)."""
    import cv2
    import numpy as np

    small = _analysis_copy(rgb)
    pixels = small.shape[0] * small.shape[1]
    as_float = small.astype(np.float32)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    grey_f = grey.astype(np.float32)

    chroma = float((as_float.max(axis=2) - as_float.min(axis=2)).mean())
    white_fraction = float((grey > 200).mean())
    ink = grey < 100
    ink_fraction = float(ink.mean())

    kernel = np.ones((3, 3), np.uint8)
    local_range = cv2.dilate(grey, kernel).astype(np.int16) - cv2.erode(grey, kernel)
    # Exactly constant neighbourhoods: fills in UIs and drawings. Smooth shading has steps.
    flat_fraction = float((local_range <= 1).mean())

    fine_noise = _fine_noise(rgb)

    quantised = (small >> 3).astype(np.int32)
    codes = (quantised[:, :, 0] << 10) | (quantised[:, :, 1] << 5) | quantised[:, :, 2]
    colour_count = float(np.unique(codes).size / min(pixels, 32768))
    colour_spread = float(as_float.reshape(-1, 3).std(axis=0).mean())

    gx = cv2.Sobel(grey_f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey_f, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy)
    strong = magnitude > 60.0
    edge_fraction = float(strong.mean())
    if strong.any():
        angle = np.degrees(np.arctan2(np.abs(gy[strong]), np.abs(gx[strong])))
        axis_edge_fraction = float(((angle < 8.0) | (angle > 82.0)).mean())
    else:
        axis_edge_fraction = 0.0
    # Edge pixels on long horizontal or vertical runs: panel borders, window frames.
    edges = strong.astype(np.uint8)
    run = max(9, small.shape[1] // 16)
    horizontal = cv2.morphologyEx(edges, cv2.MORPH_OPEN, np.ones((1, run), np.uint8))
    vertical = cv2.morphologyEx(edges, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8))
    straight_edge_fraction = float(((horizontal > 0) | (vertical > 0)).sum() / max(int(edges.sum()), 1))

    if ink.any():
        # A blank border gives the transform background to measure from even when all is ink.
        padded = cv2.copyMakeBorder(ink.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        distance = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
        stroke_width = float(2.0 * distance[ink].astype(np.float64).mean())
    else:
        stroke_width = 0.0

    normals = as_float / 127.5 - 1.0
    length = np.sqrt((normals**2).sum(axis=2))
    normal_like = (np.abs(length - 1.0) < 0.12) & (small[:, :, 2] > 140)
    normal_fraction = float(normal_like.mean())
    mean_blue = float(as_float[:, :, 2].mean())

    # Seamless textures wrap: the jump from the last column back to the first is no larger than
    # an ordinary step between neighbouring columns. Photos have a large jump there.
    inner = float(np.abs(np.diff(grey_f, axis=1)).mean() + np.abs(np.diff(grey_f, axis=0)).mean())
    wrap = float(np.abs(grey_f[:, 0] - grey_f[:, -1]).mean() + np.abs(grey_f[0, :] - grey_f[-1, :]).mean())
    tile_seam_ratio = wrap / max(inner, 1e-3)

    # Textures look alike everywhere; a scene has a subject, sky, ground.
    grid = 4
    h_step, w_step = small.shape[0] // grid, small.shape[1] // grid
    if h_step and w_step:
        tiles = as_float[: h_step * grid, : w_step * grid].reshape(grid, h_step, grid, w_step, 3)
        tile_means = tiles.mean(axis=(1, 3))
        nonstationarity = float(tile_means.std(axis=(0, 1)).mean() / max(colour_spread, 1.0))
    else:
        nonstationarity = 1.0

    return ImageFeatures(
        chroma=chroma,
        white_fraction=white_fraction,
        ink_fraction=ink_fraction,
        flat_fraction=flat_fraction,
        fine_noise=fine_noise,
        colour_count=colour_count,
        colour_spread=colour_spread,
        axis_edge_fraction=axis_edge_fraction,
        straight_edge_fraction=straight_edge_fraction,
        edge_fraction=edge_fraction,
        text_rows=_text_rows(ink),
        stroke_width=stroke_width,
        normal_fraction=normal_fraction,
        mean_blue=mean_blue,
        tile_seam_ratio=tile_seam_ratio,
        nonstationarity=nonstationarity,
    )


def score_categories(features: ImageFeatures, hints: ClassifyHints) -> dict[str, float]:
    """Rule scores in [0, 1] per category (not yet normalised)."""
    f = features
    grey = _ramp(f.chroma, 14.0, 4.0)
    paper = _ramp(f.white_fraction, 0.45, 0.75)
    smooth = _ramp(f.fine_noise, 1.2, 0.3)
    noisy = _ramp(f.fine_noise, 0.8, 2.0)
    tileable = _ramp(f.tile_seam_ratio, 2.0, 1.2)
    stationary = _ramp(f.nonstationarity, 0.9, 0.4)
    few_colours = _ramp(f.colour_count, 0.02, 0.003)
    many_colours = _ramp(f.colour_count, 0.003, 0.03)
    text_like = _ramp(float(f.text_rows), 2.0, 6.0)
    thin = _ramp(f.stroke_width, 6.0, 2.5)
    some_ink = _ramp(f.ink_fraction, 0.001, 0.008) * _ramp(f.ink_fraction, 0.4, 0.2)
    structured = max(_ramp(f.axis_edge_fraction, 0.4, 0.75), _ramp(f.straight_edge_fraction, 0.45, 0.75))

    scores: dict[str, float] = {}
    scores[NORMAL_MAP] = _ramp(f.normal_fraction, 0.5, 0.85) * _ramp(f.mean_blue, 170.0, 215.0)
    scores[DOCUMENT_SCAN] = paper * some_ink * text_like * _ramp(f.chroma, 40.0, 10.0)
    scores[LINE_ART] = paper * some_ink * thin * (0.4 + 0.6 * few_colours) * (1.0 - 0.8 * text_like)
    scores[UI_SCREENSHOT] = (
        _ramp(f.flat_fraction, 0.25, 0.6)
        * structured
        * _ramp(f.edge_fraction, 0.003, 0.03)
        * (1.0 - 0.9 * max(scores[DOCUMENT_SCAN], scores[LINE_ART]))
    )
    layout = max(scores[DOCUMENT_SCAN], scores[LINE_ART], scores[UI_SCREENSHOT])
    scores[ROUGHNESS_OR_MASK] = (
        grey * (0.35 + 0.35 * max(smooth, tileable) + 0.3 * stationary) * (1.0 - layout) * (1.0 - 0.7 * paper)
    )
    scores[ALBEDO] = (
        _ramp(f.chroma, 6.0, 20.0)
        * tileable
        * (0.5 + 0.5 * stationary)
        * (1.0 - scores[NORMAL_MAP])
        * (1.0 - layout)
    )
    scores[PHOTOGRAPH] = (
        noisy
        * (0.4 + 0.6 * many_colours)
        * _ramp(f.flat_fraction, 0.5, 0.15)
        * (1.0 - 0.8 * tileable * stationary)
        * (1.0 - 0.8 * scores[NORMAL_MAP])
        * (1.0 - 0.6 * grey)
    )
    scores[CG_RENDER] = (
        smooth
        * (0.3 + 0.7 * many_colours)
        * _ramp(f.straight_edge_fraction, 0.75, 0.35)
        * _ramp(f.flat_fraction, 0.97, 0.85)
        * (1.0 - 0.8 * scores[NORMAL_MAP])
        * (1.0 - 0.6 * grey)
        * (1.0 - 0.8 * tileable * stationary)
    )
    scores[HDR_PANORAMA] = _panorama_score(hints)
    scores[MODEL_RENDER] = 0.0
    if hints.source_kind == "geometry":
        # A render of a mesh we made ourselves: it is a model, whatever the pixels look like.
        scores[MODEL_RENDER] = 1.0
        scores[CG_RENDER] = max(scores[CG_RENDER], 0.6)
        scores[PHOTOGRAPH] *= 0.2
    return scores


def _panorama_score(hints: ClassifyHints) -> float:
    if not hints.width or not hints.height:
        aspect_ok = 0.0
    else:
        aspect = hints.width / hints.height
        aspect_ok = _ramp(abs(aspect - 2.0), 0.15, 0.02)
    if hints.is_float_hdr:
        return 0.55 + 0.45 * aspect_ok
    return 0.25 * aspect_ok


def _top_categories(scores: dict[str, float]) -> list[tuple[str, float]]:
    """Normalise rule scores into confidences, keeping a floor so weak evidence stays weak."""
    total = sum(scores.values())
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best = ranked[0][1]
    if best <= 0.05:
        # Nothing matched clearly: say so with a low confidence rather than pretend.
        fallback = [(PHOTOGRAPH, 0.2), (CG_RENDER, 0.15)]
        return fallback[:TOP_K]
    # Confidence mixes how strongly the best rule fired with how far it is ahead of the others.
    denominator = max(total, best) + 0.25
    result = [(name, round(score / denominator * 1.0, 4)) for name, score in ranked[:TOP_K]]
    return [(name, conf) for name, conf in result if conf > 0.0] or result[:1]


def complete_hints(image: npt.NDArray[np.generic], hints: ClassifyHints | None) -> ClassifyHints:
    """``hints`` with the picture's own size where the original file's is not known."""
    hints = hints or ClassifyHints()
    if hints.width is not None and hints.height is not None:
        return hints
    return dataclasses.replace(
        hints, width=hints.width or image.shape[1], height=hints.height or image.shape[0]
    )


def classify_classical(
    image: npt.NDArray[np.generic], hints: ClassifyHints | None = None
) -> ClassificationResult:
    """Categorise one image without a model (CPU, OpenCV + numpy)."""
    rgb = as_rgb_uint8(image)
    return classical_result(measure_features(rgb), complete_hints(rgb, hints))


def classical_result(features: ImageFeatures, hints: ClassifyHints) -> ClassificationResult:
    """The classical categories from statistics already measured (``hints`` with the picture's size)."""
    categories = _top_categories(score_categories(features, hints))
    if hints.source_kind == "geometry":
        # Known from the file, not guessed from pixels: certain, so it passes any threshold.
        categories = [(MODEL_RENDER, 1.0), *[c for c in categories if c[0] != MODEL_RENDER]][:TOP_K]
    return ClassificationResult(categories=categories, path="classical", model=None, device="cpu")
