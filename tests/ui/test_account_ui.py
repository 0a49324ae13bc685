"""The sign-in dialog's Account section and signing out, against a real sync server on 127.0.0.1 (its
sign-in throttle on a clock the test moves)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from core.settings import Settings
from core.sync.account import AccountChanged, update_profile
from core.sync.credentials import TokenStore
from core.sync.local_store import LocalStore
from core.sync.sign_in import SignInAttempt, SignInFailure
from server.embedded import ServerThread
from tests.server.conftest import Cast, build_cast
from tests.server.harness import FakeClock, lockout_config
from ui.collab.login import LoginDialog, ProjectLinks
from workers.background import BackgroundWork
from workers.sync_bridge import SyncBridge


@pytest.fixture
def cast(tmp_path: Path) -> Cast:
    return build_cast(tmp_path / "server")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server_url(cast: Cast, clock: FakeClock) -> Iterator[str]:
    config = lockout_config(cast.db_url, clock)
    thread = ServerThread(config).start()
    yield thread.url
    thread.stop()


@pytest.fixture
def bridge(tmp_path: Path, server_url: str) -> Iterator[SyncBridge]:
    # Depends on the server so that it is closed (its connection ended) before the server stops.
    store = LocalStore(tmp_path / "alice-catalog.db")
    running = SyncBridge(store, TokenStore(), Settings(), BackgroundWork())
    yield running
    running.close()


@pytest.fixture
def dialog(qtbot: Any, tmp_path: Path, bridge: SyncBridge) -> LoginDialog:
    links = ProjectLinks(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    shown = LoginDialog(bridge, links, None)
    qtbot.addWidget(shown)
    return shown


def sign_in(qtbot: Any, dialog: LoginDialog, url: str, user: str, password: str) -> None:
    dialog.url_edit.setText(url)
    dialog.user_edit.setText(user)
    dialog.password_edit.setText(password)
    with qtbot.waitSignal(dialog.bridge.signed_in, timeout=10_000):
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)


def stored_token(bridge: SyncBridge) -> str:
    """The token this sign-in kept (in memory here: the test has no keyring)."""
    token = bridge.tokens.load(bridge.url, bridge.settings.username)
    assert token is not None
    return token


def accepted(url: str, token: str) -> bool:
    return isinstance(update_profile(url, token, None, None).run(), AccountChanged)


def test_the_account_section_changes_the_display_name_and_the_password(
    qtbot: Any, dialog: LoginDialog, bridge: SyncBridge, server_url: str, cast: Cast
) -> None:
    section = dialog.account_section
    assert section.isHidden()
    sign_in(qtbot, dialog, server_url, "alice", "alice-password")
    assert not section.isHidden()
    assert section.display_name_edit.text() == "alice"

    section.display_name_edit.setText("Alice Liddell")
    with qtbot.waitSignal(bridge.account_changed, timeout=10_000):
        qtbot.mouseClick(section.save_button, Qt.MouseButton.LeftButton)
    assert "Alice Liddell" in dialog.account_label.text()
    assert section.info_label.text() == "Profile saved."

    section.old_password_edit.setText("not-it")
    section.new_password_edit.setText("through-the-looking-glass")
    section.repeat_password_edit.setText("through-the-looking-glass")
    with qtbot.waitSignal(bridge.account_failed, timeout=10_000):
        qtbot.mouseClick(section.change_password_button, Qt.MouseButton.LeftButton)
    assert section.error_label.text() == "The current password is wrong."

    section.old_password_edit.setText("alice-password")
    with qtbot.waitSignal(bridge.account_changed, timeout=10_000):
        qtbot.mouseClick(section.change_password_button, Qt.MouseButton.LeftButton)
    assert "Password changed" in section.info_label.text()
    assert section.old_password_edit.text() == ""
    # This session keeps its token; the token issued elsewhere is revoked; the new password works.
    assert bridge.client is not None
    assert accepted(server_url, stored_token(bridge))
    assert not accepted(server_url, cast.tokens["alice"])
    again = SignInAttempt(server_url, "alice", "through-the-looking-glass").run()
    assert not isinstance(again, SignInFailure)


def test_mismatched_new_passwords_are_caught_before_sending(
    qtbot: Any, dialog: LoginDialog, server_url: str
) -> None:
    sign_in(qtbot, dialog, server_url, "alice", "alice-password")
    section = dialog.account_section
    section.old_password_edit.setText("alice-password")
    section.new_password_edit.setText("one-new-password")
    section.repeat_password_edit.setText("another-new-password")
    qtbot.mouseClick(section.change_password_button, Qt.MouseButton.LeftButton)
    assert section.error_label.text() == "The new passwords do not match."
    assert section.change_password_button.isEnabled()


def test_signing_out_revokes_the_token_on_the_server(
    qtbot: Any, dialog: LoginDialog, bridge: SyncBridge, server_url: str
) -> None:
    sign_in(qtbot, dialog, server_url, "alice", "alice-password")
    token = stored_token(bridge)
    with qtbot.waitSignal(bridge.account_changed, timeout=10_000) as revoked:
        qtbot.mouseClick(dialog.sign_out_button, Qt.MouseButton.LeftButton)
    assert revoked.args[0].action == "logout"
    assert bridge.client is None
    assert "no longer accepts" in dialog.info_label.text()
    assert dialog.account_section.isHidden()
    assert not accepted(server_url, token)  # a second connection with it is refused


def test_a_locked_account_shows_when_to_retry(
    qtbot: Any, dialog: LoginDialog, bridge: SyncBridge, server_url: str, clock: FakeClock
) -> None:
    dialog.url_edit.setText(server_url)
    dialog.user_edit.setText("bob")
    for _ in range(2):
        dialog.password_edit.setText("wrong")
        with qtbot.waitSignal(bridge.sign_in_failed, timeout=10_000):
            qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    dialog.password_edit.setText("bob-password")  # right, but the account is locked now
    with qtbot.waitSignal(bridge.sign_in_failed, timeout=10_000):
        qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert "locked" in dialog.error_label.text()
    assert dialog.error_label.text().endswith("Try again in 30 seconds.")
    clock.now += 31
    sign_in(qtbot, dialog, server_url, "bob", "bob-password")
    assert bridge.client is not None
