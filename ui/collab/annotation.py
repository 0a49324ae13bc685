"""Drawn review annotations: freehand strokes over the image or frame in the viewer.

Strokes are stored with the comment as JSON in normalised image coordinates (0..1 across the image's
width and height; the pen width as a fraction of the image width), so a drawing lands on the same pixels
at any zoom, pan or window size, and on another reviewer's screen::

    {"version": 1, "strokes": [{"colour": "#ff453a", "width": 0.004, "points": [[0.1, 0.2], ...]}],
     "hold": 3}

A drawing belongs to a frame: the note it travels with is anchored there, and it shows on that frame only
(or for ``hold`` frames from it, for a note about a moment rather than one picture); on a still, always.

``AnnotationOverlay`` sits on top of a host widget (the viewer's canvas) and asks it where the image is
(``rect_provider``). It paints two layers: the draft being drawn (the only strokes a new note takes) and
the drawing of the note the user picked (shown, never sent again). ``AnnotationToolbar`` holds the pen,
the hold, and the draw/undo/clear actions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSpinBox, QToolButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

ANNOTATION_VERSION = 1
PEN_COLOURS = ("#ff453a", "#ffd60a", "#30d158", "#0a84ff", "#ffffff")
PEN_WIDTHS = (("Thin", 2.0), ("Medium", 4.0), ("Thick", 8.0))  # screen pixels when drawn
MAX_POINTS_PER_STROKE = 2000  # keeps a comment far below the protocol's message size limit
MAX_STROKES = 200
MAX_HOLD = 1000  # frames a drawing may be held on screen


@dataclass
class Stroke:
    colour: str
    width: float  # fraction of the image width
    points: list[tuple[float, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "colour": self.colour,
            "width": round(self.width, 5),
            "points": [[round(x, 4), round(y, 4)] for x, y in self.points],
        }


def strokes_to_json(strokes: list[Stroke], hold: int = 1) -> dict[str, Any] | None:
    drawn = [s for s in strokes if s.points]
    if not drawn:
        return None
    annotation: dict[str, Any] = {"version": ANNOTATION_VERSION, "strokes": [s.to_json() for s in drawn]}
    if hold > 1:
        annotation["hold"] = hold
    return annotation


def annotation_hold(annotation: object) -> int:
    """For how many frames from its note's frame a drawing shows (1: that frame only)."""
    hold = annotation.get("hold") if isinstance(annotation, dict) else None
    return min(MAX_HOLD, hold) if isinstance(hold, int) and not isinstance(hold, bool) and hold > 1 else 1


def strokes_from_json(annotation: object) -> list[Stroke]:
    """Strokes of a stored annotation; anything malformed (another client's bug) is skipped, logged."""
    if not isinstance(annotation, dict) or not isinstance(annotation.get("strokes"), list):
        return []
    strokes: list[Stroke] = []
    for raw in annotation["strokes"][:MAX_STROKES]:
        try:
            colour = QColor(str(raw["colour"]))
            points = [(min(1.0, max(0.0, float(x))), min(1.0, max(0.0, float(y)))) for x, y in raw["points"]]
            strokes.append(
                Stroke(colour.name() if colour.isValid() else PEN_COLOURS[0], float(raw["width"]), points)
            )
        except (KeyError, TypeError, ValueError):
            log.warning("Skipping a malformed annotation stroke")
    return strokes


def has_strokes(annotation: object) -> bool:
    return bool(strokes_from_json(annotation))


class AnnotationOverlay(QWidget):
    """Transparent layer over ``host``: paints strokes; while drawing, the mouse draws instead of panning."""

    changed = Signal()

    def __init__(self, host: QWidget, rect_provider: Callable[[], QRectF]) -> None:
        super().__init__(host)
        self.setObjectName("AnnotationOverlay")
        self._host = host
        self._rect_provider = rect_provider
        self._strokes: list[Stroke] = []  # the draft: what the next note carries
        self._draft_frame: int | None = None  # the frame the draft was drawn on
        self._shown: list[Stroke] = []  # the picked note's drawing
        self._shown_frame: int | None = None
        self._shown_hold = 1
        self._frame: int | None = None  # the frame on screen (None: a still)
        self._current: Stroke | None = None
        self._drawing = False
        self.colour = PEN_COLOURS[0]
        self.pen_pixels = PEN_WIDTHS[1][1]
        self.hold = 1  # frames the draft shows for, from its frame
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setGeometry(host.rect())
        host.installEventFilter(self)
        self.show()

    def attach(self, host: QWidget, rect_provider: Callable[[], QRectF]) -> None:
        """Move onto another host (the viewer switched between a still and a video page)."""
        if host is self._host:
            self._rect_provider = rect_provider
            return
        self._host.removeEventFilter(self)
        self._host, self._rect_provider = host, rect_provider
        self.setParent(host)
        self.setGeometry(host.rect())
        host.installEventFilter(self)
        self.show()
        self.raise_()

    # ---- state -----------------------------------------------------------------------------------

    @property
    def drawing(self) -> bool:
        return self._drawing

    def set_drawing(self, on: bool) -> None:
        """Draw mode: the mouse draws strokes (the host's panning is suspended); a picked note's
        drawing steps aside so the draft is seen alone."""
        self._drawing = on
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, not on)
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        if on:
            self.show_annotation(None)
        self.raise_()

    def set_frame(self, frame: int | None) -> None:
        """The frame now on screen, as the clip numbers it: drawings of other frames are hidden."""
        if frame != self._frame:
            self._frame = frame
            self.update()

    @property
    def draft_frame(self) -> int | None:
        """The frame the draft belongs to (where its first stroke was drawn)."""
        return self._draft_frame

    def strokes(self) -> list[Stroke]:
        """The draft's strokes."""
        return list(self._strokes)

    def set_strokes(self, strokes: list[Stroke]) -> None:
        """Replace the draft; an empty one belongs to no frame until drawn on again."""
        self._strokes = list(strokes)
        self._current = None
        if not self._strokes:
            self._draft_frame = None
        self.update()
        self.changed.emit()

    def annotation(self) -> dict[str, Any] | None:
        """The draft as stored with a note (None when nothing is drawn)."""
        return strokes_to_json(self._strokes, self.hold)

    def show_annotation(self, annotation: object, frame: int | None = None) -> None:
        """Show a note's drawing, anchored at the note's ``frame``; ``None`` hides it."""
        self._shown = strokes_from_json(annotation)
        self._shown_frame, self._shown_hold = frame, annotation_hold(annotation)
        self.update()

    def reset(self) -> None:
        """Another asset or page: no draft, no picked drawing."""
        self.show_annotation(None)
        self.set_strokes([])

    def visible_strokes(self) -> list[Stroke]:
        """What is painted at the frame on screen."""
        visible = list(self._strokes) if self._covers(self._draft_frame, self.hold) else []
        if self._covers(self._shown_frame, self._shown_hold):
            visible += self._shown
        return visible

    def _covers(self, anchor: int | None, hold: int) -> bool:
        if anchor is None or self._frame is None:
            return True
        return anchor <= self._frame < anchor + hold

    def undo(self) -> None:
        if self._strokes:
            self._strokes.pop()
            if not self._strokes:
                self._draft_frame = None
            self.update()
            self.changed.emit()

    def clear(self) -> None:
        if self._strokes:
            self.set_strokes([])

    # ---- geometry --------------------------------------------------------------------------------

    def _image_rect(self) -> QRectF:
        return self._rect_provider()

    def to_image(self, point: QPointF) -> tuple[float, float] | None:
        rect = self._image_rect()
        if rect.width() <= 0 or rect.height() <= 0:
            return None
        x = (point.x() - rect.x()) / rect.width()
        y = (point.y() - rect.y()) / rect.height()
        return min(1.0, max(0.0, x)), min(1.0, max(0.0, y))

    def to_widget(self, point: tuple[float, float]) -> QPointF:
        rect = self._image_rect()
        return QPointF(rect.x() + point[0] * rect.width(), rect.y() + point[1] * rect.height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._host and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._host.rect())
        return False

    # ---- drawing ---------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not self._drawing or event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.to_image(event.position())
        rect = self._image_rect()
        if point is None or len(self._strokes) >= MAX_STROKES:
            return
        if not self._strokes or not self._covers(self._draft_frame, self.hold):
            # A new draft, or one left on another frame: the drawing now belongs to this frame.
            self._strokes, self._draft_frame = [], self._frame
        self._current = Stroke(self.colour, self.pen_pixels / max(1.0, rect.width()), [point])
        self._strokes.append(self._current)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._current is None:
            return
        point = self.to_image(event.position())
        if point is not None and len(self._current.points) < MAX_POINTS_PER_STROKE:
            self._current.points.append(point)
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._current is not None:
            self._current = None
            self.changed.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        strokes = self.visible_strokes()
        rect = self._image_rect()
        if not strokes or rect.width() <= 0:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for stroke in strokes:
            pen = QPen(QColor(stroke.colour), max(1.0, stroke.width * rect.width()))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            if len(stroke.points) == 1:
                painter.drawPoint(self.to_widget(stroke.points[0]))
                continue
            path = QPainterPath(self.to_widget(stroke.points[0]))
            for point in stroke.points[1:]:
                path.lineTo(self.to_widget(point))
            painter.drawPath(path)
        painter.end()


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#1c1c1e"), 1))
    painter.setBrush(QColor(colour))
    painter.drawEllipse(1, 1, 14, 14)
    painter.end()
    return QIcon(pixmap)


class AnnotationToolbar(QWidget):
    """Draw toggle, pen colours and width, hold, undo and clear, for one overlay."""

    def __init__(self, overlay: AnnotationOverlay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.overlay = overlay
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(4)
        row = QHBoxLayout()  # draw toggle, colours, undo and clear
        row.setSpacing(2)
        tools = QHBoxLayout()  # pen width and hold: each needs room for its words
        tools.setSpacing(4)
        rows.addLayout(row)
        rows.addLayout(tools)
        self.draw_button = QToolButton()
        self.draw_button.setText("✎ Draw")
        self.draw_button.setCheckable(True)
        self.draw_button.setToolTip("Draw on the image; the drawing is sent with your comment")
        self.draw_button.toggled.connect(overlay.set_drawing)
        row.addWidget(self.draw_button)
        self.colour_buttons: list[QToolButton] = []
        for colour in PEN_COLOURS:
            button = QToolButton()
            button.setObjectName("Flat")
            button.setIcon(_swatch(colour))
            button.setIconSize(QSize(14, 14))
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.setChecked(colour == overlay.colour)
            button.setToolTip(f"Pen colour {colour}")
            button.clicked.connect(lambda _c=False, c=colour: self._pick_colour(c))
            self.colour_buttons.append(button)
            row.addWidget(button)
        self.width_combo = QComboBox()
        for label, pixels in PEN_WIDTHS:
            self.width_combo.addItem(label, pixels)
        self.width_combo.setCurrentIndex(1)
        self.width_combo.currentIndexChanged.connect(
            lambda i: setattr(overlay, "pen_pixels", float(self.width_combo.itemData(i)))
        )
        row.addStretch(1)
        tools.addWidget(self.width_combo, 1)
        self.hold_spin = QSpinBox()
        self.hold_spin.setRange(1, MAX_HOLD)
        self.hold_spin.setPrefix("hold ")
        self.hold_spin.setSuffix(" fr")
        self.hold_spin.setToolTip("Frames the drawing stays on screen, from the frame it is drawn on")
        self.hold_spin.valueChanged.connect(self._set_hold)
        self.hold_spin.setMinimumWidth(self.hold_spin.sizeHint().width() + 12)
        tools.addWidget(self.hold_spin)
        self.undo_button = QToolButton()
        self.undo_button.setText("↶")  # glyphs: the row is as narrow as the side panel
        self.undo_button.setToolTip("Undo the last stroke")
        self.undo_button.clicked.connect(overlay.undo)
        self.clear_button = QToolButton()
        self.clear_button.setText("✕")
        self.clear_button.setToolTip("Clear the drawing")
        self.clear_button.clicked.connect(overlay.clear)
        row.addWidget(self.undo_button)
        row.addWidget(self.clear_button)
        overlay.changed.connect(self._update_buttons)
        self._update_buttons()

    def _pick_colour(self, colour: str) -> None:
        self.overlay.colour = colour
        if not self.draw_button.isChecked():
            self.draw_button.setChecked(True)

    def _set_hold(self, frames: int) -> None:
        self.overlay.hold = frames
        self.overlay.update()

    def _update_buttons(self) -> None:
        self.draw_button.setChecked(self.overlay.drawing)  # a sent note ends drawing
        has = bool(self.overlay.strokes())
        self.undo_button.setEnabled(has)
        self.clear_button.setEnabled(has)
