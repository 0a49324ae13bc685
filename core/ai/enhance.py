"""Image enhancement: a super-resolution model (Real-ESRGAN built in, or the model directory's own)
when one is enabled and runs, else classical OpenCV (CLAHE, denoise, unsharp mask).

The caller's array is never modified; results are new arrays (the step writes them to a new file).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.ai.classify import as_rgb_uint8

if TYPE_CHECKING:
    from collections.abc import Generator

    import numpy as np
    import numpy.typing as npt

    from core.ai.inference import InferenceEngine
    from core.ai.upscale import TileProgress
    from core.jobs.steps import CancelToken

log = logging.getLogger(__name__)

# Non-local-means costs ~2-4 s per megapixel on two shared cores (bench_ai.py); above this it is
# skipped (and the method says so) so enhancing a 50 MP plate never stalls the worker for minutes.
MAX_DENOISE_PIXELS = 1_000_000
DENOISE_STRENGTH = 4.0
CLAHE_CLIP = 2.0
UNSHARP_SIGMA = 1.2
UNSHARP_AMOUNT = 0.6


@dataclass(frozen=True)
class EnhanceResult:
    image: npt.NDArray[np.uint8]
    method: str  # "model:<name>", "classical:clahe+denoise+unsharp" or "classical:clahe+unsharp"
    scale: int
    note: str = ""
    model: str = ""  # name and version of the model that ran, for the job's record
    device: str = "cpu"


def enhance_classical(
    image: npt.NDArray[Any], *, max_denoise_pixels: int = MAX_DENOISE_PIXELS
) -> EnhanceResult:
    """Denoise (when small enough), CLAHE on the L channel, then an unsharp mask."""
    import cv2
    import numpy as np

    rgb = as_rgb_uint8(image)
    steps = ["clahe"]
    note = ""
    pixels = rgb.shape[0] * rgb.shape[1]
    if pixels <= max_denoise_pixels:
        denoised = cv2.fastNlMeansDenoisingColored(rgb, None, DENOISE_STRENGTH, DENOISE_STRENGTH, 7, 15)
        rgb = np.asarray(denoised, np.uint8)
        steps.append("denoise")
    else:
        note = f"denoise skipped: {pixels / 1e6:.1f} MP is over the {max_denoise_pixels / 1e6:.1f} MP cap"
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    clahe = cv2.createCLAHE(clipLimit=CLAHE_CLIP, tileGridSize=(8, 8))
    lab[:, :, 0] = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
    contrasted = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    blurred = cv2.GaussianBlur(contrasted, (0, 0), UNSHARP_SIGMA)
    sharpened = np.asarray(
        cv2.addWeighted(contrasted, 1.0 + UNSHARP_AMOUNT, blurred, -UNSHARP_AMOUNT, 0), np.uint8
    )
    steps.append("unsharp")
    return EnhanceResult(image=sharpened, method="classical:" + "+".join(steps), scale=1, note=note)


def enhance_tiles(
    image: npt.NDArray[Any],
    engine: InferenceEngine | None = None,
    *,
    scale: int | None = None,
    cancel: CancelToken | None = None,
    max_denoise_pixels: int = MAX_DENOISE_PIXELS,
) -> Generator[TileProgress, None, EnhanceResult]:
    """Super-resolve with the first enabled enhance model for ``scale`` that runs, yielding after
    each tile, or fall back to classical enhancement with the reasons in the note."""
    note = "no inference engine"
    if engine is not None:
        upscaled = yield from engine.enhance_tiles(image, scale=scale, cancel=cancel)
        if not isinstance(upscaled, str):
            return EnhanceResult(
                image=upscaled.image,
                method=f"model:{upscaled.entry.name}",
                scale=upscaled.scale,
                note=upscaled.note,
                model=upscaled.entry.description,
                device=upscaled.device,
            )
        note = upscaled
    result = enhance_classical(image, max_denoise_pixels=max_denoise_pixels)
    combined = "; ".join(part for part in (note, result.note) if part)
    return EnhanceResult(image=result.image, method=result.method, scale=1, note=combined)


def enhance_image(
    image: npt.NDArray[Any],
    engine: InferenceEngine | None = None,
    *,
    scale: int | None = None,
    cancel: CancelToken | None = None,
    max_denoise_pixels: int = MAX_DENOISE_PIXELS,
) -> EnhanceResult:
    """:func:`enhance_tiles` run to the end (the benchmark and callers without progress)."""
    tiles = enhance_tiles(image, engine, scale=scale, cancel=cancel, max_denoise_pixels=max_denoise_pixels)
    while True:
        try:
            next(tiles)
        except StopIteration as done:
            result: EnhanceResult = done.value
            return result
