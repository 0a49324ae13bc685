"""The sign-in dialog's "I have an invitation": the account is created and signed in; a used code is
refused with words that say so, shown inline."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from server import invitations
from server.db import open_database
from tests.server.conftest import Cast
from tests.ui.test_account_ui import bridge, cast, clock, dialog, server_url
from ui.collab.login import LoginDialog

__all__ = ["bridge", "cast", "clock", "dialog", "server_url"]  # the fixtures this module shares


def redeem(qtbot: Any, dialog: LoginDialog, url: str, code: str, user: str, signal: Any) -> None:
    dialog.url_edit.setText(url)
    dialog.invitation_check.setChecked(True)
    dialog.invitation_edit.setText(code)
    dialog.user_edit.setText(user)
    dialog.password_edit.setText("teal harbour 19")
    assert dialog.sign_in_button.text() == "Create account"
    with qtbot.waitSignal(signal, timeout=10_000):
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)


def test_an_invitation_creates_the_account_from_the_sign_in_dialog(
    qtbot: Any, dialog: LoginDialog, server_url: str, cast: Cast
) -> None:
    engine = open_database(cast.db_url)
    code, _ = invitations.create_invitation(engine, "artist", cast.project, None, 3600.0)
    engine.dispose()
    assert not dialog.invitation_edit.isVisibleTo(dialog)
    redeem(qtbot, dialog, server_url, code, "erin", dialog.bridge.signed_in)
    assert dialog.bridge.settings.username == "erin"
    assert not dialog.invitation_check.isChecked()
    redeem(qtbot, dialog, server_url, code, "erin2", dialog.bridge.sign_in_failed)
    assert "already used" in dialog.error_label.text()
    assert dialog.sign_in_button.text() == "Create account"
