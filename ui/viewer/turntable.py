"""The viewer's turntable page, behind one function so the player can be swapped in one place.

``turntable_page`` plays the MP4 in the video player widget (``ui.viewer.player.VideoPlayer``, looping) when
this build has it; otherwise it shows the poster with a note and a button that opens the MP4 in the
system's player.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from pathlib import Path

    from PySide6.QtGui import QImage

log = logging.getLogger(__name__)


def player_available() -> bool:
    return importlib.util.find_spec("ui.viewer.player") is not None


def turntable_page(path: Path, poster: QImage | None, parent: QWidget) -> QWidget:
    """A widget that plays the turntable MP4 at ``path`` (or stands in for a player)."""
    if player_available():
        try:
            return _player_page(path, parent)
        except Exception:  # a broken player must not take the viewer down: fall back to the poster
            log.exception("The video player could not open %s; showing the poster instead", path)
    return _poster_page(path, poster, parent)


def _player_page(path: Path, parent: QWidget) -> QWidget:
    from core.video.frames import VideoFrameSource
    from ui.viewer.player import VideoPlayer

    player = VideoPlayer(parent)
    player.set_loop(True)  # a turntable is a loop: it plays round until the user stops it
    player.clip_opened.connect(lambda _info: player.play())
    player.open_clip(lambda: VideoFrameSource(path))  # called on the player's decode thread
    return player


def _poster_page(path: Path, poster: QImage | None, parent: QWidget) -> QWidget:
    page = QWidget(parent)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(24, 24, 24, 24)
    picture = QLabel()
    picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
    picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
    if poster is not None and not poster.isNull():
        picture.setPixmap(
            QPixmap.fromImage(poster).scaled(
                960, 720, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )
    note = QLabel(
        f"Turntable rendered: {path.name}\nThis build has no built-in video player; open it in your player."
    )
    note.setObjectName("EmptyState")
    note.setAlignment(Qt.AlignmentFlag.AlignCenter)
    note.setWordWrap(True)
    open_button = QPushButton("Open turntable")
    open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
    layout.addWidget(picture, 1)
    layout.addWidget(note)
    layout.addWidget(open_button, 0, Qt.AlignmentFlag.AlignHCenter)
    return page
