"""The player's scrub bar: a slider that also shows the in/out range (I and O keys) as a band.

The band is painted over the groove in the style's own geometry (``QStyle.sliderPositionFromValue``),
so the marks line up with the handle on every style; the handle is drawn last, on top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider

if TYPE_CHECKING:
    from PySide6.QtGui import QPaintEvent
    from PySide6.QtWidgets import QWidget

    from core.video.play_path import FrameRange

RANGE_COLOUR = QColor(255, 170, 40)


class TimelineSlider(QSlider):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._range: FrameRange | None = None
        self.setMinimumHeight(22)

    def set_play_range(self, frames: FrameRange | None) -> None:
        self._range = frames
        self.setToolTip(
            "" if frames is None else f"In {frames.first} - out {frames.last} (I / O to set, Shift+I clears)"
        )
        self.update()

    def range_rect(self) -> QRect:
        """Where the band is drawn (empty when no in/out range is set)."""
        frames = self._range
        if frames is None or self.maximum() <= self.minimum():
            return QRect()
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        style = self.style()
        groove = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self
        )
        span = groove.width() - handle.width()

        def x_of(frame: int) -> int:
            offset = QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), frame, span)
            return groove.left() + handle.width() // 2 + offset

        left, right = x_of(frames.first), x_of(frames.last)
        return QRect(left, groove.center().y() - 4, max(2, right - left), 8)

    def paintEvent(self, event: QPaintEvent) -> None:
        band = self.range_rect()
        if band.isNull():
            super().paintEvent(event)
            return
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        painter = QPainter(self)
        option.subControls = QStyle.SubControl.SC_SliderGroove
        self.style().drawComplexControl(QStyle.ComplexControl.CC_Slider, option, painter, self)
        fill = QColor(RANGE_COLOUR)
        fill.setAlpha(110)
        painter.fillRect(band, fill)
        painter.setPen(QPen(RANGE_COLOUR, 2))
        painter.drawLine(band.left(), band.top() - 4, band.left(), band.bottom() + 4)
        painter.drawLine(band.right(), band.top() - 4, band.right(), band.bottom() + 4)
        option.subControls = QStyle.SubControl.SC_SliderHandle
        self.style().drawComplexControl(QStyle.ComplexControl.CC_Slider, option, painter, self)
        painter.end()
