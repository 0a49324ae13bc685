"""The dark theme: one palette, one style sheet, and the app's icons (SVGs drawn for StratoPipe).

Colours live here once; the delegate and the viewer paint with these constants and the QSS in
``resources/theme/dark.qss`` uses the same values, so a tile, a list and a dialog read as one product.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QColor, QIcon, QPalette

import resources

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

THEME_DIR = Path(resources.__file__).resolve().parent / "theme"
ICON_DIR = THEME_DIR / "icons"

WINDOW = QColor("#1e1f22")
PANEL = QColor("#202125")
BASE = QColor("#18191c")
ALT_BASE = QColor("#1f2024")
TILE = QColor("#232428")
TILE_HOVER = QColor("#2a2c31")
TEXT = QColor("#d8d9dc")
TEXT_DIM = QColor("#8b8e96")
TEXT_BRIGHT = QColor("#f0f1f3")
BORDER = QColor("#34363c")
ACCENT = QColor("#4a9eff")
ACCENT_DARK = QColor("#2f5f9e")
ERROR = QColor("#ff6b6b")
WARNING = QColor("#f0b454")
SUCCESS = QColor("#5fcf8a")
AI = QColor("#b48cff")
CHECKER_LIGHT = QColor("#5a5a5a")
CHECKER_DARK = QColor("#3c3c3c")

KIND_COLOURS: dict[str, QColor] = {
    "image": QColor("#4a9eff"),
    "sequence": QColor("#2ec4b6"),
    "video": QColor("#f0a04b"),
    "audio": QColor("#e06c9f"),
    "geometry": QColor("#b48cff"),
    "document": QColor("#9aa0aa"),
    "other": QColor("#7a7f88"),
}


def kind_colour(kind: str) -> QColor:
    return KIND_COLOURS.get(kind, KIND_COLOURS["other"])


def dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: ALT_BASE,
        QPalette.ColorRole.ToolTipBase: QColor("#2b2d33"),
        QPalette.ColorRole.ToolTipText: TEXT_BRIGHT,
        QPalette.ColorRole.PlaceholderText: QColor("#6b6e76"),
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: QColor("#2c2e34"),
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: TEXT_BRIGHT,
        QPalette.ColorRole.Highlight: ACCENT_DARK,
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.Light: QColor("#3a3d44"),
        QPalette.ColorRole.Midlight: QColor("#2f3136"),
        QPalette.ColorRole.Mid: QColor("#26282c"),
        QPalette.ColorRole.Dark: QColor("#141517"),
        QPalette.ColorRole.Shadow: QColor("#0c0c0e"),
    }
    for role, colour in roles.items():
        palette.setColor(role, colour)
    disabled = QColor("#6b6e76")
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def style_sheet() -> str:
    text = (THEME_DIR / "dark.qss").read_text(encoding="utf-8")
    # QSS resolves url() against the working directory; an absolute path keeps icons found anywhere.
    return text.replace("@ICONS@", ICON_DIR.as_posix())


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")  # the only built-in style that honours a dark palette on every platform
    app.setPalette(dark_palette())
    app.setStyleSheet(style_sheet())
    app.setWindowIcon(icon("app"))


@functools.cache
def icon(name: str) -> QIcon:
    """An icon from ``resources/theme/icons`` (cached: QIcon renders and keeps its own pixmaps)."""
    path = ICON_DIR / f"{name}.svg"
    if not path.exists():
        log.warning("Missing icon %s", path)
        return QIcon()
    return QIcon(str(path))


@functools.cache
def kind_icon(kind: str) -> QIcon:
    return icon(kind if (ICON_DIR / f"{kind}.svg").exists() else "other")
