"""The comments panel offers Delete on someone else's comment to a supervisor only, and the deletion
reaches the author's panel as a tombstone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QPushButton

from core.catalog.records import AssetRecord
from core.settings import Settings
from core.sync.credentials import TokenStore
from core.sync.local_store import LocalStore
from core.sync.wording import describe_status
from server import admin
from server.db import open_database
from tests.ui.test_sync_ui import FAST_RECONNECT, Studio, people, shot, studio
from ui.collab.comments import CommentsPanel
from workers.background import BackgroundWork
from workers.sync_bridge import SyncBridge

__all__ = ["people", "shot", "studio"]  # the fixtures this module shares


def buttons(panel: CommentsPanel, row: int) -> list[str]:
    return [b.text() for b in panel.card(row).findChildren(QPushButton)]


def test_a_supervisor_deletes_an_artists_comment_from_the_panel(
    qtbot: Any, tmp_path: Path, studio: Studio, people: dict[str, SyncBridge], shot: AssetRecord
) -> None:
    engine = open_database(studio.config.db_url)
    sam = admin.add_user(engine, "sam", "supervisor", "sam-password")
    admin.add_member(engine, "show", "sam")
    token = admin.issue_token(engine, sam).token
    engine.dispose()
    supervisor = SyncBridge(
        LocalStore(tmp_path / "sam.db"),
        TokenStore(),
        Settings(),
        BackgroundWork(),
        client_options=FAST_RECONNECT,
    )
    supervisor.start(studio.url, token)
    try:
        qtbot.waitUntil(lambda: describe_status(supervisor.status) == "online", timeout=10_000)
        panels = {}
        for name, bridge in (("alice", people["alice"]), ("bob", people["bob"]), ("sam", supervisor)):
            panels[name] = CommentsPanel(bridge)
            qtbot.addWidget(panels[name])
            panels[name].set_context(studio.project, shot)
        panels["alice"].compose.setPlainText("this shot is garbage")
        panels["alice"].send()
        for name in ("bob", "sam"):
            qtbot.waitUntil(lambda n=name: len(panels[n].comments()) == 1, timeout=10_000)
        assert buttons(panels["alice"], 0) == ["Edit", "Delete"]
        assert buttons(panels["bob"], 0) == []  # an artist cannot moderate: no button at all
        assert buttons(panels["sam"], 0) == ["Delete"]  # a supervisor deletes, never edits, others' notes
        panels["sam"].delete(panels["sam"].comments()[0], confirm=False)
        qtbot.waitUntil(lambda: panels["alice"].comments()[0].deleted, timeout=10_000)
        assert panels["alice"].comments()[0].body == ""
        assert buttons(panels["alice"], 0) == []
    finally:
        supervisor.close()
