"""The player's picture: the current frame fitted to the widget on black, or a message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

if TYPE_CHECKING:
    from PySide6.QtGui import QPaintEvent


class FrameCanvas(QWidget):
    """Paints the current picture fitted to the widget on black, or a message."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self._message = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_image(self, image: QImage) -> None:
        self._image, self._message = image, ""
        self.update()

    def set_message(self, text: str) -> None:
        self._message = text
        self.update()

    def image(self) -> QImage:
        return self._image

    def image_rect(self) -> QRectF:
        """Where ``paintEvent`` puts the picture: fitted, centred (empty when there is none)."""
        if self._image.isNull():
            return QRectF()
        return QRectF(self._fitted_target())

    def _fitted_target(self) -> QRect:
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(self.rect().center())
        return target

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    def paintEvent(self, event: QPaintEvent) -> None:
        del event
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._message:
            painter.setPen(Qt.GlobalColor.lightGray)
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message
            )
        elif not self._image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._fitted_target(), self._image)
        painter.end()
