"""Compare, wired where the library and the viewer meet: the grid's two selected assets, from the
context menu or the grid's key, open the viewer in A/B compare mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from ui.library.asset_actions import COMPARE_SHORTCUT

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStackedWidget

    from core.catalog.records import AssetRecord
    from ui.library.asset_actions import AssetActions
    from ui.library.asset_grid import AssetGrid
    from ui.viewer.viewer import AssetViewer


def connect_compare(
    actions: AssetActions, grid: AssetGrid, viewer: AssetViewer, centre: QStackedWidget
) -> None:
    """Compare from the menu and on ``COMPARE_SHORTCUT`` in the grid; the viewer replaces the grid."""

    def compare(a: AssetRecord, b: AssetRecord) -> None:
        centre.setCurrentWidget(viewer)
        viewer.show_compare(a, b)
        viewer.focus_picture()  # the viewer's keys (Esc, zoom) work at once

    def compare_selection() -> None:
        selected = grid.selected_records()
        if len(selected) == 2:
            compare(*selected)

    actions.compare_requested.connect(compare)
    # A grid-only shortcut, like the grid's Space/Enter: Ctrl+Shift+C in a text field still copies.
    key = QAction("Compare", grid.view)
    key.setShortcut(QKeySequence(COMPARE_SHORTCUT))
    key.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    key.triggered.connect(lambda _checked=False: compare_selection())
    grid.view.addAction(key)
