"""Scene-cut detection: the frames where a new shot starts.

Every frame is decoded small (64 px on its longest side, which averages away sensor noise and grain)
and compared with the one before: the score is the mean absolute difference of the Y, Cr and Cb
planes (0-255). A frame starts a new shot when its score is

- at least ``min_score`` (a real change of picture, not noise),
- at least ``threshold`` times the average score of its neighbours (two frames each side): an
  adaptive threshold, so a hand-held or noisy shot whose frames all differ a lot does not fire, and a
  fade, whose frames all differ a little and evenly, does not either,
- not a one-frame flash (lightning, a muzzle flash) nor the return from one: a flash changes the
  picture and changes it back, so the frames on either side of it match,
- at least ``min_scene_len`` frames after the previous cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Generator

    from core.video.frames import FrameSource

DEFAULT_THRESHOLD = 3.0
DEFAULT_MIN_SCORE = 10.0
DEFAULT_MIN_SCENE_LEN = 8
ANALYSIS_SIZE = 64
_NEIGHBOURS = 2


@dataclass(frozen=True)
class SceneCuts:
    cuts: list[int]  # first frame of each new shot (frame 0, the start, is never listed)
    scores: list[float]  # per frame: change from the frame before (0 for frame 0)
    frame_count: int


def cut_planes(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb), dtype=np.float32)


def cut_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def scan_scene_cuts(
    source: FrameSource,
    threshold: float = DEFAULT_THRESHOLD,
    min_scene_len: int = DEFAULT_MIN_SCENE_LEN,
    min_score: float = DEFAULT_MIN_SCORE,
    analysis_size: int = ANALYSIS_SIZE,
) -> Generator[int, None, SceneCuts]:
    """Decode every frame, yielding how many are done; returns the cuts (see module docstring)."""
    scores: list[float] = []
    # bridges[i]: the difference between frames i-1 and i+1, which stays large when frame i really
    # starts something new and is small when frame i is a one-frame flash.
    bridges: list[float | None] = []
    recent: list[np.ndarray] = []  # the last two frames' planes
    for index, rgb in source.iter_frames(0, max_side=analysis_size):
        planes = cut_planes(rgb)
        scores.append(cut_difference(recent[-1], planes) if recent else 0.0)
        if len(recent) == 2:
            bridges[-1] = cut_difference(recent[0], planes)
        bridges.append(None)
        recent = [*recent[-1:], planes]
        yield index + 1
    cuts = pick_cuts(scores, bridges, threshold, min_scene_len, min_score)
    return SceneCuts(cuts, [round(s, 3) for s in scores], len(scores))


def pick_cuts(
    scores: list[float],
    bridges: list[float | None],
    threshold: float = DEFAULT_THRESHOLD,
    min_scene_len: int = DEFAULT_MIN_SCENE_LEN,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[int]:
    """Apply the rules of the module docstring to per-frame scores."""
    cuts: list[int] = []
    last_cut = 0
    for index in range(1, len(scores)):
        score = scores[index]
        if score < min_score or index - last_cut < min_scene_len:
            continue
        neighbours = scores[max(1, index - _NEIGHBOURS) : index] + scores[index + 1 : index + 1 + _NEIGHBOURS]
        if neighbours and score < threshold * (sum(neighbours) / len(neighbours)):
            continue
        if _is_flash(index, bridges, min_score):
            continue
        cuts.append(index)
        last_cut = index
    return cuts


def _is_flash(index: int, bridges: list[float | None], min_score: float) -> bool:
    """Frame ``index`` is a flash, or the return from one: the pictures around it match."""
    into = bridges[index] if index < len(bridges) else None
    out_of = bridges[index - 1] if index >= 1 else None
    return (into is not None and into < min_score) or (out_of is not None and out_of < min_score)


def detect_scene_cuts(
    source: FrameSource,
    threshold: float = DEFAULT_THRESHOLD,
    min_scene_len: int = DEFAULT_MIN_SCENE_LEN,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[int]:
    """Frame indices where a new shot starts (see :func:`scan_scene_cuts` for progress)."""
    scanning = scan_scene_cuts(source, threshold, min_scene_len, min_score)
    while True:
        try:
            next(scanning)
        except StopIteration as done:
            result: SceneCuts = done.value
            return result.cuts
