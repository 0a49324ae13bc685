"""Playlists as synced records on a real server: one made offline reaches a teammate exactly once
after linking, a reorder and a deletion (a tombstone) follow, and the server keeps the role rules."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.sync.local_private import private_project
from server import admin
from server.db import create_db_engine, events
from tests.server.conftest import BACKENDS, RunningServer
from tests.server.harness import start_client, stop_client, wait_until
from tests.server.wsclient import RawClient, new_id

pytestmark = pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)


def _saves_stored(db_url: str, playlist_id: str) -> int:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as connection:
            payloads = connection.execute(
                sa.select(events.c.payload).where(events.c.op == "save_playlist")
            ).scalars()
            return sum(playlist_id in payload for payload in payloads)
    finally:
        engine.dispose()


def test_a_playlist_made_offline_reaches_a_teammate_once_then_its_edits_and_deletion(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    cast = sync_server.cast
    alice, _alice_events = start_client(tmp_path / "alice.sqlite3", sync_server.url, cast.tokens["alice"])
    bob, _bob_events = start_client(tmp_path / "bob.sqlite3", sync_server.url, cast.tokens["bob"])
    try:
        # Made in a local project no server knows yet: stored at once, sent nowhere.
        made = alice.store.save_playlist(private_project(7), "Dailies", ["hash-a", "hash-b", "hash-c"])
        assert (made.sync_state, made.items) == ("private", ["hash-a", "hash-b", "hash-c"])
        wait_until(lambda: alice.store.current_user_id() is not None)
        assert alice.store.share_private_notes(7, cast.project) == 1
        assert alice.store.share_private_notes(7, cast.project) == 0
        wait_until(lambda: [p.name for p in bob.store.list_playlists(cast.project)] == ["Dailies"])
        seen = bob.store.playlist(made.id)
        assert (seen.items, seen.author, seen.sync_state) == (
            ["hash-a", "hash-b", "hash-c"],
            cast.users["alice"],
            "synced",
        )
        wait_until(lambda: alice.store.pending_count() == 0)
        assert _saves_stored(cast.db_url, made.id) == 1

        alice.store.save_playlist(cast.project, "Dailies", ["hash-c", "hash-a", "hash-b"], made.id)
        wait_until(lambda: bob.store.playlist(made.id).items == ["hash-c", "hash-a", "hash-b"])
        with pytest.raises(PermissionError, match="other people's playlists"):
            bob.store.save_playlist(cast.project, "Mine now", [], made.id)

        alice.store.delete_playlist(made.id)
        wait_until(lambda: bob.store.playlist(made.id).deleted)
        assert bob.store.list_playlists(cast.project) == []
        assert bob.store.playlist(made.id).items == []
    finally:
        stop_client(alice)
        stop_client(bob)


def _save(project: int, playlist_id: str, name: str, items: list[str]) -> dict[str, Any]:
    return {
        "type": "save_playlist",
        "change_id": new_id(),
        "project": project,
        "playlist_id": playlist_id,
        "name": name,
        "items": items,
    }


def test_the_server_refuses_clients_and_other_peoples_playlists_but_not_supervisors(
    sync_server: RunningServer,
) -> None:
    cast = sync_server.cast
    engine = create_db_engine(cast.db_url)
    try:
        sam = admin.add_user(engine, "sam", "supervisor", "sam-password")
        admin.add_member(engine, "show", "sam")
        sam_token = admin.issue_token(engine, sam).token
    finally:
        engine.dispose()

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        carol = await RawClient.open(sync_server.url, cast.tokens["carol"])
        supervisor = await RawClient.open(sync_server.url, sam_token)
        refused = await carol.request(_save(cast.project, new_id(), "Client picks", ["h"]))
        assert (refused["type"], refused["code"]) == ("error", "forbidden")
        assert "client role" in refused["message"]
        playlist_id = new_id()
        assert (await alice.request(_save(cast.project, playlist_id, "Dailies", ["h1"])))["type"] == "ack"
        taken = await bob.request(_save(cast.project, playlist_id, "Dailies", []))
        assert (taken["code"], "other people's playlists" in taken["message"]) == ("forbidden", True)
        deleted_by_carol = await carol.request(
            {
                "type": "delete_playlist",
                "change_id": new_id(),
                "project": cast.project,
                "playlist_id": playlist_id,
            }
        )
        assert deleted_by_carol["code"] == "forbidden"
        moved = await supervisor.request(_save(cast.project, playlist_id, "Dailies", ["h2", "h1"]))
        assert moved["type"] == "ack"
        events_seen = await carol.subscribe(cast.project)
        assert [e["record"]["items"] for e in events_seen] == [["h1"], ["h2", "h1"]]
        assert events_seen[-1]["record"]["author"] == cast.users["alice"]
        for client in (alice, bob, carol, supervisor):
            await client.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
