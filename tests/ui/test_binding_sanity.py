"""The Qt binding itself: a regression in it crashes the app however correct our code is.

PySide6 6.12.0 (on Python 3.11) drops a reference to ``None`` on every void ``QPainter`` call; the grid's
delegate makes about twenty per tile, so scrolling a library ended in "Fatal Python error:
none_dealloc". pyproject.toml keeps that release out; this test fails if a broken one comes back.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

CALLS = 200  # small enough that a broken binding fails this assertion instead of crashing


def test_painting_keeps_references_to_none(qapp: Any) -> None:
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        gc.collect()
        before = sys.getrefcount(None)
        for _ in range(CALLS):
            painter.save()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(10, 20, 30))
            painter.drawRect(QRectF(0, 0, 8, 8))
            painter.restore()
        gc.collect()
        lost = before - sys.getrefcount(None)
    finally:
        painter.end()
    # A healthy binding may keep a few more references (caches); a broken one loses one per call.
    assert lost < CALLS // 10, f"the Qt binding lost {lost} references to None in {CALLS} paints"
