"""The player's control row: transport buttons, loop, shuttle speed, sound, timecode.

Built here so the player module keeps to playback; the player connects the buttons to its slots.
Buttons take no focus: keys keep going to the player.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyle, QToolButton

from core.video.play_path import Shuttle

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QWidget

    from ui.viewer.player_sound import PlayerSound


class PlayerControls:
    def __init__(
        self,
        parent: QWidget,
        sound: PlayerSound,
        *,
        first: Callable[[], None],
        back: Callable[[], None],
        play: Callable[[], None],
        forward: Callable[[], None],
        last: Callable[[], None],
        loop: Callable[[], None],
    ) -> None:
        self._parent = parent
        pixmap = QStyle.StandardPixmap
        self.start_button = self._button(pixmap.SP_MediaSkipBackward, "First frame / in point (Home)", first)
        self.back_button = self._button(pixmap.SP_MediaSeekBackward, "Previous frame (Left, ,)", back)
        self.play_button = self._button(pixmap.SP_MediaPlay, "Play/pause (Space; J/K/L shuttle)", play)
        self.forward_button = self._button(pixmap.SP_MediaSeekForward, "Next frame (Right, .)", forward)
        self.end_button = self._button(pixmap.SP_MediaSkipForward, "Last frame / out point (End)", last)
        self.loop_button = self._button(pixmap.SP_BrowserReload, "Loop (Shift+L)", loop)
        self.loop_button.setCheckable(True)
        style = parent.style()
        self.play_icon = style.standardIcon(pixmap.SP_MediaPlay)
        self.pause_icon = style.standardIcon(pixmap.SP_MediaPause)
        self.timecode_label = QLabel("--:--:--:--", parent)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.timecode_label.setFont(mono)
        self.timecode_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.speed_label = QLabel(parent)
        self.speed_label.setToolTip("Shuttle speed (J/K/L)")
        self.speed_label.hide()

        self.row = QHBoxLayout()
        self.row.setContentsMargins(6, 0, 6, 4)
        for button in self.transport:
            self.row.addWidget(button)
        self.row.addSpacing(8)
        self.row.addWidget(self.loop_button)
        self.row.addWidget(self.speed_label)
        self.row.addSpacing(8)
        self.row.addWidget(sound.mute_button)
        self.row.addWidget(sound.volume_slider)
        self.row.addStretch(1)
        self.row.addWidget(self.timecode_label)

    def show_speed(self, state: Shuttle) -> None:
        """The shuttle badge: direction and speed, hidden while paused or playing at 1x."""
        if not state.playing or state == Shuttle(1, 1):
            self.speed_label.hide()
            return
        arrow = "\u25c0" if state.direction < 0 else "\u25b6"
        self.speed_label.setText(f"{arrow} {state.speed}\u00d7")
        self.speed_label.show()

    @property
    def transport(self) -> tuple[QToolButton, ...]:
        return (self.start_button, self.back_button, self.play_button, self.forward_button, self.end_button)

    def _button(self, pixmap: QStyle.StandardPixmap, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton(self._parent)
        button.setIcon(self._parent.style().standardIcon(pixmap))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        return button
