"""The main window's menus: File, Edit, View, Help, and the grid's own shortcuts.

``build_menus`` returns the menus and the actions others extend (sync inserts Sign in… before Quit), so
nobody finds a menu by its position. It sees the window only through :class:`WindowCommands` and
:class:`IngestCommands`; Help needs only two paths (:class:`AboutFiles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMessageBox

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

    from ui.library.asset_grid import AssetGrid

Shortcut = str | QKeySequence.StandardKey


class WindowCommands(Protocol):
    """What the menus ask of the window."""

    def create_project(self) -> object: ...
    def delete_selected(self) -> bool: ...
    def focus_search(self) -> None: ...
    def open_preferences(self) -> object: ...
    def refresh(self) -> None: ...
    def open_viewer(self) -> None: ...


class IngestCommands(Protocol):
    """What File ▸ Ingest asks of ingest."""

    def ask_files(self) -> None: ...
    def ask_folder(self) -> None: ...


@dataclass(frozen=True)
class AboutFiles:
    """Where the catalog and the logs are: Help names them and opens the log folder."""

    catalog_file: Path
    log_dir: Path

    def show_about(self, parent: QWidget) -> None:
        QMessageBox.about(
            parent,
            "About StratoPipe",
            "<b>StratoPipe</b><br>Catalog, review and share images, video and 3D assets.<br><br>"
            f"Catalog: {self.catalog_file}<br>Logs: {self.log_dir}",
        )

    def open_log_folder(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_dir)))


@dataclass(frozen=True)
class WindowMenus:
    file: QMenu
    edit: QMenu
    view: QMenu
    panels: QMenu
    help: QMenu
    quit: QAction
    delete: QAction


def _action(
    window: QMainWindow,
    menu: QMenu,
    text: str,
    slot: Callable[[], object],
    shortcut: Shortcut | Sequence[str] | None = None,
) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        shortcuts = [shortcut] if isinstance(shortcut, str | QKeySequence.StandardKey) else shortcut
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action


def build_menus(
    window: QMainWindow,
    commands: WindowCommands,
    ingest: IngestCommands,
    grid: AssetGrid,
    panels: Sequence[tuple[str, QWidget]],
    docks: Sequence[QDockWidget],
    about: AboutFiles,
) -> WindowMenus:
    """The menu bar of ``window`` and the grid-only shortcuts; ``panels`` and ``docks`` can be hidden."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    _action(window, file_menu, "New project…", commands.create_project, "Ctrl+N")
    file_menu.addSeparator()
    _action(window, file_menu, "Ingest files…", ingest.ask_files, "Ctrl+I")
    _action(window, file_menu, "Ingest folder…", ingest.ask_folder, "Ctrl+Shift+I")
    file_menu.addSeparator()
    quit_action = _action(window, file_menu, "Quit", window.close, QKeySequence.StandardKey.Quit)

    edit = bar.addMenu("&Edit")
    delete = _action(window, edit, "Delete", commands.delete_selected, QKeySequence.StandardKey.Delete)
    _action(window, edit, "Select all", grid.view.selectAll, QKeySequence.StandardKey.SelectAll)
    edit.addSeparator()
    _action(window, edit, "Find", commands.focus_search, QKeySequence.StandardKey.Find)
    edit.addSeparator()
    preferences = _action(window, edit, "Preferences…", commands.open_preferences, "Ctrl+,")
    preferences.setMenuRole(QAction.MenuRole.PreferencesRole)

    view = bar.addMenu("&View")
    _action(window, view, "Larger thumbnails", lambda: grid.step_tile_size(1), ["Ctrl+=", "Ctrl++"])
    _action(window, view, "Smaller thumbnails", lambda: grid.step_tile_size(-1), "Ctrl+-")
    for label, size in (("Small", 96), ("Medium", 176), ("Large", 320)):
        _action(window, view, f"{label} thumbnails", partial(grid.set_tile_size, size))
    view.addSeparator()
    _action(window, view, "Refresh", commands.refresh, "F5")
    view.addSeparator()
    panels_menu = view.addMenu("Panels")
    for name, widget in panels:
        toggle = QAction(name, window, checkable=True, checked=True)
        toggle.toggled.connect(widget.setVisible)
        panels_menu.addAction(toggle)
    for dock in docks:
        panels_menu.addAction(dock.toggleViewAction())

    # Shortcuts that only make sense on the grid (Space and Enter must keep working in text fields).
    open_viewer = QAction("Open viewer", grid.view)
    keys = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)
    open_viewer.setShortcuts([QKeySequence(k) for k in keys])
    open_viewer.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    open_viewer.triggered.connect(lambda _c=False: commands.open_viewer())
    grid.view.addAction(open_viewer)

    help_menu = bar.addMenu("&Help")
    _action(window, help_menu, "About StratoPipe", partial(about.show_about, window))
    _action(window, help_menu, "Open log folder", about.open_log_folder)
    return WindowMenus(file_menu, edit, view, panels_menu, help_menu, quit_action, delete)
