"""A/B compare compositing: wipe, difference and onion skin over two float RGBA pictures.

Inputs are float HxWx4 RGBA arrays, normally the display values the viewer shows (0..1 after the
colour transform), so a difference reads as the user sees it. The result always has A's size: B is
first fitted to A (``fit_to``) because versions of a shot often differ in resolution (a proxy against
the full-size render) and the reviewer's frame of reference is A. Side by side needs no compositing:
the viewer shows the two pictures on two canvases with one zoom and pan.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

__all__ = ["CompareMode", "composite", "difference", "fit_to", "onion", "to_uint8", "wipe"]


class CompareMode(StrEnum):
    """How A and B are shown together (the value is the label the user picks)."""

    WIPE = "Wipe"
    SIDE_BY_SIDE = "Side by side"
    DIFFERENCE = "Difference"
    ONION = "Onion skin"


def fit_to(b: np.ndarray, height: int, width: int) -> np.ndarray:
    """``b`` scaled uniformly to fit inside ``height`` x ``width``, centred, the margin transparent.

    Uniform scaling keeps B's aspect, so a different framing shows as a margin rather than as a
    stretch that would light up a difference everywhere. Sampling is nearest-neighbour: no pixel
    values are invented (a blur would itself show up as a difference), at the cost of aliasing when
    B is much larger than A.
    """
    b_height, b_width = b.shape[:2]
    if (b_height, b_width) == (height, width):
        return b
    scale = min(height / b_height, width / b_width)
    fit_height, fit_width = max(1, round(b_height * scale)), max(1, round(b_width * scale))
    rows = np.minimum(((np.arange(fit_height) + 0.5) / scale).astype(np.intp), b_height - 1)
    cols = np.minimum(((np.arange(fit_width) + 0.5) / scale).astype(np.intp), b_width - 1)
    fitted = np.zeros((height, width, 4), dtype=np.float32)
    top, left = (height - fit_height) // 2, (width - fit_width) // 2
    fitted[top : top + fit_height, left : left + fit_width] = b[rows[:, None], cols[None, :]]
    return fitted


def wipe(a: np.ndarray, b: np.ndarray, position: float) -> np.ndarray:
    """A left of the divider at ``position`` (0 = left edge, 1 = right edge of A), B right of it."""
    height, width = a.shape[:2]
    split = round(min(1.0, max(0.0, position)) * width)
    out = np.array(fit_to(b, height, width), dtype=np.float32)
    out[:, :split] = a[:, :split]
    return out


def difference(a: np.ndarray, b: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """Opaque |A − B| of the colour channels times ``gain`` (small changes made visible), clipped to 1.

    The result is opaque so identical pixels read as black rather than as a hole; where B's margin
    (see ``fit_to``) lies, A itself shows, which is what "B has nothing here" should look like.
    """
    height, width = a.shape[:2]
    out = np.ones((height, width, 4), dtype=np.float32)
    delta = np.abs(a[:, :, :3] - fit_to(b, height, width)[:, :, :3]) * np.float32(gain)
    out[:, :, :3] = np.clip(delta, 0.0, 1.0)
    return out


def onion(a: np.ndarray, b: np.ndarray, opacity: float) -> np.ndarray:
    """B laid over A at ``opacity`` (0 = only A, 1 = only B), alpha blended like the colour."""
    height, width = a.shape[:2]
    weight = np.float32(min(1.0, max(0.0, opacity)))
    return np.asarray(a * (1 - weight) + fit_to(b, height, width) * weight, dtype=np.float32)


def composite(
    mode: CompareMode, a: np.ndarray, b: np.ndarray, *, position: float, gain: float, opacity: float
) -> np.ndarray:
    """The one picture ``mode`` shows (side by side has none: it is two pictures)."""
    if mode == CompareMode.WIPE:
        return wipe(a, b, position)
    if mode == CompareMode.DIFFERENCE:
        return difference(a, b, gain)
    if mode == CompareMode.ONION:
        return onion(a, b, opacity)
    raise ValueError(f"{mode} is not composited into one picture")


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Float 0..1 RGBA to uint8 RGBA, rounded, out-of-range values clipped."""
    return np.asarray(np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
