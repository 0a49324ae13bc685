"""The cloud badge of a grid tile whose media are on the server, not on this machine (a teammate's
published asset, ``core.sync.remote_assets``): drawn as vectors, so it needs no glyph from the font."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from ui.common import theme

BADGE_TIP = "On the server: double-click or Download to fetch it"


def cloud_path(box: QRectF) -> QPainterPath:
    """A cloud filling ``box``: three bumps on a flat base."""
    w, h = box.width(), box.height()
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)
    path.addRoundedRect(QRectF(box.left(), box.top() + h * 0.45, w, h * 0.55), h * 0.27, h * 0.27)
    path.addEllipse(QRectF(box.left() + w * 0.12, box.top() + h * 0.25, w * 0.38, h * 0.6))
    path.addEllipse(QRectF(box.left() + w * 0.36, box.top(), w * 0.46, h * 0.78))
    return path.simplified()


def draw_remote_badge(painter: QPainter, area: QRect, tile_size: int) -> None:
    """A cloud with a down arrow in the thumbnail's top-right corner, left of the review verdict."""
    side = 19 if tile_size >= 96 else 15
    width = side * 1.45
    plate = QRectF(area.right() - width - side - 10, area.top() + 5, width, side)
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 170))
    painter.drawRoundedRect(plate, 4, 4)
    cloud = plate.adjusted(side * 0.18, side * 0.16, -side * 0.18, -side * 0.16)
    painter.setBrush(theme.ACCENT)
    painter.drawPath(cloud_path(cloud))
    arrow = QPen(QColor("#1b1c1f"), max(1.4, side / 11))
    arrow.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(arrow)
    x = cloud.center().x() + cloud.width() * 0.05
    top, bottom = cloud.top() + cloud.height() * 0.35, cloud.bottom() - cloud.height() * 0.12
    head = cloud.height() * 0.22
    painter.drawLine(QPointF(x, top), QPointF(x, bottom))
    painter.drawLine(QPointF(x - head, bottom - head), QPointF(x, bottom))
    painter.drawLine(QPointF(x + head, bottom - head), QPointF(x, bottom))
    painter.restore()
