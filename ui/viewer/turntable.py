"""The viewer's turntable page: the MP4 looping in the video player, or, when the player cannot open
it, the poster with a note and a button that opens the MP4 in the system's player.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from PySide6.QtGui import QImage

    from ui.common.viewer_page import ViewerPage

log = logging.getLogger(__name__)


def turntable_page(path: Path, poster: QImage | None, parent: QWidget) -> ViewerPage:
    """A page that plays the turntable MP4 at ``path`` (or shows its poster)."""
    try:
        return _player_page(path, parent)
    except Exception:  # a broken player must not take the viewer down: fall back to the poster
        log.exception("The video player could not open %s; showing the poster instead", path)
    return PosterPage(path, poster, parent)


def _player_page(path: Path, parent: QWidget) -> ViewerPage:
    from core.video.frames import VideoFrameSource
    from ui.viewer.player import VideoPlayer

    player = VideoPlayer(parent)
    player.set_loop(True)  # a turntable is a loop: it plays round until the user stops it
    player.clip_opened.connect(lambda _info: player.play())
    player.open_clip(lambda: VideoFrameSource(path))  # called on the player's decode thread
    return player


class PosterPage(QWidget):
    """The turntable's poster, a note, and a button that opens the MP4 elsewhere."""

    def __init__(self, path: Path, poster: QImage | None, parent: QWidget) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        if poster is not None and not poster.isNull():
            self.picture.setPixmap(
                QPixmap.fromImage(poster).scaled(
                    960, 720, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
        note = QLabel(
            f"Turntable rendered: {path.name}\nIt could not be played here; open it in your player."
        )
        note.setObjectName("EmptyState")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        note.setWordWrap(True)
        open_button = QPushButton("Open turntable")
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
        layout.addWidget(self.picture, 1)
        layout.addWidget(note)
        layout.addWidget(open_button, 0, Qt.AlignmentFlag.AlignHCenter)

    def page_widget(self) -> QWidget:
        return self

    @property
    def current_frame(self) -> int | None:
        return None

    def seek(self, frame: int) -> None:
        del frame  # a poster is one picture

    @property
    def display_frame(self) -> int | None:
        return None

    def seek_display(self, number: int) -> None:
        del number  # a poster is one picture

    def picture_widget(self) -> QWidget:
        return self.picture

    def picture_rect(self) -> QRectF:
        pixmap = self.picture.pixmap()
        if pixmap.isNull():
            return QRectF()
        rect = QRectF(0, 0, pixmap.width(), pixmap.height())
        rect.moveCenter(QRectF(self.picture.rect()).center())
        return rect

    def watch_frames(self, on_frame_shown: Callable[[int], object]) -> None:
        del on_frame_shown  # a poster never changes

    def close_page(self) -> None:
        """Nothing runs behind a poster."""
