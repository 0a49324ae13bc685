"""The player's keyboard: what each key does, in one table (the player claims these over window
shortcuts while it has focus). K held with J or L steps frames, as in editing suites.

Space play/pause, Left/Right and ,/. step one frame, Home/End first/last frame (or in/out point), J/K/L
shuttle (L forward, again for 2x/4x/8x, J the same in reverse, K pause, K held with J/L steps a frame),
I/O set the in/out points (Shift+I/Shift+O clear them; loop plays between them), Shift+L loop, M mute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent

from core.video.play_path import ShuttleKey, shuttle_after

if TYPE_CHECKING:
    from core.video.play_path import Shuttle


class MuteSwitch(Protocol):
    @property
    def muted(self) -> bool: ...
    def set_muted(self, muted: bool) -> None: ...


class KeyedPlayer(Protocol):
    """What the keys drive: the player as its keyboard sees it (the player module imports this one)."""

    @property
    def current_frame(self) -> int: ...
    @property
    def loop(self) -> bool: ...
    @property
    def pause_held(self) -> bool: ...
    @property
    def shuttle_state(self) -> Shuttle: ...
    @property
    def sound(self) -> MuteSwitch: ...

    def toggle_play(self) -> None: ...
    def step(self, delta: int) -> None: ...
    def go_to_start(self) -> None: ...
    def go_to_end(self) -> None: ...
    def set_in_point(self, frame: int | None) -> None: ...
    def set_out_point(self, frame: int | None) -> None: ...
    def set_loop(self, loop: bool) -> None: ...
    def hold_pause(self, held: bool) -> None: ...
    def shuttle(self, state: Shuttle) -> None: ...


KeyAction = Callable[[KeyedPlayer], None]

_PLAIN = Qt.KeyboardModifier.NoModifier
_SHIFT = Qt.KeyboardModifier.ShiftModifier


def _shuttle(key: ShuttleKey) -> KeyAction:
    def act(player: KeyedPlayer) -> None:
        if key == ShuttleKey.PAUSE:
            player.hold_pause(True)
        elif player.pause_held:
            player.step(1 if key == ShuttleKey.FORWARD else -1)
        else:
            player.shuttle(shuttle_after(player.shuttle_state, key))

    return act


PLAYER_KEYS: dict[tuple[Qt.Key, Qt.KeyboardModifier], KeyAction] = {
    (Qt.Key.Key_Space, _PLAIN): lambda p: p.toggle_play(),
    (Qt.Key.Key_Left, _PLAIN): lambda p: p.step(-1),
    (Qt.Key.Key_Comma, _PLAIN): lambda p: p.step(-1),
    (Qt.Key.Key_Right, _PLAIN): lambda p: p.step(1),
    (Qt.Key.Key_Period, _PLAIN): lambda p: p.step(1),
    (Qt.Key.Key_Home, _PLAIN): lambda p: p.go_to_start(),
    (Qt.Key.Key_End, _PLAIN): lambda p: p.go_to_end(),
    (Qt.Key.Key_J, _PLAIN): _shuttle(ShuttleKey.REVERSE),
    (Qt.Key.Key_K, _PLAIN): _shuttle(ShuttleKey.PAUSE),
    (Qt.Key.Key_L, _PLAIN): _shuttle(ShuttleKey.FORWARD),
    (Qt.Key.Key_I, _PLAIN): lambda p: p.set_in_point(p.current_frame),
    (Qt.Key.Key_O, _PLAIN): lambda p: p.set_out_point(p.current_frame),
    (Qt.Key.Key_I, _SHIFT): lambda p: p.set_in_point(None),
    (Qt.Key.Key_O, _SHIFT): lambda p: p.set_out_point(None),
    (Qt.Key.Key_L, _SHIFT): lambda p: p.set_loop(not p.loop),
    (Qt.Key.Key_M, _PLAIN): lambda p: p.sound.set_muted(not p.sound.muted),
}


def key_action(event: QKeyEvent) -> KeyAction | None:
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return PLAYER_KEYS.get((Qt.Key(event.key()), Qt.KeyboardModifier(modifiers)))


class PlayerKeys(QObject):
    """The player's event filter for its keys: it claims them before window shortcuts (the viewer's
    Left/Right = next asset) take them, and acts on them."""

    def __init__(self, player: KeyedPlayer) -> None:
        super().__init__()
        self._player = player

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(event, QKeyEvent):
            return False
        kind, key, repeated = event.type(), event.key(), event.isAutoRepeat()
        if kind == QEvent.Type.KeyRelease:
            if key == Qt.Key.Key_K and not repeated:
                self._player.hold_pause(False)
            return False  # the player's own handling goes on
        action = key_action(event)
        if action is None or kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        if kind == QEvent.Type.KeyPress and not (repeated and key == Qt.Key.Key_K):
            action(self._player)
        event.accept()
        return True
