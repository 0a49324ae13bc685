"""Typed reads from QSettings: its ``value(key, default, type=...)`` is typed ``object`` by PySide6."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings


def stored_int(state: QSettings, key: str, default: int = 0) -> int:
    value = state.value(key, default, type=int)
    return value if isinstance(value, int) else default


def stored_str(state: QSettings, key: str, default: str = "") -> str:
    value = state.value(key, default, type=str)
    return value if isinstance(value, str) else default


def stored_bool(state: QSettings, key: str, default: bool = False) -> bool:
    value = state.value(key, default, type=bool)
    return value if isinstance(value, bool) else default
