"""The viewer's top bar: the asset's title and facts, a note (a product being made or failed), the zoom,
the version switcher and the tool buttons.

The bar shows; ``AssetViewer`` decides. It connects the buttons to what they do and tells the bar, through
``show_tools``, which products the shown asset can have and which are on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from core.media.kinds import AssetKind
from core.pipeline import JobKind, can_run
from ui.common import theme
from ui.viewer.version_switcher import VersionSwitcher
from ui.viewer.viewer_parts import focus_rect

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord


class ViewerBar(QFrame):
    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ViewerBar")
        self.title = QLabel()
        self.title.setObjectName("AssetTitle")
        self.info = QLabel()
        self.info.setObjectName("Dim")
        self.note_label = QLabel()
        self.note_label.setStyleSheet(f"color: {theme.WARNING.name()};")
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("Dim")
        self.versions = VersionSwitcher(catalog)
        self.zoom_label.setMinimumWidth(50)
        self.enhance_button = _text_tool("Enhance", "Enhanced copy beside the original (E)")
        self.turntable_button = _text_tool("Turntable", "Play the turntable; renders it first if needed")
        self.focus_button = _text_tool("Focus", "Show the focus crop the AI chose (F)")
        self.fit_button = _tool("fit", "Fit (0)")
        self.actual_size_button = _tool("actual", "Actual pixels 1:1 (1)")
        self.close_button = _tool("close", "Close viewer (Esc)")
        buttons = [
            self.focus_button,
            self.enhance_button,
            self.turntable_button,
            self.fit_button,
            self.actual_size_button,
            self.close_button,
        ]
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 8, 6)
        row.addWidget(self.title)
        row.addSpacing(10)
        row.addWidget(self.info, 1)
        row.addWidget(self.versions)
        row.addWidget(self.note_label)
        row.addSpacing(8)
        row.addWidget(self.zoom_label)
        for button in buttons:
            row.addWidget(button)

    def show_tools(
        self,
        record: AssetRecord | None,
        *,
        turntable_shown: bool,
        turntable_pending: bool,
        enhanced_wanted: bool,
    ) -> None:
        """Show the product buttons ``record`` can use, checked when their product is on."""
        geometry = record is not None and record.kind == AssetKind.GEOMETRY
        self.turntable_button.setVisible(geometry)
        self.turntable_button.setEnabled(geometry and not turntable_pending)
        self.turntable_button.setChecked(turntable_shown)
        self.turntable_button.setText("Rendering…" if turntable_pending else "Turntable")
        enhance = record is not None and can_run(JobKind.ENHANCE, record)
        self.enhance_button.setVisible(enhance)
        self.enhance_button.setChecked(enhanced_wanted and enhance)
        has_focus = record is not None and focus_rect(record, QSize(1 << 20, 1 << 20)) is not None
        self.focus_button.setEnabled(has_focus)
        self.focus_button.setToolTip(
            "Show the focus crop the AI chose (F)"
            if has_focus
            else "No focus crop yet (the AI step makes it)"
        )


def _tool(icon_name: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setObjectName("Flat")
    button.setIcon(theme.icon(icon_name))
    button.setIconSize(QSize(18, 18))
    button.setToolTip(tip)
    return button


def _text_tool(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(True)
    return button
