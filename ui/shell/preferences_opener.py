"""Edit ▸ Preferences…: one dialog at a time, built on first use (the preferences package is heavy to
import). The dialog updates the shared ``Settings`` in place on Apply."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QDialog, QWidget

    from core.paths import AppPaths
    from core.settings import Settings
    from ui.preferences.preferences import PreferencesDialog
    from workers.background import BackgroundWork


class PreferencesOpener:
    def __init__(
        self,
        parent: QWidget,
        settings: Settings,
        paths: AppPaths,
        background: BackgroundWork,
        tell: Callable[[str, int], None],
    ) -> None:
        self._parent = parent
        self._settings, self._paths, self._background = settings, paths, background
        self._tell = tell
        self._open_sign_in: Callable[[], QDialog | None] | None = None  # see attach_sync
        self.dialog: PreferencesDialog | None = None  # the one open now

    def attach_sync(self, open_sign_in: Callable[[], QDialog | None]) -> None:
        """Sync is built after the first frame (app/gui.py); from then on Preferences can sign in."""
        self._open_sign_in = open_sign_in

    def open(self) -> PreferencesDialog:
        from ui.preferences.preferences import PreferencesDialog

        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            self.dialog.activateWindow()
            return self.dialog
        dialog = PreferencesDialog(
            self._settings,
            self._paths,
            self._background,
            open_sign_in=self._open_sign_in,
            parent=self._parent,
        )
        dialog.settings_applied.connect(
            lambda names: self._tell(f"Preferences saved ({len(names)} changed)", 5000)
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self._forget(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _forget(self, dialog: PreferencesDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
