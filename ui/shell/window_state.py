"""The main window's remembered layout (geometry, docks, splitters, tile size, sort, view) in ui.ini.

:class:`RememberedLayout` is given the parts it remembers, so it needs nothing else of the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QTimer

from ui.common.stored_values import stored_bool, stored_int, stored_str

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QAbstractButton, QMainWindow, QSplitter

    from ui.library.asset_grid import AssetGrid

STATE_VERSION = 1


@dataclass(frozen=True)
class RememberedLayout:
    window: QMainWindow
    state: QSettings
    splitters: Mapping[str, QSplitter]  # ini key -> splitter
    grid: AssetGrid
    chart_button: QAbstractButton
    show_chart: Callable[[bool], None]

    def save(self) -> None:
        state = self.state
        state.setValue("window/version", STATE_VERSION)
        state.setValue("window/geometry", self.window.saveGeometry())
        state.setValue("window/state", self.window.saveState(STATE_VERSION))
        for key, splitter in self.splitters.items():
            state.setValue(key, splitter.saveState())
        state.setValue("grid/tile_size", self.grid.tile_size)
        state.setValue("grid/sort", self.grid.filter_bar.sort_combo.currentText())
        state.setValue("grid/details", self.grid.details_shown)
        state.setValue("jobs/chart", self.chart_button.isChecked())
        state.sync()

    def restore(self) -> None:
        """Geometry, docks (including ones added after start-up, like Tasks), tile size, sort, view."""
        state = self.state
        if stored_int(state, "window/version") != STATE_VERSION:
            return
        geometry = state.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.window.restoreGeometry(geometry)
        window_state = state.value("window/state")
        if isinstance(window_state, QByteArray):
            self.window.restoreState(window_state, STATE_VERSION)
        self.grid.set_tile_size(stored_int(state, "grid/tile_size", self.grid.tile_size))
        sort = stored_str(state, "grid/sort")
        if sort and self.grid.filter_bar.sort_combo.findText(sort) >= 0:
            self.grid.filter_bar.sort_combo.setCurrentText(sort)
        self.grid.set_details(stored_bool(state, "grid/details"))

    def restore_splitters(self) -> None:
        """Splitter sizes are proportional to the laid-out width: restore them once it is known (shown).

        The jobs chart, if it was open, is rebuilt now too: after the first paint, so pyqtgraph's import
        never delays the window appearing."""
        state = self.state
        if stored_int(state, "window/version") != STATE_VERSION:
            return
        for key, splitter in self.splitters.items():
            value = state.value(key)
            if isinstance(value, QByteArray):
                splitter.restoreState(value)
        if stored_bool(state, "jobs/chart"):
            QTimer.singleShot(0, lambda: self.show_chart(True))
