"""The viewer's drawing surface and its decoder: one image at a zoom and offset, with optional focus box
and caption, whose view can follow another canvas (side-by-side comparison), and the worker task that
decodes full-size pixels off the UI thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap, QWheelEvent
from PySide6.QtWidgets import QWidget

from ui import theme

if TYPE_CHECKING:
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
    """Paints one image at a zoom and offset; fit mode follows the widget's size."""

    zoom_changed = Signal(float)

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

    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def fit_mode(self) -> bool:
        return self._fit_mode

    def image_size(self) -> QSize:
        return self._pixmap.size()

    def set_image(self, image: QImage) -> None:
        self._pixmap = QPixmap.fromImage(image)
        self._has_alpha = image.hasAlphaChannel()
        self.fit()

    def clear(self) -> None:
        self._pixmap = QPixmap()
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
        self._set_zoom(zoom)
        self._offset = anchor - image_point * zoom
        self.update()

    def zoom_by(self, factor: float) -> None:
        self.zoom_at(self._zoom * factor, QPointF(self.width() / 2, self.height() / 2))

    def image_rect(self) -> QRectF:
        size = self._pixmap.size()
        return QRectF(
            self._offset.x(), self._offset.y(), size.width() * self._zoom, size.height() * self._zoom
        )

    def _set_zoom(self, zoom: float) -> None:
        if zoom != self._zoom:
            self._zoom = zoom
            self.zoom_changed.emit(zoom)
        self.update()

    def _centre(self) -> None:
        size = self._pixmap.size()
        self._offset = QPointF(
            (self.width() - size.width() * self._zoom) / 2, (self.height() - size.height() * self._zoom) / 2
        )
        self.update()

    def resizeEvent(self, event: object) -> None:  # type: ignore[override]
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
        if self._drag_from is not None:
            self._offset += event.position() - self._drag_from
            self._drag_from = event.position()
            self._fit_mode = False
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._fit_mode:
            self.zoom_at(1.0, event.position())
        else:
            self.fit()

    def paintEvent(self, event: object) -> None:  # type: ignore[override]
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


class _DecodeRelay(QObject):
    done = Signal(int, QImage, str)  # request id, image (null on error), error text


class _DecodeTask(QRunnable):
    def __init__(self, request: int, path: Path, limits: MediaLimits | None, relay: _DecodeRelay) -> None:
        super().__init__()
        self._request, self._path, self._limits, self._relay = request, path, limits, relay

    def run(self) -> None:
        try:
            image = decode_to_qimage(self._path, self._limits)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is shown to the user, not raised
            log.warning("Viewer cannot decode %s: %s", self._path, exc)
            self._relay.done.emit(self._request, QImage(), str(exc) or type(exc).__name__)
            return
        self._relay.done.emit(self._request, image, "")


def decode_to_qimage(path: Path, limits: MediaLimits | None) -> QImage:
    """Full-size pixels as a QImage (worker thread). Our own JPEG/PNG renders go straight to Qt."""
    if limits is None:
        image = QImage(str(path))
        if image.isNull():
            raise ValueError(f"Cannot read {path.name}")
        return image
    from core.media.decode import load_image_rgba  # lazy: numpy/cv2/OpenEXR

    pixels = load_image_rgba(path, limits)
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


