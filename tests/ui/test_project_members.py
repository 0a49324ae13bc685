"""Project members and deleting a project from the app, against a real server on 127.0.0.1: an admin
adds and removes members and the people concerned see it (an added member at once, in their running
app; a removed one at their next connection); so does the
project's owner, whatever their role; any other artist sees the list read-only with the reason; a
deletion needs the project's name typed and then reaches every client; offline, a change says it needs
the server and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.settings import Settings
from core.sync.client_events import ProjectDeleted
from core.sync.credentials import TokenStore
from core.sync.local_store import LocalStore
from core.sync.wording import describe_status
from server import admin
from server.db import open_database
from tests.ui.test_sync_ui import FAST_RECONNECT, Studio, people, shot, studio
from ui.collab.delete_project import DeleteProjectDialog
from ui.collab.project_members import ProjectMembersDialog
from ui.shell.sync_wiring import SyncUi
from workers.background import BackgroundWork
from workers.sync_bridge import SyncBridge

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord
    from core.sync.client_events import SyncStatus
    from core.sync.protocol import Role
    from ui.shell.main_window import MainWindow

__all__ = ["people", "shot", "studio"]  # the fixtures this module shares

ARTIST_MAY_NOT = (
    "The artist role cannot add or remove project members; admins and supervisors can, "
    "and so can the project's owner"
)


class Account:
    """A user added on the studio's server, with their own app (store and bridge), signed in."""

    def __init__(
        self, qtbot: Any, tmp_path: Path, studio: Studio, name: str, role: Role, member: bool
    ) -> None:
        engine = open_database(studio.config.db_url)
        user = admin.add_user(engine, name, role, f"{name}-password")
        if member:
            admin.add_member(engine, "show", name)
        self.token = admin.issue_token(engine, user).token
        engine.dispose()
        self.url = studio.url
        self.bridge = SyncBridge(
            LocalStore(tmp_path / f"{name}.db"),
            TokenStore(),
            Settings(),
            BackgroundWork(),
            client_options=FAST_RECONNECT,
        )
        self.connect(qtbot)

    def connect(self, qtbot: Any) -> None:
        """(Re)connect, as at the app's next start: the server's project list comes with it."""
        self.bridge.start(self.url, self.token)
        qtbot.waitUntil(lambda: describe_status(self.bridge.status) == "online", timeout=10_000)

    def project_names(self) -> list[str]:
        return [p.name for p in self.bridge.store.projects()]


@pytest.fixture
def root(qtbot: Any, tmp_path: Path, studio: Studio) -> Iterator[Account]:
    """An admin who belongs to "show"."""
    account = Account(qtbot, tmp_path, studio, "root", "admin", member=True)
    yield account
    account.bridge.close()


@pytest.fixture
def carol(qtbot: Any, tmp_path: Path, studio: Studio) -> Iterator[Account]:
    """An artist who does not belong to "show" yet."""
    account = Account(qtbot, tmp_path, studio, "carol", "artist", member=False)
    yield account
    account.bridge.close()


def members_dialog(qtbot: Any, bridge: SyncBridge, studio: Studio) -> ProjectMembersDialog:
    dialog = ProjectMembersDialog(bridge, studio.project, "show")
    qtbot.addWidget(dialog)
    return dialog


def test_an_admin_adds_a_member_who_sees_the_project_at_once_in_their_running_app(
    qtbot: Any, studio: Studio, root: Account, carol: Account
) -> None:
    dialog = members_dialog(qtbot, root.bridge, studio)
    assert dialog.member_names() == ["alice", "bob", "root"]
    assert dialog.read_only_label.isHidden()
    assert carol.project_names() == []
    carol_client = carol.bridge.client
    carol_statuses: list[SyncStatus] = []
    carol.bridge.status_changed.connect(carol_statuses.append)

    dialog.user_edit.setText("nobody")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "No user named 'nobody'" in dialog.message(), timeout=10_000)
    assert not dialog.error_label.isHidden()
    assert dialog.member_names() == ["alice", "bob", "root"]

    dialog.user_edit.setText("carol")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "carol" in dialog.member_names(), timeout=10_000)
    assert dialog.message() == "carol is now a member."
    assert dialog.user_edit.text() == ""
    assert dialog.member_names() == ["alice", "bob", "carol", "root"]  # sorted by name
    carol_row = dialog.member_list.topLevelItem(2)
    assert carol_row is not None
    assert carol_row.text(2) == "artist"

    # Carol's app, neither restarted nor signed in again by hand, lists the project and syncs it; the
    # server's nudge to sign in again is no problem to tell her about.
    qtbot.waitUntil(lambda: carol.project_names() == ["show"], timeout=5_000)
    qtbot.waitUntil(lambda: describe_status(carol.bridge.status) == "online", timeout=5_000)
    assert carol.bridge.client is carol_client
    assert [status for status in carol_statuses if status.state == "offline"] == []


def test_removing_a_member_asks_first_and_the_list_follows_the_server(
    qtbot: Any,
    studio: Studio,
    root: Account,
    people: dict[str, SyncBridge],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialog = members_dialog(qtbot, root.bridge, studio)
    dialog.select_member("bob")
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def question(_parent: Any, _title: str, text: str) -> QMessageBox.StandardButton:
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    with qtbot.assertNotEmitted(root.bridge.member_changed, wait=300):
        qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)  # "No": nothing is sent
    assert dialog.member_names() == ["alice", "bob", "root"]
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    assert asked[1].startswith("Remove bob from “show”?")
    qtbot.waitUntil(lambda: dialog.member_names() == ["alice", "root"], timeout=10_000)
    assert dialog.message() == "bob was removed."

    bob = people["bob"]
    bob.start(studio.url, studio.tokens["bob"])  # his next connection no longer lists the project
    qtbot.waitUntil(lambda: [p.name for p in bob.store.projects()] == [], timeout=10_000)


def test_an_artist_sees_the_members_read_only_and_may_not_delete(
    qtbot: Any, studio: Studio, people: dict[str, SyncBridge], window: MainWindow, shot: AssetRecord
) -> None:
    alice = people["alice"]
    dialog = members_dialog(qtbot, alice, studio)
    assert dialog.member_names() == ["alice", "bob"]
    first = dialog.member_list.topLevelItem(0)
    assert first is not None
    assert first.text(0) == "alice (you)"
    assert dialog.read_only_label.isVisibleTo(dialog)
    assert dialog.read_only_label.text() == f"You can see who is in this project. {ARTIST_MAY_NOT}."
    # The list alone: adding, removing and deleting are not offered.
    assert not dialog.edit_row.isVisibleTo(dialog)
    assert not dialog.delete_button.isVisibleTo(dialog)
    dialog.select_member("bob")
    assert not dialog.remove_button.isEnabled()

    # In the window: File ▸ Project members… opens the list; Delete server project… says why not.
    alice_ui = SyncUi(window, alice)
    assert not alice_ui.members_action.isEnabled()  # no shared project shown yet
    alice_ui.links.link(shot.project_id, studio.project)
    window.sidebar.reload_projects(shot.project_id)
    qtbot.waitUntil(alice_ui.members_action.isEnabled, timeout=5000)
    assert not alice_ui.delete_project_action.isEnabled()
    assert alice_ui.delete_project_action.toolTip() == (
        "The artist role cannot delete projects; admins can, and so can the project's owner"
    )
    opened = alice_ui.open_members()
    assert opened is not None
    assert opened.member_names() == ["alice", "bob"]
    opened.close()


def test_the_projects_owner_manages_it_from_the_app_whatever_their_role(
    qtbot: Any, studio: Studio, people: dict[str, SyncBridge]
) -> None:
    engine = open_database(studio.config.db_url)
    admin.set_owner(engine, "show", "alice")
    engine.dispose()
    alice = people["alice"]
    alice.start(studio.url, studio.tokens["alice"])  # owners come with the project list at sign-in
    qtbot.waitUntil(lambda: describe_status(alice.status) == "online", timeout=10_000)
    dialog = members_dialog(qtbot, alice, studio)
    rows = [dialog.member_list.topLevelItem(i) for i in range(dialog.member_list.topLevelItemCount())]
    assert [(row.text(1), row.text(2)) for row in rows if row is not None] == [
        ("alice", "artist · owner"),
        ("bob", "artist"),
    ]
    assert not dialog.read_only_label.isVisibleTo(dialog)
    assert dialog.edit_row.isVisibleTo(dialog)
    assert dialog.delete_button.isVisibleTo(dialog)
    dialog.select_member("bob")
    assert dialog.remove_button.isEnabled()
    # bob, an artist who owns nothing, still sees the list only.
    bobs = members_dialog(qtbot, people["bob"], studio)
    assert bobs.read_only_label.isVisibleTo(bobs)


def test_deleting_needs_the_typed_name_then_the_project_goes_for_everyone(
    qtbot: Any,
    studio: Studio,
    root: Account,
    people: dict[str, SyncBridge],
    window: MainWindow,
    shot: AssetRecord,
) -> None:
    root_ui = SyncUi(window, root.bridge)
    root_ui.links.link(shot.project_id, studio.project)
    window.sidebar.reload_projects(shot.project_id)
    qtbot.waitUntil(root_ui.delete_project_action.isEnabled, timeout=5000)
    dialog = root_ui.open_project_deletion()
    assert dialog is not None

    dialog.name_edit.setText("Show")  # close is not enough
    assert not dialog.delete_button.isEnabled()
    with qtbot.assertNotEmitted(root.bridge.project_deletion_done, wait=300):
        dialog.confirm()
        qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
    assert root_ui.links.server_project(shot.project_id) == studio.project

    alice_heard: list[object] = []
    people["alice"].attention.connect(alice_heard.append)
    dialog.name_edit.setText("show")
    with qtbot.waitSignal(root.bridge.project_deletion_done, timeout=10_000):
        qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ProjectDeleted(studio.project) in alice_heard, timeout=10_000)
    assert root_ui.links.server_project(shot.project_id) is None  # unlinked; the local project stays
    assert window.catalog.get_asset(shot.id) == shot
    assert not root_ui.members_action.isEnabled()
    # Said at once, and again when the server's tombstone arrives; either way by the project's name.
    assert "Server project “show” was deleted" in window.statusBar().currentMessage()


def test_offline_a_change_says_it_needs_the_server_and_changes_nothing(
    qtbot: Any, studio: Studio, root: Account
) -> None:
    members = members_dialog(qtbot, root.bridge, studio)
    deletion = DeleteProjectDialog(root.bridge, studio.project, "show")
    qtbot.addWidget(deletion)
    deletion.show()
    studio.stop()
    qtbot.waitUntil(lambda: describe_status(root.bridge.status) in ("offline", "connecting…"), timeout=10_000)

    members.user_edit.setText("carol")
    qtbot.mouseClick(members.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "needs the server" in members.message(), timeout=15_000)
    assert members.message().startswith("Adding a member needs the server, which cannot be reached now.")
    assert "Nothing was changed" in members.message()
    assert members.add_button.isEnabled()  # the user may try again
    assert members.member_names() == ["alice", "bob", "root"]

    deletion.name_edit.setText("show")
    qtbot.mouseClick(deletion.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "needs the server" in deletion.error_label.text(), timeout=15_000)
    assert deletion.isVisible()  # still open, with the reason
    assert deletion.delete_button.isEnabled()

    studio.start()  # the project is still there: nothing was sent while offline
    root.connect(qtbot)
    assert root.project_names() == ["show"]
