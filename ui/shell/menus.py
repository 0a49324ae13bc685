"""The main window's menus: File, Edit, View, Help, and the grid's own shortcuts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

if TYPE_CHECKING:
    from ui.shell.main_window import MainWindow


def _action(window: MainWindow, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action


def build_menus(window: MainWindow) -> None:
    """The menu bar and the grid-only shortcuts of the main window."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _action(window, file_menu, "New project…", window.create_project, "Ctrl+N")
    file_menu.addSeparator()
    _action(window, file_menu, "Ingest files…", window.ask_ingest_files, "Ctrl+I")
    _action(window, file_menu, "Ingest folder…", window.ask_ingest_folder, "Ctrl+Shift+I")
    file_menu.addSeparator()
    _action(window, file_menu, "Quit", window.close, QKeySequence.StandardKey.Quit)

    edit = bar.addMenu("&Edit")
    window.delete_action = _action(
        window, edit, "Delete", window.delete_selected, QKeySequence.StandardKey.Delete
    )
    _action(window, edit, "Select all", window.grid.view.selectAll, QKeySequence.StandardKey.SelectAll)
    edit.addSeparator()
    _action(window, edit, "Find", window.focus_search, QKeySequence.StandardKey.Find)
    edit.addSeparator()
    preferences = _action(window, edit, "Preferences…", window.open_preferences, "Ctrl+,")
    preferences.setMenuRole(QAction.MenuRole.PreferencesRole)

    view = bar.addMenu("&View")
    _action(window, view, "Larger thumbnails", lambda: window.grid.step_tile_size(1), ["Ctrl+=", "Ctrl++"])
    _action(window, view, "Smaller thumbnails", lambda: window.grid.step_tile_size(-1), "Ctrl+-")
    for label, size in (("Small", 96), ("Medium", 176), ("Large", 320)):
        _action(window, view, f"{label} thumbnails", lambda s=size: window.grid.set_tile_size(s))
    view.addSeparator()
    _action(window, view, "Refresh", window.refresh, "F5")
    view.addSeparator()
    panels = view.addMenu("Panels")
    for name, widget in (("Projects and collections", window.sidebar), ("Inspector", window.inspector)):
        toggle = QAction(name, window, checkable=True, checked=True)
        toggle.toggled.connect(widget.setVisible)
        panels.addAction(toggle)
    panels.addAction(window.jobs_dock.toggleViewAction())
    panels.addAction(window.notifications_dock.toggleViewAction())

    # Shortcuts that only make sense on the grid (Space and Enter must keep working in text fields).
    for keys, slot in (([Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter], window.open_viewer),):
        action = QAction("Open viewer", window.grid.view)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(lambda _c=False, s=slot: s())
        window.grid.view.addAction(action)

    help_menu = bar.addMenu("&Help")
    _action(window, help_menu, "About StratoPipe", window.show_about)
    _action(window, help_menu, "Open log folder", window.open_log_folder)
