"""The main window's layout: projects and collections | grid or viewer | inspector in a splitter, with
Jobs and Notifications tabbed in the bottom dock area (Jobs in front)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QSplitter

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow, QWidget


@dataclass(frozen=True)
class BottomDocks:
    jobs: QDockWidget
    notifications: QDockWidget


def build_main_splitter(sidebar: QWidget, centre: QWidget, inspector: QWidget) -> QSplitter:
    """Only the centre grows with the window; the side panels keep their width and never collapse."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setObjectName("MainSplitter")
    splitter.setChildrenCollapsible(False)
    for widget, stretch in ((sidebar, 0), (centre, 1), (inspector, 0)):
        splitter.addWidget(widget)
        splitter.setStretchFactor(splitter.count() - 1, stretch)
    sidebar.setMinimumWidth(150)
    inspector.setMinimumWidth(220)
    splitter.setSizes([240, 1000, 340])
    return splitter


def add_bottom_docks(window: QMainWindow, jobs_panel: QWidget, notification_centre: QWidget) -> BottomDocks:
    jobs = _dock(window, "Jobs", "JobsDock", jobs_panel)
    notifications = _dock(window, "Notifications", "NotificationsDock", notification_centre)
    window.tabifyDockWidget(jobs, notifications)
    jobs.raise_()
    window.resizeDocks([jobs], [220], Qt.Orientation.Vertical)
    return BottomDocks(jobs, notifications)


def _dock(window: QMainWindow, title: str, name: str, widget: QWidget) -> QDockWidget:
    # Object names let QMainWindow.saveState restore the docks; they can move and close, not float.
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    return dock
