"""The generated part of the evaluation set: texture maps made from its photographs, renders of real
meshes.

Nothing here is stored in the repository: each image is made at evaluation time from a file that
ships in a package (a photograph of the set, a mesh) by a fixed recipe, and kept in a cache folder
keyed by the source file's bytes and the recipe (``$STRATOPIPE_EVAL_MEDIA``, else
``<virtual environment>/share/stratopipe-eval-generated``), so a person can open what was judged.

The texture recipes are the ones artists use to turn a photograph into material maps (what
CrazyBump, Materialize or Substance's Bitmap2Material do), each on the centre square of the
photograph at TEXTURE_SIDE pixels:

- ``normal-map``: luminance read as a height field, its large-scale lighting removed (a high-pass),
  Sobel gradients, a tangent-space normal (OpenGL convention, green up) stored as RGB: mostly blue.
- ``roughness``: the inverted high-pass luminance, stretched to 0.35-0.95 (bright ridges come out
  smooth, dark crevices rough); grey.
- ``grunge-mask``: a soft threshold of the blurred high-pass luminance at its median; grey, mostly
  black and white with soft edges.
- ``albedo-tileable``: the colour photograph de-lit (divided by its blurred luminance) and made
  tileable by offset and blend: a copy rolled by half the side is blended in towards the borders,
  so opposite edges meet.

A texture map's subject is not judged: its right kind is its texture kind, and any confident
subject group or label on it counts as wrong (an artist sorting maps wants a grass albedo among the
textures, not among the landscapes).

The renders are the app's own: the pyrender backend in its render child process, thumbnail
product, default camera. ``render-y-up`` reads the mesh Y-up on the default grey background;
``render-z-up-alpha`` reads it Z-up (the up-axis preference; the camera then looks at another side)
with a transparent background, as renders are often exported. They are judged as PNG files dropped
into the library, without the geometry hint, so the right kind is ``cg-render``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.ai.classify import ALBEDO, CG_RENDER, NORMAL_MAP, ROUGHNESS_OR_MASK

if TYPE_CHECKING:
    from types import TracebackType

    import numpy as np
    import numpy.typing as npt

    from core.render.service import RenderService
    from core.settings import Settings

EVAL_MEDIA_ENV = "STRATOPIPE_EVAL_MEDIA"
GENERATED = "generated:"
TEXTURE_SIDE = 512
RENDER_SIDE = 512
# Part of every cache key: bump it when a recipe changes, so no stale image is judged.
RECIPE_VERSION = 1
# The height field's range (0..1 luminance detail) as this many pixels of depth: bumps that read
# clearly without every slope turning sideways.
NORMAL_DEPTH_PX = 16.0

TEXTURE_RECIPES = {
    "normal-map": NORMAL_MAP,
    "roughness": ROUGHNESS_OR_MASK,
    "grunge-mask": ROUGHNESS_OR_MASK,
    "albedo-tileable": ALBEDO,
}
RENDER_RECIPES = {"render-y-up": CG_RENDER, "render-z-up-alpha": CG_RENDER}
RECIPE_KINDS = {**TEXTURE_RECIPES, **RENDER_RECIPES}


def eval_media_dir() -> Path:
    configured = os.environ.get(EVAL_MEDIA_ENV, "").strip()
    return Path(configured) if configured else Path(sys.prefix) / "share" / "stratopipe-eval-generated"


def _square(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """The centre square at TEXTURE_SIDE, as float 0..1."""
    import cv2
    import numpy as np

    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = rgb[top : top + side, left : left + side]
    resized = cv2.resize(square, (TEXTURE_SIDE, TEXTURE_SIDE), interpolation=cv2.INTER_AREA)
    return np.asarray(resized, np.float32) / 255.0


def _luminance(rgb: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    import numpy as np

    weights = np.asarray([0.2126, 0.7152, 0.0722], np.float32)
    return np.asarray(rgb @ weights, np.float32)


def _blur(image: npt.NDArray[np.float32], sigma: float) -> npt.NDArray[np.float32]:
    import cv2
    import numpy as np

    return np.asarray(cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT), np.float32)


def _high_pass(luminance: npt.NDArray[np.float32], sigma: float) -> npt.NDArray[np.float32]:
    """Detail without the photograph's lighting: what is left after its blurred self is taken away."""
    return luminance - _blur(luminance, sigma)


def _stretch(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """2nd-98th percentile to 0..1, so every source photograph gives a map of full contrast."""
    import numpy as np

    low, high = np.percentile(values, [2, 98])
    return np.asarray(np.clip((values - low) / max(float(high - low), 1e-6), 0.0, 1.0), np.float32)


def _to_uint8(values: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.uint8]:
    import numpy as np

    return np.asarray(np.round(np.clip(values, 0.0, 1.0) * 255.0), np.uint8)


def normal_map(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    import cv2
    import numpy as np

    height = _blur(_high_pass(_luminance(_square(rgb)), TEXTURE_SIDE / 16), 1.0)
    # Sobel's 3x3 kernel gives 8 times the slope per pixel.
    dx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) * (NORMAL_DEPTH_PX / 8.0)
    dy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) * (NORMAL_DEPTH_PX / 8.0)
    # Image rows go down and OpenGL's green goes up, hence +dy.
    normal = np.dstack([-dx, dy, np.ones_like(dx)])
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    return _to_uint8(normal * 0.5 + 0.5)


def roughness_map(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    detail = _stretch(_high_pass(_luminance(_square(rgb)), TEXTURE_SIDE / 32))
    return _to_uint8(0.35 + 0.6 * (1.0 - detail))


def grunge_mask(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    import numpy as np

    detail = _blur(_high_pass(_luminance(_square(rgb)), TEXTURE_SIDE / 16), 2.0)
    median = float(np.median(detail))
    spread = max(float(np.percentile(detail, 90) - np.percentile(detail, 10)), 1e-6)
    # The soft edge spans a tenth of the detail's 10th-90th percentile range.
    return _to_uint8((detail - median) / (0.1 * spread) * 0.5 + 0.5)


def tileable_albedo(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    import numpy as np

    colour = _square(rgb)
    light = _blur(_luminance(colour), TEXTURE_SIDE / 8)
    delit = colour * (float(light.mean()) / np.maximum(light, 1e-3))[..., None]
    half = TEXTURE_SIDE // 2
    rolled = np.roll(delit, (half, half), axis=(0, 1))  # its wrap seam now runs through the middle
    ramp = 1.0 - np.abs(np.arange(TEXTURE_SIDE, dtype=np.float32) - (TEXTURE_SIDE - 1) / 2) / half
    keep = np.minimum.outer(ramp, ramp)[..., None]  # 1 in the middle, 0 at every border
    return _to_uint8(delit * keep + rolled * (1.0 - keep))


_TEXTURE_MAKERS = {
    "normal-map": normal_map,
    "roughness": roughness_map,
    "grunge-mask": grunge_mask,
    "albedo-tileable": tileable_albedo,
}


def cache_name(source: Path, recipe: str) -> str:
    digest = hashlib.sha256(f"{recipe} v{RECIPE_VERSION}\n".encode())
    digest.update(source.read_bytes())
    return f"{source.stem}-{recipe}-{digest.hexdigest()[:12]}.png"


class EvalMedia:
    """Makes (or finds in the cache) the generated images; owns the render child it starts."""

    def __init__(self, settings: Settings, folder: Path | None = None) -> None:
        self.settings = settings
        self.folder = folder or eval_media_dir()
        self._renderer: RenderService | None = None

    def __enter__(self) -> EvalMedia:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._renderer is not None:
            self._renderer.close()

    def path_for(self, source: Path, recipe: str) -> Path:
        """The image file to judge: ``source`` itself when there is no recipe."""
        if not recipe:
            return source
        target = self.folder / cache_name(source, recipe)
        if not target.is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            if recipe in _TEXTURE_MAKERS:
                self._make_texture(source, recipe, target)
            elif recipe in RENDER_RECIPES:
                self._render(source, recipe, target)
            else:
                raise ValueError(f"unknown evaluation recipe {recipe!r}")
        return target

    def _make_texture(self, source: Path, recipe: str, target: Path) -> None:
        from core.ai.classify import as_rgb_uint8
        from core.ai.steps import CLASSIFY_MAX_SIDE, load_rgb_for_ai, write_png

        photo = load_rgb_for_ai(source, self.settings, CLASSIFY_MAX_SIDE).rgb
        write_png(target, as_rgb_uint8(_TEXTURE_MAKERS[recipe](photo)))

    def _render(self, source: Path, recipe: str, target: Path) -> None:
        from core.render.api import RenderRequest
        from core.render.service import RenderService

        if self._renderer is None:
            self._renderer = RenderService(
                timeout_s=self.settings.render_timeout_s, memory_mb=self.settings.render_memory_mb
            )
        z_up = recipe == "render-z-up-alpha"
        request = RenderRequest(
            source, target, RENDER_SIDE, "thumbnail", transparent=z_up, up_axis="z" if z_up else "y"
        )
        self._renderer.render(request)
