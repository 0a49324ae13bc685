"""The main window's remembered layout (geometry, docks, splitters, tile size, sort) in ui.ini."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray

if TYPE_CHECKING:
    from ui.shell.main_window import MainWindow

STATE_VERSION = 1


def save_window_state(window: MainWindow) -> None:
    state = window.ui_state
    state.setValue("window/version", STATE_VERSION)
    state.setValue("window/geometry", window.saveGeometry())
    state.setValue("window/state", window.saveState(STATE_VERSION))
    state.setValue("window/splitter", window.splitter.saveState())
    state.setValue("window/sidebar_splitter", window.sidebar.splitter.saveState())
    state.setValue("grid/tile_size", window.grid.tile_size)
    state.setValue("grid/sort", window.grid.sort_combo.currentText())
    state.setValue("jobs/chart", window.jobs_panel.chart_button.isChecked())
    state.sync()


def restore_window_state(window: MainWindow) -> None:
    state = window.ui_state
    if state.value("window/version", 0, type=int) != STATE_VERSION:
        return
    geometry = state.value("window/geometry")
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    window_state = state.value("window/state")
    if isinstance(window_state, QByteArray):
        window.restoreState(window_state, STATE_VERSION)
    window.grid.set_tile_size(state.value("grid/tile_size", window.grid.tile_size, type=int))
    sort = state.value("grid/sort", "", type=str)
    if sort and window.grid.sort_combo.findText(sort) >= 0:
        window.grid.sort_combo.setCurrentText(sort)


def restore_splitters(window: MainWindow) -> None:
    """Splitter sizes are proportional to the laid-out width: restore them once it is known (shown).

    The jobs chart, if it was open, is rebuilt now too: after the first paint, so pyqtgraph's import
    never delays the window appearing."""
    state = window.ui_state
    if state.value("window/version", 0, type=int) != STATE_VERSION:
        return
    for key, splitter in (
        ("window/splitter", window.splitter),
        ("window/sidebar_splitter", window.sidebar.splitter),
    ):
        value = state.value(key)
        if isinstance(value, QByteArray):
            splitter.restoreState(value)
    if state.value("jobs/chart", False, type=bool):
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: window.jobs_panel.show_chart(True))
