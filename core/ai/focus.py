"""Where to crop a thumbnail: a detector model, else faces, else the subject classifier's class
activation map (core.ai.cam), else spectral-residual saliency.

Spectral residual (Hou & Zhang, 2007) is implemented here with numpy because OpenCV's saliency
module ships only in opencv-contrib. Face detection uses OpenCV's Haar cascade when the installed
OpenCV has both ``CascadeClassifier`` and the cascade file; OpenCV 5 wheels have neither, and then
the face path is skipped (logged once) rather than failing.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.ai.classify import as_rgb_uint8

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from core.ai.inference import InferenceEngine

log = logging.getLogger(__name__)

SALIENCY_SIDE = 64  # the method works on a small image by design: it finds "what stands out"
# A blob hardly brighter than the map's mean is texture, not a subject (measured: smooth noise
# scores ~2.3, an object on a plain background 8-10).
MIN_SALIENCY_SCORE = 3.0
FACE_CASCADE = "haarcascade_frontalface_default.xml"
_FACE_CASCADE_DIRS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades")


@dataclass(frozen=True)
class FocusResult:
    box: tuple[int, int, int, int]  # x, y, w, h in source pixels
    method: str  # "detector:<model>", "faces", "cam:<model>", "saliency" or "center"
    score: float
    note: str = ""  # why the subject model's map was not used, when it was not


def _centre_box(width: int, height: int) -> tuple[int, int, int, int]:
    side = min(width, height)
    return ((width - side) // 2, (height - side) // 2, side, side)


def box_from_map(
    heat: npt.NDArray[np.float32], width: int, height: int, threshold: float | None = None
) -> tuple[tuple[int, int, int, int], float] | None:
    """Box (in a ``width``×``height`` source) of the strongest blob of a heat map, and its score.

    The score is how much brighter the blob is than the map on average; ~1 means nothing stands out.
    """
    import cv2
    import numpy as np

    if heat.size == 0 or not np.isfinite(heat).all():
        return None
    low, high = float(heat.min()), float(heat.max())
    if high - low < 1e-6:
        return None
    norm = (heat - low) / (high - low)
    cut = threshold if threshold is not None else max(0.5, float(norm.mean()) * 3.0)
    mask = (norm >= min(cut, 0.95)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    # The biggest blob weighted by how salient it is, not merely the largest area.
    weights = [float(norm[labels == label].sum()) for label in range(1, count)]
    best = 1 + int(np.argmax(weights))
    x, y, w, h, _area = (int(v) for v in stats[best])
    score = float(norm[labels == best].mean() / max(float(norm.mean()), 1e-6))
    sx, sy = width / heat.shape[1], height / heat.shape[0]
    box = (
        int(x * sx),
        int(y * sy),
        max(1, round(w * sx)),
        max(1, round(h * sy)),
    )
    return box, score


def spectral_residual_saliency(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Saliency map (SALIENCY_SIDE wide) by the spectral residual of the log amplitude spectrum."""
    import cv2
    import numpy as np

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    height, width = grey.shape
    scale = SALIENCY_SIDE / max(height, width)
    small = cv2.resize(
        grey,
        (max(8, round(width * scale)), max(8, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    spectrum = np.fft.fft2(small)
    log_amplitude = np.log(np.abs(spectrum) + 1e-8).astype(np.float32)
    phase = np.angle(spectrum)
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3))
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    smoothed = np.asarray(cv2.GaussianBlur(saliency.astype(np.float32), (0, 0), sigmaX=2.5), np.float32)
    # Colour pop is what people look at in a thumbnail; the grey spectrum alone misses a red ball
    # on a grey wall of equal brightness, so add a coarse colour-contrast term.
    lab = cv2.cvtColor(
        cv2.resize(rgb, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA),
        cv2.COLOR_RGB2LAB,
    ).astype(np.float32)
    colour = np.linalg.norm(lab - lab.reshape(-1, 3).mean(axis=0), axis=2)
    colour = np.asarray(cv2.GaussianBlur(colour, (0, 0), sigmaX=1.5), np.float32)
    combined = _unit(smoothed) + 0.5 * _unit(colour)
    return _unit(combined)


def _unit(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    import numpy as np

    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


@functools.cache
def _face_cascade_file() -> Path | None:
    """The Haar face cascade file, or None when this OpenCV cannot provide one."""
    import cv2

    if not hasattr(cv2, "CascadeClassifier"):
        log.info("Face focus unavailable: this OpenCV build has no CascadeClassifier")
        return None
    candidates = []
    data = getattr(cv2, "data", None)
    shipped = getattr(data, "haarcascades", None) if data is not None else None
    if isinstance(shipped, str) and shipped:
        candidates.append(Path(shipped) / FACE_CASCADE)
    candidates.extend(Path(directory) / FACE_CASCADE for directory in _FACE_CASCADE_DIRS)
    for candidate in candidates:
        if candidate.is_file() and not cv2.CascadeClassifier(str(candidate)).empty():
            return candidate
    log.info("Face focus unavailable: %s not found", FACE_CASCADE)
    return None


_per_thread = threading.local()


def _face_cascade() -> Any:
    """This thread's own classifier: a CascadeClassifier must not be shared between threads
    (the inference lane runs several focus crops at once; sharing one crashes OpenCV)."""
    path = _face_cascade_file()
    if path is None:
        return None
    cascade = getattr(_per_thread, "cascade", None)
    if cascade is None:
        import cv2

        cascade = cv2.CascadeClassifier(str(path))
        _per_thread.cascade = cascade
    return cascade


def face_available() -> bool:
    return _face_cascade() is not None


def _largest_face(rgb: npt.NDArray[np.uint8]) -> tuple[tuple[int, int, int, int], float] | None:
    import cv2

    cascade = _face_cascade()
    if cascade is None:
        return None
    height, width = rgb.shape[:2]
    scale = min(1.0, 640 / max(height, width))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    faces = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    if len(faces) == 0:
        return None
    x, y, w, h = max(faces, key=lambda face: int(face[2]) * int(face[3]))
    box = (int(x / scale), int(y / scale), int(w / scale), int(h / scale))
    return box, 1.0


def _detector_box(
    rgb: npt.NDArray[np.uint8], engine: InferenceEngine
) -> tuple[tuple[int, int, int, int], float, str] | None:
    import numpy as np

    detected = engine.detect(rgb)
    if isinstance(detected, str):
        return None
    entry, output = detected
    height, width = rgb.shape[:2]
    if output.ndim == 2:
        found = box_from_map(output.astype(np.float32), width, height, threshold=0.5)
        if found is None:
            return None
        return found[0], found[1], entry.name
    # Boxes (k, 5): x0, y0, x1, y1 normalised to [0, 1], score.
    if output.shape[0] == 0:
        return None
    x0, y0, x1, y1, score = (float(v) for v in output[int(np.argmax(output[:, 4]))])
    if score < 0.3 or x1 <= x0 or y1 <= y0:
        return None
    box = (
        int(np.clip(x0, 0, 1) * width),
        int(np.clip(y0, 0, 1) * height),
        max(1, int((min(x1, 1.0) - max(x0, 0.0)) * width)),
        max(1, int((min(y1, 1.0) - max(y0, 0.0)) * height)),
    )
    return box, score, entry.name


def focus_box(
    image: npt.NDArray[Any], engine: InferenceEngine | None = None, *, use_faces: bool = True
) -> FocusResult:
    """The region a thumbnail should centre on, and which method found it.

    Faces win over the class activation map: on a portrait the classifier looks at the clothes
    (ImageNet has no "person" class), and the face is what a thumbnail should show.
    """
    from core.ai.cam import cam_box

    rgb = as_rgb_uint8(image)
    height, width = rgb.shape[:2]
    if engine is not None:
        detected = _detector_box(rgb, engine)
        if detected is not None:
            box, score, name = detected
            return FocusResult(box=box, method=f"detector:{name}", score=round(score, 4))
    if use_faces:
        face = _largest_face(rgb)
        if face is not None:
            return FocusResult(box=face[0], method="faces", score=face[1])
    note = "no inference engine" if engine is None else ""
    if engine is not None:
        found = cam_box(rgb, engine)
        if not isinstance(found, str):
            return FocusResult(found.box, f"cam:{found.model}", round(found.probability, 4))
        note = found
    salient = box_from_map(spectral_residual_saliency(rgb), width, height)
    if salient is not None and salient[1] >= MIN_SALIENCY_SCORE:
        return FocusResult(box=salient[0], method="saliency", score=round(salient[1], 4), note=note)
    return FocusResult(box=_centre_box(width, height), method="center", score=0.0, note=note)


def focus_crop(
    image: npt.NDArray[Any], box: tuple[int, int, int, int], size: int, margin: float = 0.35
) -> npt.NDArray[np.uint8]:
    """A ``size``×``size`` thumbnail centred on ``box`` with some context around it."""
    import cv2
    import numpy as np

    if size < 1:
        raise ValueError("thumbnail size must be positive")
    rgb = as_rgb_uint8(image)
    height, width = rgb.shape[:2]
    x, y, w, h = box
    side = int(max(w, h) * (1.0 + margin))
    side = max(1, min(max(side, min(width, height) // 3), width, height))
    cx, cy = x + w / 2.0, y + h / 2.0
    left = round(min(max(cx - side / 2.0, 0), width - side))
    top = round(min(max(cy - side / 2.0, 0), height - side))
    crop = rgb[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(crop, (size, size), interpolation=interpolation), np.uint8)
