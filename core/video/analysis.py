"""Shot analysis: per-frame picture metrics of a clip, its shots, and a complexity score per shot.

Every frame is decoded once, scaled to at most ``ANALYSIS_SIDE`` (480) px on its longest side (never
enlarged): large enough for flow and feature tracking to see real motion, small enough that a 4K plate
costs about what an HD one does. All metrics are measured at that size, so they compare across clips of
any resolution; pixel quantities (motion, camera) are in *analysis* pixels per frame.

Per frame (``METRICS``), on the greyscale picture unless said otherwise:

- ``sharpness``: variance of the Laplacian (higher = sharper; a defocused or motion-blurred frame drops).
- ``texture``: entropy, in bits (0-8), of the histogram of 8-neighbour local binary patterns.
- ``edges``: fraction of pixels on a Canny edge (thresholds 100/200).
- ``motion``: mean magnitude of the dense optical flow (Farneback) from the previous frame (0 for frame 0).
- ``camera_x``, ``camera_y``, ``camera``: the camera's pan from the previous frame, from a global
  similarity transform (``estimateAffinePartial2D``, RANSAC) fitted to tracked corner features
  (Shi-Tomasi + pyramidal Lucas-Kanade). Positive x: the camera pans right (the picture moves left);
  positive y: it tilts down. ``camera`` is the length of that vector. 0 when too few features track.
- ``colour_variance``: spread of the colour, sqrt(var(a*) + var(b*)) in CIE L*a*b* (8-bit scale).
- ``noise``: Immerkaer's fast noise estimate (sigma, 0-255 scale): the mean absolute response to a
  Laplacian-difference kernel that cancels smooth content. Strong edges raise it a little.
- ``contrast``: RMS contrast, the standard deviation of the grey levels (0-255).
- ``luma``: mean grey level (0-255).
- ``cut_score``: the scene-cut score of :mod:`core.video.scene_cuts` (same 64 px YCrCb difference), and
  the cuts are picked by its rules, so a clip's shots here are the ones the ``scene_cuts`` step finds.

Per shot (and for the whole clip) each metric is summarised as mean, std and max, and given a
**complexity score** from 0 to 100, a rough "how hard is this shot to track, roto and comp":

    complexity = 100 * ( 0.30 * min(1, mean(motion) / 8)
                       + 0.15 * min(1, mean(camera) / 8)
                       + 0.20 * min(1, mean(edges) / 0.15)
                       + 0.20 * min(1, mean(texture) / 7)
                       + 0.15 * min(1, mean(noise) / 6) )

Each term saturates at a value typical of a demanding plate (8 px/frame of motion at 480 px, 15 % edge
pixels, 7 bits of texture, a noise sigma of 6); the weights put object motion first because it drives
roto and tracking effort.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.video import scene_cuts

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator
    from pathlib import Path

    from core.video.frames import FrameSource

ANALYSIS_SIDE = 480
FORMAT_VERSION = 1
METRICS = (
    "sharpness",
    "texture",
    "edges",
    "motion",
    "camera_x",
    "camera_y",
    "camera",
    "colour_variance",
    "noise",
    "contrast",
    "luma",
    "cut_score",
)
# metric -> (weight, the mean at which its term saturates): the formula of the module docstring.
COMPLEXITY_TERMS: dict[str, tuple[float, float]] = {
    "motion": (0.30, 8.0),
    "camera": (0.15, 8.0),
    "edges": (0.20, 0.15),
    "texture": (0.20, 7.0),
    "noise": (0.15, 6.0),
}
_CUT_SIDE = scene_cuts.ANALYSIS_SIZE
_MAX_FEATURES = 300
_MIN_TRACKED = 8
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


@dataclass(frozen=True)
class ClipAnalysis:
    fps: float
    size: tuple[int, int]  # width, height the metrics were measured at
    metrics: dict[str, list[float]]  # METRICS name -> one value per frame
    cuts: list[int]  # first frame of each shot after the first

    @property
    def frame_count(self) -> int:
        return len(self.metrics["luma"])

    def shots(self) -> list[tuple[int, int]]:
        """(first frame, end frame exclusive) of each shot."""
        bounds = [0, *self.cuts, self.frame_count]
        return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


# -- per-frame metrics -------------------------------------------------------------------------


def _lbp_entropy(grey: np.ndarray) -> float:
    centre = grey[1:-1, 1:-1]
    height, width = grey.shape
    codes = np.zeros(centre.shape, np.uint8)
    offsets = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
    for bit, (dy, dx) in enumerate(offsets):
        neighbour = grey[1 + dy : height - 1 + dy, 1 + dx : width - 1 + dx]
        codes |= (neighbour >= centre).astype(np.uint8) << bit
    histogram = np.bincount(codes.ravel(), minlength=256).astype(np.float64)
    p = histogram[histogram > 0] / histogram.sum()
    return float(-(p * np.log2(p)).sum())


def _noise_sigma(grey: np.ndarray) -> float:
    import cv2

    height, width = grey.shape
    response = cv2.filter2D(grey.astype(np.float32), -1, _NOISE_KERNEL)[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2) * np.abs(response).sum() / (6 * (width - 2) * (height - 2)))


def still_metrics(rgb: np.ndarray, grey: np.ndarray) -> dict[str, float]:
    """The metrics of one picture on its own (everything but motion, camera and the cut score)."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    return {
        "sharpness": float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        "texture": _lbp_entropy(grey),
        "edges": float(np.count_nonzero(cv2.Canny(grey, 100, 200)) / grey.size),
        "colour_variance": float(math.sqrt(lab[..., 1].var() + lab[..., 2].var())),
        "noise": _noise_sigma(grey),
        "contrast": float(grey.std()),
        "luma": float(grey.mean()),
    }


def camera_pan(previous: np.ndarray, grey: np.ndarray) -> tuple[float, float]:
    """The camera's (x, y) pan in pixels from ``previous`` to ``grey`` (see the module docstring)."""
    import cv2

    corners = cv2.goodFeaturesToTrack(previous, _MAX_FEATURES, 0.01, 7)
    if corners is None or len(corners) < _MIN_TRACKED:
        return 0.0, 0.0
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, grey, corners, corners.copy())
    found = status.ravel() == 1
    if int(found.sum()) < _MIN_TRACKED:
        return 0.0, 0.0
    matrix, _ = cv2.estimateAffinePartial2D(corners[found], moved[found], method=cv2.RANSAC)
    if matrix is None:
        return 0.0, 0.0
    # The matrix moves the picture; the camera moved the other way.
    return -float(matrix[0, 2]), -float(matrix[1, 2])


def motion_metrics(previous: np.ndarray, grey: np.ndarray) -> dict[str, float]:
    """Object and camera motion from the previous frame's grey picture to this one's."""
    import cv2

    flow = np.empty((*grey.shape, 2), np.float32)  # filled in (no initial guess: flags 0)
    flow = cv2.calcOpticalFlowFarneback(previous, grey, flow, 0.5, 3, 15, 3, 5, 1.2, 0)
    pan_x, pan_y = camera_pan(previous, grey)
    return {
        "motion": float(np.hypot(flow[..., 0], flow[..., 1]).mean()),
        "camera_x": pan_x,
        "camera_y": pan_y,
        "camera": math.hypot(pan_x, pan_y),
    }


def _frame_work(rgb: np.ndarray, grey: np.ndarray, previous: np.ndarray | None) -> dict[str, float]:
    values = still_metrics(rgb, grey)
    if previous is None:
        values.update(motion=0.0, camera_x=0.0, camera_y=0.0, camera=0.0)
    else:
        values.update(motion_metrics(previous, grey))
    return values


# -- the clip ----------------------------------------------------------------------------------


def analyse_clip(
    source: FrameSource, *, max_side: int = ANALYSIS_SIDE, workers: int = 1
) -> Generator[int, None, ClipAnalysis]:
    """Decode every frame once, yielding how many are measured; returns the :class:`ClipAnalysis`.

    Frames are decoded in order on this thread; their metrics (OpenCV releases the GIL) run on
    ``workers`` threads, at most two frames per worker in flight so memory stays bounded.
    """
    import cv2

    values: dict[str, list[float]] = {name: [] for name in METRICS}
    cut_scores: list[float] = []
    bridges: list[float | None] = []
    recent: list[np.ndarray] = []  # the last two frames' cut planes
    size = (0, 0)
    pending: deque[Future[dict[str, float]]] = deque()

    def collect(future: Future[dict[str, float]]) -> None:
        for name, value in future.result().items():
            values[name].append(round(value, 4))

    with _executor(workers) as pool:
        previous: np.ndarray | None = None
        done = 0
        for _index, rgb in source.iter_frames(0, max_side=max_side):
            size = (rgb.shape[1], rgb.shape[0])
            grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            pending.append(pool.submit(_frame_work, rgb, grey, previous))
            previous = grey
            # The scene-cut detector's own score and rules (its helpers, shared within core.video), so
            # the shots here are the ones the scene_cuts step finds, without a second decode.
            planes = scene_cuts.cut_planes(cv2.resize(rgb, _cut_size(size), interpolation=cv2.INTER_AREA))
            cut_scores.append(scene_cuts.cut_difference(recent[-1], planes) if recent else 0.0)
            if len(recent) == 2:
                bridges[-1] = scene_cuts.cut_difference(recent[0], planes)
            bridges.append(None)
            recent = [*recent[-1:], planes]
            while len(pending) > 2 * workers or (pending and pending[0].done()):
                collect(pending.popleft())
                done += 1
                yield done
        while pending:
            collect(pending.popleft())
            done += 1
            yield done
    values["cut_score"] = [round(s, 4) for s in cut_scores]
    cuts = scene_cuts.pick_cuts(cut_scores, bridges)
    return ClipAnalysis(float(source.fps), size, values, cuts)


def _executor(workers: int) -> Executor:
    return ThreadPoolExecutor(max(1, workers), thread_name_prefix="analysis")


def _cut_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, _CUT_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


# -- summary and score -------------------------------------------------------------------------


def metric_stats(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, np.float64)
    if array.size == 0:
        return {"mean": 0.0, "std": 0.0, "max": 0.0}
    return {
        "mean": round(float(array.mean()), 4),
        "std": round(float(array.std()), 4),
        "max": float(array.max()),
    }


def complexity_score(stats: dict[str, dict[str, float]]) -> float:
    """The module docstring's formula, from per-metric stats (``metric_stats``)."""
    total = sum(
        weight * min(1.0, max(0.0, stats[name]["mean"]) / saturation)
        for name, (weight, saturation) in COMPLEXITY_TERMS.items()
    )
    return round(100.0 * total, 1)


def _span_summary(analysis: ClipAnalysis, start: int, end: int) -> dict[str, Any]:
    # Frame 0 of a shot has no motion from inside the shot: the cut's jump is not the shot's motion.
    moving = ("motion", "camera_x", "camera_y", "camera")
    stats = {
        name: metric_stats(series[start + 1 if name in moving and end - start > 1 else start : end])
        for name, series in analysis.metrics.items()
    }
    return {
        "start": start,
        "end": end,
        "frames": end - start,
        "complexity": complexity_score(stats),
        "stats": stats,
    }


def summarise(analysis: ClipAnalysis) -> dict[str, Any]:
    """Clip-level and per-shot stats and complexity."""
    clip = _span_summary(analysis, 0, analysis.frame_count)
    return {
        "frames": analysis.frame_count,
        "fps": round(analysis.fps, 6),
        "size": list(analysis.size),
        "cuts": list(analysis.cuts),
        "complexity": clip["complexity"],
        "stats": clip["stats"],
        "shots": [_span_summary(analysis, start, end) for start, end in analysis.shots()],
    }


# -- files -------------------------------------------------------------------------------------


def write_json(path: Path, analysis: ClipAnalysis, summary: dict[str, Any] | None = None) -> None:
    """The artifact: the per-frame arrays and their summary."""
    document = {
        "version": FORMAT_VERSION,
        "fps": analysis.fps,
        "size": list(analysis.size),
        "cuts": analysis.cuts,
        "metrics": analysis.metrics,
        "summary": summary if summary is not None else summarise(analysis),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")


def read_json(path: Path) -> ClipAnalysis:
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path.name}: unknown analysis format {document.get('version')!r}")
    width, height = document["size"]
    metrics = {name: [float(v) for v in document["metrics"][name]] for name in METRICS}
    return ClipAnalysis(
        float(document["fps"]), (int(width), int(height)), metrics, [int(c) for c in document["cuts"]]
    )


def write_csv(path: Path, analysis: ClipAnalysis) -> None:
    """One row per frame: ``frame``, ``shot`` (0-based) and every metric."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame", "shot", *METRICS])
        for frame, shot, row in _rows(analysis):
            writer.writerow([frame, shot, *row])


def _rows(analysis: ClipAnalysis) -> Iterator[tuple[int, int, list[float]]]:
    for shot, (start, end) in enumerate(analysis.shots()):
        for frame in range(start, end):
            yield frame, shot, [analysis.metrics[name][frame] for name in METRICS]


def read_csv(path: Path, fps: float, size: tuple[int, int]) -> ClipAnalysis:
    """A CSV written by :func:`write_csv` (which holds neither the frame rate nor the size)."""
    metrics: dict[str, list[float]] = {name: [] for name in METRICS}
    cuts: list[int] = []
    last_shot = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if int(row["shot"]) != last_shot:
                cuts.append(int(row["frame"]))
                last_shot = int(row["shot"])
            for name in METRICS:
                metrics[name].append(float(row[name]))
    return ClipAnalysis(fps, size, metrics, cuts)
