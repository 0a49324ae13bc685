"""Drops of files and folders anywhere on the main window become one ingest request.

An application event filter sees drag events before any child widget, so a line edit, a list or the
viewer can never swallow a drop of files meant for ingest. An overlay says where the files will go.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from ui.common import theme

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtCore import QMimeData

_DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop, QEvent.Type.DragLeave)


def local_paths(mime: QMimeData | None) -> list[Path]:
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class DropOverlay(QWidget):
    """A translucent frame over the window while files are dragged over it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.message = ""
        self.hide()

    def show_message(self, message: str) -> None:
        self.message = message
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor(20, 24, 32, 170))
        frame = QRectF(self.rect()).adjusted(16, 16, -16, -16)
        painter.setPen(QPen(theme.ACCENT, 3, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(frame, 14, 14)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(theme.TEXT_BRIGHT)
        painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, self.message)


class DropRouter(QObject):
    """Routes file drops on any widget of ``window`` to ``dropped``; ``describe`` names the target."""

    dropped = Signal(object)  # list[Path]

    def __init__(self, window: QWidget, describe: Callable[[], str] | None = None) -> None:
        super().__init__(window)
        self._window = window
        self._describe = describe
        self.overlay = DropOverlay(window)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() not in _DRAG_EVENTS or not isinstance(watched, QWidget):
            return False
        if watched.window() is not self._window:
            return False
        if event.type() == QEvent.Type.DragLeave:
            self.overlay.hide()
            return False
        assert isinstance(event, QDragEnterEvent | QDropEvent)
        paths = local_paths(event.mimeData())
        # A drag with a source began in this app (assets dragged out of the grid): not an ingest.
        if not paths or event.source() is not None:
            return False
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if event.type() == QEvent.Type.Drop:
            self.overlay.hide()
            self.dropped.emit(paths)
        elif event.type() == QEvent.Type.DragEnter:
            where = self._describe() if self._describe is not None else ""
            count = f"{len(paths)} item{'s' if len(paths) != 1 else ''}"
            self.overlay.show_message(f"Drop {count} to ingest{where}")
        return True
