"""The classical focus crop finds a face before it falls back to saliency."""

from __future__ import annotations

import cv2
import numpy as np

from core.ai.focus import face_available, focus_box


def _portrait_off_centre() -> np.ndarray:
    image = np.full((400, 600, 3), (90, 120, 160), np.uint8)
    cx, cy = 420, 200
    cv2.ellipse(image, (cx, cy), (70, 95), 0, 0, 360, (225, 190, 170), -1)
    for dx in (-28, 28):
        cv2.ellipse(image, (cx + dx, cy - 20), (14, 7), 0, 0, 360, (40, 30, 30), -1)  # eyes
        cv2.line(image, (cx + dx - 16, cy - 40), (cx + dx + 16, cy - 40), (60, 40, 30), 5)  # brows
    cv2.line(image, (cx, cy - 10), (cx - 6, cy + 22), (170, 130, 110), 4)  # nose
    cv2.ellipse(image, (cx, cy + 48), (26, 8), 0, 0, 360, (120, 50, 50), -1)  # mouth
    return cv2.GaussianBlur(image, (5, 5), 0)


def test_the_pinned_opencv_provides_face_detection() -> None:
    assert face_available()


def test_focus_box_is_the_face() -> None:
    result = focus_box(_portrait_off_centre())
    assert result.method == "faces"
    x, y, w, h = result.box
    assert x <= 420 <= x + w
    assert y <= 200 <= y + h
    assert w < 300  # the face, not the whole frame


def test_focus_crops_run_safely_side_by_side() -> None:
    """The inference lane runs several focus crops at once (a shared OpenCV cascade crashed here)."""
    from concurrent.futures import ThreadPoolExecutor

    image = _portrait_off_centre()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _i: focus_box(image), range(32)))
    assert {r.method for r in results} == {"faces"}
    assert len({r.box for r in results}) == 1
