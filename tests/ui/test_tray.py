"""The tray icon's menu: show the window, pause and resume jobs, quit (the app passes QApplication.quit,
the same path as closing the window or Ctrl+C)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QSystemTrayIcon

from ui.common import theme
from ui.shell.notifications import SystemTrayPresenter, TrayMenu

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


class Calls:
    def __init__(self) -> None:
        self.shown = 0
        self.paused: list[bool] = []
        self.quits = 0

    def show(self) -> None:
        self.shown += 1

    def set_paused(self, paused: bool) -> None:
        self.paused.append(paused)

    def quit(self) -> None:
        self.quits += 1


def _presenter(qtbot: QtBot, calls: Calls) -> SystemTrayPresenter:
    # The icon is never shown: offscreen (as on bare X servers) there is no tray to show it in, but the
    # presenter and its menu behave the same.
    presenter = SystemTrayPresenter(QSystemTrayIcon(theme.icon("app")))
    menu = TrayMenu(calls.show, calls.set_paused, calls.quit)
    qtbot.addWidget(menu)
    presenter.attach_menu(menu)
    return presenter


def test_the_tray_menu_offers_show_pause_and_quit(qtbot: QtBot) -> None:
    presenter = _presenter(qtbot, Calls())
    assert presenter.tray.contextMenu() is presenter.menu
    assert presenter.menu is not None
    texts = [a.text() for a in presenter.menu.actions() if not a.isSeparator()]
    assert texts == ["Show StratoPipe", "Pause jobs", "Quit"]


def test_pause_toggles_to_resume_and_back(qtbot: QtBot) -> None:
    calls = Calls()
    menu = _presenter(qtbot, calls).menu
    assert menu is not None
    menu.pause_action.trigger()
    assert menu.pause_action.text() == "Resume jobs"
    menu.pause_action.trigger()
    assert menu.pause_action.text() == "Pause jobs"
    assert calls.paused == [True, False]


def test_a_click_on_the_icon_shows_the_window_and_quit_quits(qtbot: QtBot) -> None:
    calls = Calls()
    presenter = _presenter(qtbot, calls)
    presenter.tray.activated.emit(QSystemTrayIcon.ActivationReason.Context)
    assert calls.shown == 0, "a right click opens the menu, it does not raise the window"
    presenter.tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    assert calls.shown == 1
    assert presenter.menu is not None
    presenter.menu.quit_action.trigger()
    assert calls.quits == 1
