"""Deleting from the UI follows the permission matrix: the task panel's Delete task is enabled for the
task's creator and disabled, with the reason as its tooltip, for an artist who did not create it; the
asset menu's "Delete from server project…" is offered to an admin and to the project's owner only, and
the deletion reaches a teammate's app while the catalog entry stays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from core.catalog.catalog import Catalog
from core.catalog.records import AssetRecord
from core.settings import Settings
from core.sync.credentials import TokenStore
from core.sync.local_store import LocalStore
from core.sync.wording import describe_status
from server import admin
from server.db import open_database
from tests.ui.test_sync_ui import FAST_RECONNECT, Studio, people, shot, studio
from ui.collab.deletions import shared_asset_deletion
from ui.collab.tasks import TasksPanel
from workers.background import BackgroundWork
from workers.sync_bridge import SyncBridge

__all__ = ["people", "shot", "studio"]  # the fixtures this module shares


def test_only_the_tasks_creator_may_press_delete_and_it_reaches_a_teammate(
    qtbot: Any, studio: Studio, people: dict[str, SyncBridge]
) -> None:
    boards = {name: TasksPanel(bridge) for name, bridge in people.items()}
    for board in boards.values():
        qtbot.addWidget(board)
        board.set_project(studio.project)
    task = boards["alice"].create_from({"title": "Roto the hair", "description": "", "status": "open"})
    assert task is not None
    qtbot.waitUntil(lambda: boards["bob"].card_titles("open") == ["Roto the hair"], timeout=10_000)
    assert not boards["bob"].delete_button.isEnabled()  # nothing selected
    boards["bob"].select(task.id)
    assert not boards["bob"].delete_button.isEnabled()
    assert boards["bob"].delete_button.toolTip() == (
        "The artist role cannot delete other people's tasks; admins and supervisors can"
    )
    boards["alice"].select(task.id)
    assert boards["alice"].delete_button.isEnabled()
    boards["alice"].delete_selected(confirm=False)
    qtbot.waitUntil(lambda: boards["bob"].tasks() == [], timeout=10_000)
    qtbot.waitUntil(lambda: boards["alice"].tasks() == [], timeout=10_000)


def test_the_asset_menu_offers_deleting_a_shared_asset_to_an_admin_only(
    qtbot: Any,
    tmp_path: Path,
    studio: Studio,
    people: dict[str, SyncBridge],
    shot: AssetRecord,
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = open_database(studio.config.db_url)
    root = admin.add_user(engine, "root", "admin", "root-password")
    admin.add_member(engine, "show", "root")
    token = admin.issue_token(engine, root).token
    engine.dispose()
    boss = SyncBridge(
        LocalStore(tmp_path / "root.db"),
        TokenStore(),
        Settings(),
        BackgroundWork(),
        client_options=FAST_RECONNECT,
    )
    boss.start(studio.url, token)
    parent = QWidget()
    qtbot.addWidget(parent)
    errors: list[str] = []

    def action(bridge: SyncBridge) -> Any:
        return shared_asset_deletion(bridge.store, studio.project, "", [shot], parent, errors.append)

    try:
        qtbot.waitUntil(lambda: describe_status(boss.status) == "online", timeout=10_000)
        unshared = action(people["alice"])
        assert not unshared.isEnabled()
        assert unshared.toolTip() == "This asset is not shared with the server project"
        alice = people["alice"].store
        asset_id = alice.ensure_asset(studio.project, shot.name, shot.kind, shot.content_hash)
        alice.add_comment(studio.project, asset_id, "the key spills")
        qtbot.waitUntil(
            lambda: boss.store.find_asset(studio.project, shot.content_hash) == asset_id, timeout=10_000
        )
        by_artist = action(people["alice"])
        assert not by_artist.isEnabled()
        assert by_artist.toolTip().startswith("The artist role cannot delete shared assets")
        by_admin = action(boss)
        assert by_admin.isEnabled()
        monkeypatch.setattr(QMessageBox, "question", lambda *_args: QMessageBox.StandardButton.Yes)
        by_admin.trigger()
        qtbot.waitUntil(lambda: alice.find_asset(studio.project, shot.content_hash) is None, timeout=10_000)
        assert alice.list_comments(asset_id, include_deleted=True) == []
        assert errors == []
        assert catalog.get_asset(shot.id) == shot  # the catalog entry stays, unshared
    finally:
        boss.close()


def test_the_projects_owner_is_offered_deleting_a_shared_asset_too(
    qtbot: Any, studio: Studio, people: dict[str, SyncBridge], shot: AssetRecord
) -> None:
    alice = people["alice"]
    asset_id = alice.store.ensure_asset(studio.project, shot.name, shot.kind, shot.content_hash)
    assert asset_id
    parent = QWidget()
    qtbot.addWidget(parent)

    def offered() -> bool:
        return shared_asset_deletion(alice.store, studio.project, "", [shot], parent, print).isEnabled()

    assert not offered()
    engine = open_database(studio.config.db_url)
    admin.set_owner(engine, "show", "alice")
    engine.dispose()
    # The server says who owns a project when a client signs in.
    alice.start(studio.url, studio.tokens["alice"])
    qtbot.waitUntil(lambda: describe_status(alice.status) == "online", timeout=10_000)
    qtbot.waitUntil(offered, timeout=10_000)
    assert [p.owner for p in alice.store.projects()] == [studio.users["alice"]]
    assert [p.owner for p in people["bob"].store.projects()] == [None]  # bob has not signed in since
