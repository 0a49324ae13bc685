"""Paints one grid tile: thumbnail (aspect kept, centred), elided name, a detail line, badges, the
asset's stars and its colour label (a bar along the thumbnail's bottom edge and a dot by the name), and
the team's review verdict on a shared asset (a ✓ or ✗ in the thumbnail's top-right corner).

Everything painted comes from the model's roles (a loaded record and a cached pixmap): no query, no
file access and no decoding here. Placeholders are vector drawings and the theme's cached icons. A
video tile under the mouse shows the filmstrip cell under the cursor (hover-scrub) once its strip is
in the ``FilmstripCache``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from core.media.kinds import AssetKind
from core.sync.remote_assets import is_remote
from ui.common import theme
from ui.common.formatting import format_label, frame_range, human_duration, human_size, video_duration
from ui.library.asset_model import AssetRole
from ui.library.curation import LABEL_COLOURS, stars
from ui.library.filmstrip import cell_rect, filmstrip_cell
from ui.library.remote_badge import draw_remote_badge

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord
    from ui.library.filmstrip import FilmstripCache

PADDING = 6
TEXT_HEIGHT = 38
RADIUS = 6.0
# The verdicts a tile shows; "pending" shows nothing, as most assets are and a badge on each is noise.
REVIEW_BADGES: dict[str, tuple[str, QColor]] = {
    "approved": ("✓", theme.SUCCESS),
    "changes_requested": ("✗", QColor("#f08c2e")),
}


class AssetDelegate(QStyledItemDelegate):
    def __init__(self, parent: QWidget | None = None, tile_size: int = 160) -> None:
        super().__init__(parent)
        self.tile_size = tile_size
        self._name_font = QFont()
        self._name_font.setPointSizeF(max(8.0, self._name_font.pointSizeF()))
        self._small_font = QFont()
        self._small_font.setPointSizeF(max(7.0, self._name_font.pointSizeF() - 1.5))
        self._badge_font = QFont(self._small_font)
        self._badge_font.setBold(True)
        self.filmstrips: FilmstripCache | None = None
        self.scrub: tuple[int, float] | None = None  # (asset id, mouse x as 0..1 across the thumbnail)

    def set_tile_size(self, size: int) -> None:
        self.tile_size = size

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(self.tile_size + 2 * PADDING, self.tile_size + TEXT_HEIGHT + 2 * PADDING)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        record: AssetRecord | None = index.data(AssetRole.Record)
        if record is None:
            return
        pixmap: QPixmap | None = index.data(AssetRole.Thumbnail)
        thumb_failed = bool(index.data(AssetRole.ThumbnailFailed))
        rect: QRect = option.rect
        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)

        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        tile = QRectF(rect).adjusted(2, 2, -2, -2)
        background = theme.TILE_HOVER if hovered or selected else theme.TILE
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(background)
        painter.drawRoundedRect(tile, RADIUS, RADIUS)

        size = self.tile_size
        thumb_rect = QRect(rect.x() + PADDING, rect.y() + PADDING, size, size)
        painter.setBrush(theme.BASE)
        painter.drawRoundedRect(QRectF(thumb_rect), RADIUS - 2, RADIUS - 2)
        if self._draw_scrub_frame(painter, thumb_rect, record):
            pass
        elif pixmap is not None and not pixmap.isNull():
            self._draw_thumbnail(painter, thumb_rect, pixmap)
        else:
            self._draw_placeholder(painter, thumb_rect, record, thumb_failed)
        self._draw_badges(painter, thumb_rect, record)
        self._draw_curation(painter, thumb_rect, index)
        if record.status != "failed":  # the failure badge holds that corner
            self._draw_review(painter, thumb_rect, index)
        if is_remote(record):
            draw_remote_badge(painter, thumb_rect, self.tile_size)
        self._draw_text(painter, rect, thumb_rect, record, selected)

        if selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(theme.ACCENT, 2))
            painter.drawRoundedRect(tile.adjusted(1, 1, -1, -1), RADIUS, RADIUS)
        painter.restore()

    def _draw_thumbnail(self, painter: QPainter, area: QRect, pixmap: QPixmap) -> None:
        scaled = pixmap.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        if pixmap.width() <= area.width() and pixmap.height() <= area.height():
            scaled = pixmap.size()  # never blow a small thumbnail up: blurry tiles look broken
        target = QRect(0, 0, scaled.width(), scaled.height())
        target.moveCenter(area.center())
        clip = QPainterPath()
        clip.addRoundedRect(QRectF(area), RADIUS - 2, RADIUS - 2)
        painter.save()
        painter.setClipPath(clip)
        painter.drawPixmap(target, pixmap)
        painter.restore()

    def scrub_cell(self, record: AssetRecord) -> tuple[int, int] | None:
        """(cell, source frame) the hover-scrub shows for ``record`` now, or None (poster shown)."""
        if self.scrub is None or self.filmstrips is None or self.scrub[0] != record.id:
            return None
        loaded = self.filmstrips.cached(record.id)
        if loaded is None:
            return None
        strip = loaded[0]
        cell = filmstrip_cell(self.scrub[1], strip.cells)
        return cell, strip.frames[cell]

    def _draw_scrub_frame(self, painter: QPainter, area: QRect, record: AssetRecord) -> bool:
        chosen = self.scrub_cell(record)
        if chosen is None or self.filmstrips is None or self.scrub is None:
            return False
        loaded = self.filmstrips.cached(record.id)
        assert loaded is not None
        strip, pixmap = loaded
        cell, frame = chosen
        source = cell_rect(pixmap.width(), pixmap.height(), strip.cells, cell)
        scaled = source.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, scaled.width(), scaled.height())
        target.moveCenter(area.center())
        clip = QPainterPath()
        clip.addRoundedRect(QRectF(area), RADIUS - 2, RADIUS - 2)
        painter.save()
        painter.setClipPath(clip)
        painter.drawPixmap(target, pixmap, source)
        # Where in the clip the mouse is: a thin bar along the bottom edge.
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 140))
        painter.drawRect(QRectF(area.x(), area.bottom() - 3, area.width(), 4))
        painter.setBrush(theme.ACCENT)
        painter.drawRect(QRectF(area.x(), area.bottom() - 3, area.width() * self.scrub[1], 4))
        painter.restore()
        if self.tile_size >= 96:
            self._pill(painter, area.left() + 5, area.bottom() - 8, f"frame {frame}", QColor(0, 0, 0, 170),
                       Qt.AlignmentFlag.AlignLeft, from_bottom=True)  # fmt: skip
        return True

    def _draw_placeholder(
        self, painter: QPainter, area: QRect, record: AssetRecord, thumb_failed: bool
    ) -> None:
        glyph = max(20, area.width() // 3)
        glyph_rect = QRect(0, 0, glyph, glyph)
        glyph_rect.moveCenter(area.center())
        painter.setOpacity(0.55)
        theme.kind_icon(record.kind).paint(painter, glyph_rect)
        painter.setOpacity(1.0)
        if record.status == "pending":
            # A spinner-ish arc: the asset is being probed and its thumbnail made.
            ring = QRectF(glyph_rect).adjusted(-glyph * 0.3, -glyph * 0.3, glyph * 0.3, glyph * 0.3)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(255, 255, 255, 28), 3))
            painter.drawEllipse(ring)
            painter.setPen(QPen(theme.ACCENT, 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawArc(ring, 90 * 16, -100 * 16)
        elif record.status == "failed" or thumb_failed:
            painter.setFont(self._small_font)
            painter.setPen(theme.ERROR if record.status == "failed" else theme.TEXT_DIM)
            caption = "Failed" if record.status == "failed" else "No preview"
            text_rect = QRect(area.x(), glyph_rect.bottom() + 6, area.width(), 18)
            if text_rect.bottom() < area.bottom():
                painter.drawText(
                    text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, caption
                )

    def _draw_badges(self, painter: QPainter, area: QRect, record: AssetRecord) -> None:
        if self.tile_size >= 96:
            self._pill(painter, area.topLeft().x() + 5, area.top() + 5, format_label(record),
                       theme.kind_colour(record.kind), Qt.AlignmentFlag.AlignLeft)  # fmt: skip
        version = version_badge(record, compact=self.tile_size < 96)
        if version:
            below_kind = QFontMetrics(self._badge_font).height() + 5 if self.tile_size >= 96 else 0
            self._pill(painter, area.left() + 5, area.top() + 5 + below_kind, version, QColor(0, 0, 0, 190),
                       Qt.AlignmentFlag.AlignLeft, text_colour=theme.ACCENT)  # fmt: skip
        corner_text = None
        if record.is_sequence:
            corner_text = frame_range(record)
        elif record.kind in (AssetKind.VIDEO, AssetKind.AUDIO):
            duration = video_duration(record.metadata)
            corner_text = human_duration(duration) if duration is not None else None
        if corner_text and self.tile_size >= 96:
            self._pill(painter, area.right() - 5, area.bottom() - 5, corner_text, QColor(0, 0, 0, 170),
                       Qt.AlignmentFlag.AlignRight, from_bottom=True)  # fmt: skip
        if record.status == "failed":
            badge = QRectF(area.right() - 24, area.top() + 5, 19, 19)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.ERROR)
            painter.drawEllipse(badge)
            painter.setPen(QColor("#1b1c1f"))
            painter.setFont(self._badge_font)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "!")

    def _draw_curation(
        self, painter: QPainter, area: QRect, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        colour = LABEL_COLOURS.get(index.data(AssetRole.Label))
        if colour is not None:
            # Along the bottom edge, where it reads at every tile size and hides no picture content.
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(area.x(), area.bottom() - 4, area.width(), 5), 2, 2)
        rating = int(index.data(AssetRole.Rating) or 0)
        if rating:
            # Small tiles show the count only, so the stars never cover most of the thumbnail.
            text = stars(rating) if self.tile_size >= 96 else f"{rating}★"
            self._pill(painter, area.left() + 4, area.bottom() - 7, text, QColor(0, 0, 0, 170),
                       Qt.AlignmentFlag.AlignLeft, from_bottom=True, text_colour=theme.WARNING)  # fmt: skip

    def _draw_review(
        self, painter: QPainter, area: QRect, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        badge = REVIEW_BADGES.get(index.data(AssetRole.Review))
        if badge is None:
            return
        glyph, colour = badge
        side = 19 if self.tile_size >= 96 else 15
        circle = QRectF(area.right() - side - 5, area.top() + 5, side, side)
        # A dark ring keeps the badge readable on a light or same-coloured thumbnail.
        painter.setPen(QPen(QColor(0, 0, 0, 150), 1.5))
        painter.setBrush(colour)
        painter.drawEllipse(circle)
        painter.setPen(QColor("#1b1c1f"))
        painter.setFont(self._badge_font)
        painter.drawText(circle, Qt.AlignmentFlag.AlignCenter, glyph)

    def _pill(
        self,
        painter: QPainter,
        x: int,
        y: int,
        text: str,
        colour: QColor,
        align: Qt.AlignmentFlag,
        *,
        from_bottom: bool = False,
        text_colour: QColor | None = None,
    ) -> None:
        metrics = QFontMetrics(self._badge_font)
        width = metrics.horizontalAdvance(text) + 10
        height = metrics.height() + 2
        left = x - width if align == Qt.AlignmentFlag.AlignRight else x
        top = y - height if from_bottom else y
        pill = QRectF(left, top, width, height)
        fill = QColor(colour)
        if fill.alpha() == 255:
            fill.setAlpha(215)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(pill, 4, 4)
        painter.setPen(text_colour or QColor("#ffffff"))
        painter.setFont(self._badge_font)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    def _draw_text(
        self, painter: QPainter, rect: QRect, thumb_rect: QRect, record: AssetRecord, selected: bool
    ) -> None:
        left = rect.x() + PADDING + 2
        width = rect.width() - 2 * PADDING - 4
        top = thumb_rect.bottom() + 5
        painter.setFont(self._name_font)
        metrics = QFontMetrics(self._name_font)
        name = metrics.elidedText(record.name, Qt.TextElideMode.ElideMiddle, width)
        painter.setPen(theme.TEXT_BRIGHT if selected else theme.TEXT)
        painter.drawText(QRect(left, top, width, metrics.height()), Qt.AlignmentFlag.AlignLeft, name)
        painter.setFont(self._small_font)
        small = QFontMetrics(self._small_font)
        detail = _detail_line(record)
        painter.setPen(theme.ERROR if record.status == "failed" else theme.TEXT_DIM)
        detail = small.elidedText(detail, Qt.TextElideMode.ElideRight, width)
        painter.drawText(
            QRect(left, top + metrics.height() + 1, width, small.height()), Qt.AlignmentFlag.AlignLeft, detail
        )


def _detail_line(record: AssetRecord) -> str:
    if record.status == "failed":
        return (record.error or "Failed").splitlines()[0]
    width, height = record.metadata.get("width"), record.metadata.get("height")
    parts = []
    if isinstance(width, int) and isinstance(height, int):
        parts.append(f"{width}×{height}")
    faces = record.metadata.get("faces")
    if record.kind == AssetKind.GEOMETRY and isinstance(faces, int):
        parts.append(f"{faces:,} faces")
    parts.append(human_size(record.size_bytes))
    return " · ".join(parts)


def version_badge(record: AssetRecord, *, compact: bool = False) -> str:
    """The stack badge: "v003 of 3" on the latest of three (the tile stands for the stack); "" unstacked."""
    if record.version is None or record.stack_size < 2:
        return ""
    return f"v{record.version}" if compact else f"v{record.version:03d} of {record.stack_size}"
