"""The viewer's drawing surface and its decoder: one image at a zoom and offset, with optional focus box
and caption, whose view can follow another canvas (side-by-side comparison), and the decode that a
background worker runs to get full-size pixels off the UI thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from ui.common import theme

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from core.media.decode import FloatImage
    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
WHEEL_STEP = 1.25


def _checkerboard(cell: int = 10) -> QPixmap:
    tile = QPixmap(cell * 2, cell * 2)
    tile.fill(theme.CHECKER_DARK)
    painter = QPainter(tile)
    painter.fillRect(0, 0, cell, cell, theme.CHECKER_LIGHT)
    painter.fillRect(cell, cell, cell, cell, theme.CHECKER_LIGHT)
    painter.end()
    return tile


class ImageCanvas(QWidget):
    """Paints one image at a zoom and offset; fit mode follows the widget's size.

    ``view_changed`` fires on every zoom or pan so a second canvas can follow with ``follow``.
    """

    zoom_changed = Signal(float)
    view_changed = Signal()
    hovered = Signal(object)  # (x, y) image pixel under the cursor, or None off the image

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pixmap = QPixmap()
        self._has_alpha = False
        self._zoom = 1.0
        self._offset = QPointF(0, 0)  # top-left of the image in widget coordinates
        self._fit_mode = True
        self._drag_from: QPointF | None = None
        self._checker = QBrush(_checkerboard())
        self._overlay: QRectF | None = None  # image pixels
        self._overlay_label = ""
        self.caption = ""

    def set_overlay_box(self, box: QRectF | None, label: str = "") -> None:
        """A rectangle in image pixels drawn over the image (the focus crop), or None for none."""
        self._overlay = box
        self._overlay_label = label
        self.update()

    @property
    def overlay_box(self) -> QRectF | None:
        return self._overlay

    def set_caption(self, text: str) -> None:
        self.caption = text
        self.update()

    def follow(self, other: ImageCanvas) -> None:
        """Show the same part of the picture as ``other``, even when the two images differ in size
        (an enhanced image may be upscaled): zoom is matched per unit of picture width."""
        if self._pixmap.isNull() or other._pixmap.isNull():
            return
        ratio = other._pixmap.width() / self._pixmap.width()
        self._fit_mode = other._fit_mode
        self._set_zoom(max(MIN_ZOOM / 4, min(MAX_ZOOM * 4, other._zoom * ratio)), notify=False)
        self._offset = QPointF(other._offset)
        self.update()

    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def fit_mode(self) -> bool:
        return self._fit_mode

    def image_size(self) -> QSize:
        return self._pixmap.size()

    def set_image(self, image: QImage) -> None:
        self.replace_image(image)
        self.fit()

    def replace_image(self, image: QImage) -> None:
        """Show other pixels of the same picture (a colour change) keeping zoom and pan."""
        self._pixmap = QPixmap.fromImage(image)
        self._has_alpha = image.hasAlphaChannel()
        self.update()

    def image_pixel(self, point: QPointF) -> tuple[int, int] | None:
        """The image pixel under a widget point, or None off the image."""
        if self._pixmap.isNull():
            return None
        image_point = (point - self._offset) / self._zoom
        x, y = int(image_point.x() // 1), int(image_point.y() // 1)
        inside = 0 <= x < self._pixmap.width() and 0 <= y < self._pixmap.height()
        return (x, y) if inside else None

    def image(self) -> QImage:
        return self._pixmap.toImage()

    def clear(self) -> None:
        self._pixmap = QPixmap()
        self._overlay = None
        self.update()

    def fit(self) -> None:
        """Whole image in view; small images stay at 1:1 rather than being blown up soft."""
        self._fit_mode = True
        if self._pixmap.isNull() or self.width() < 2 or self.height() < 2:
            self._set_zoom(1.0)
            return
        scale = min(self.width() / self._pixmap.width(), self.height() / self._pixmap.height(), 1.0)
        self._set_zoom(scale)
        self._centre()

    def actual_size(self) -> None:
        self._fit_mode = False
        self.zoom_at(1.0, QPointF(self.width() / 2, self.height() / 2))

    def zoom_at(self, zoom: float, anchor: QPointF) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coordinates) where it is."""
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        image_point = (anchor - self._offset) / self._zoom
        self._fit_mode = False
        self._set_zoom(zoom, notify=False)
        self._offset = anchor - image_point * zoom
        self.update()
        self.view_changed.emit()

    def zoom_by(self, factor: float) -> None:
        self.zoom_at(self._zoom * factor, QPointF(self.width() / 2, self.height() / 2))

    def image_rect(self) -> QRectF:
        size = self._pixmap.size()
        return QRectF(
            self._offset.x(), self._offset.y(), size.width() * self._zoom, size.height() * self._zoom
        )

    def _set_zoom(self, zoom: float, *, notify: bool = True) -> None:
        if zoom != self._zoom:
            self._zoom = zoom
            self.zoom_changed.emit(zoom)
        self.update()
        if notify:
            self.view_changed.emit()

    def _centre(self) -> None:
        size = self._pixmap.size()
        self._offset = QPointF(
            (self.width() - size.width() * self._zoom) / 2, (self.height() - size.height() * self._zoom) / 2
        )
        self.update()
        self.view_changed.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self._fit_mode:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps and not self._pixmap.isNull():
            self.zoom_at(self._zoom * WHEEL_STEP**steps, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.hovered.emit(self.image_pixel(event.position()))
        if self._drag_from is not None:
            self._offset += event.position() - self._drag_from
            self._drag_from = event.position()
            self._fit_mode = False
            self.update()
            self.view_changed.emit()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.unsetCursor()

    def leaveEvent(self, event: QEvent) -> None:
        self.hovered.emit(None)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._fit_mode:
            self.zoom_at(1.0, event.position())
        else:
            self.fit()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.BASE)
        if self._pixmap.isNull():
            return
        target = self.image_rect()
        if self._has_alpha:
            painter.fillRect(target, self._checker)
        # Smooth when shrinking; nearest when magnifying so pixels stay inspectable.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 1.0)
        painter.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))
        if self._overlay is not None:
            self._paint_overlay(painter, target)
        if self.caption:
            self._paint_caption(painter)

    def overlay_rect(self) -> QRectF | None:
        """The overlay box in widget coordinates (where the user sees it)."""
        if self._overlay is None:
            return None
        box = self._overlay
        return QRectF(
            self._offset.x() + box.x() * self._zoom,
            self._offset.y() + box.y() * self._zoom,
            box.width() * self._zoom,
            box.height() * self._zoom,
        )

    def _paint_overlay(self, painter: QPainter, target: QRectF) -> None:
        box = self.overlay_rect()
        assert box is not None
        # Dim what lies outside the box so the crop reads at a glance, then outline it.
        outside = QPainterPath()
        outside.addRect(target)
        inside = QPainterPath()
        inside.addRect(box)
        painter.fillPath(outside.subtracted(inside), QColor(0, 0, 0, 110))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(theme.WARNING, 2, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(box)
        if self._overlay_label:
            # The label sits just above the box (inside it only when the box touches the top edge).
            height = painter.fontMetrics().height()
            top = box.top() - height - 2 if box.top() - height - 2 >= target.top() else box.top() + 2
            painter.setPen(theme.WARNING)
            painter.drawText(QRectF(box.left(), top, max(box.width(), 200), height),
                             Qt.AlignmentFlag.AlignLeft, self._overlay_label)  # fmt: skip

    def _paint_caption(self, painter: QPainter) -> None:
        metrics = painter.fontMetrics()
        width = metrics.horizontalAdvance(self.caption) + 16
        pill = QRectF(10, 10, width, metrics.height() + 6)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(pill, 4, 4)
        painter.setPen(theme.TEXT_BRIGHT)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, self.caption)


@dataclass(frozen=True)
class Decoded:
    """A viewer decode's outcome: the pixels, or a null image and why (shown to the user)."""

    request: int
    image: QImage
    error: str = ""
    float_image: FloatImage | None = None  # the still's float pixels, for colour controls and the probe


def decode_for_viewer(request: int, path: Path, limits: MediaLimits | None) -> Decoded:
    """A pool thread's work for the viewer: a decoder failure is an outcome to show, never a raise."""
    try:
        return Decoded(request, decode_to_qimage(path, limits))
    except Exception as exc:  # noqa: BLE001 - any decoder failure is shown to the user
        log.warning("Viewer cannot decode %s: %s", path, exc)
        return Decoded(request, QImage(), str(exc) or type(exc).__name__)


def decode_to_qimage(path: Path, limits: MediaLimits | None) -> QImage:
    """Full-size pixels as a QImage (worker thread). Our own JPEG/PNG renders go straight to Qt."""
    if limits is None:
        image = QImage(str(path))
        if image.isNull():
            raise ValueError(f"Cannot read {path.name}")
        return image
    from core.media.decode import load_image_rgba  # lazy: numpy/cv2/OpenEXR

    return pixels_to_qimage(load_image_rgba(path, limits))


def pixels_to_qimage(pixels: np.ndarray) -> QImage:
    """uint8 HxW, HxWx3 or HxWx4 to a QImage that owns a copy of the pixels."""
    height, width = pixels.shape[:2]
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    formats = {
        1: QImage.Format.Format_Grayscale8,
        3: QImage.Format.Format_RGB888,
        4: QImage.Format.Format_RGBA8888,
    }
    contiguous = pixels if pixels.flags["C_CONTIGUOUS"] else pixels.copy()
    # copy(): the QImage must own its pixels once the numpy array goes away.
    return QImage(contiguous.data, width, height, width * channels, formats[channels]).copy()
