"""What a user sees in a render, measured: where the model is and what colour it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class Coverage:
    width: int
    height: int
    left: int
    top: int
    right: int  # exclusive
    bottom: int  # exclusive
    mean_rgb: tuple[float, float, float]
    fraction: float

    @property
    def content_width(self) -> int:
        return self.right - self.left

    @property
    def content_height(self) -> int:
        return self.bottom - self.top

    @property
    def center(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def margins(self) -> tuple[int, int, int, int]:
        return self.left, self.top, self.width - self.right, self.height - self.bottom


def coverage(path: Path) -> Coverage:
    """Pixels that differ from the background (the corner colour, or alpha 0 when transparent)."""
    with Image.open(path) as image:
        rgba = np.asarray(image.convert("RGBA")).astype(np.int32)
    rgb, alpha = rgba[:, :, :3], rgba[:, :, 3]
    if (alpha < 255).any():
        mask = alpha > 0
    else:
        background = rgb[0, 0]
        mask = np.abs(rgb - background).sum(axis=2) > 24
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise AssertionError(f"{path.name} shows nothing but background")
    mean = rgb[mask].mean(axis=0)
    return Coverage(
        width=rgb.shape[1],
        height=rgb.shape[0],
        left=int(xs.min()),
        top=int(ys.min()),
        right=int(xs.max()) + 1,
        bottom=int(ys.max()) + 1,
        mean_rgb=(float(mean[0]), float(mean[1]), float(mean[2])),
        fraction=float(mask.mean()),
    )


def assert_framed(found: Coverage) -> None:
    """The model is visible, roughly centred, and background shows on all four sides."""
    assert found.fraction > 0.03, f"model covers only {found.fraction:.1%} of the image"
    assert min(found.margins()) >= 1, f"model touches the frame edge: margins {found.margins()}"
    cx, cy = found.center
    assert abs(cx - found.width / 2) < found.width * 0.15, f"off-centre horizontally: {cx}"
    assert abs(cy - found.height / 2) < found.height * 0.15, f"off-centre vertically: {cy}"
