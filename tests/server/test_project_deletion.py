"""Deleting a project over real sockets: its owner (or an admin) deletes it, an artist may not; the
server refuses further changes and subscriptions; a connected app hears the tombstone, an offline one
learns it from the project list when it reconnects, and each unlinks its local project, keeping its data."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.sync.client_events import ProjectDeleted
from core.sync.links import ProjectLinks
from core.sync.project_deletion import unlink_deleted_project
from server import admin
from server.db import open_database
from tests.server.conftest import RunningServer
from tests.server.harness import start_client, stop_client, wait_until
from tests.server.wsclient import RawClient, asset_change, new_id


def test_the_owner_deletes_a_project_and_an_offline_client_unlinks_it(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    cast, url = sync_server.cast, sync_server.url
    engine = open_database(cast.db_url)
    admin.set_owner(engine, "show", "carol")  # a client by role, but the project's owner
    engine.dispose()
    shot = asset_change(cast.project)

    async def publish() -> None:
        alice = await RawClient.open(url, cast.tokens["alice"])
        assert (await alice.request(shot))["type"] == "ack"
        await alice.close()

    asyncio.run(asyncio.wait_for(publish(), 30))
    bob, _ = start_client(tmp_path / "bob.sqlite3", url, cast.tokens["bob"])
    wait_until(lambda: bob.store.asset_content_hash(shot["asset_id"]) is not None)
    stop_client(bob)  # offline from here on
    alice, heard = start_client(tmp_path / "alice.sqlite3", url, cast.tokens["alice"])

    async def delete() -> list[str]:
        change = {"type": "delete_project", "project": cast.project}
        bob_raw = await RawClient.open(url, cast.tokens["bob"])
        carol = await RawClient.open(url, cast.tokens["carol"])
        replies = [
            await bob_raw.request({**change, "change_id": new_id()}),
            await carol.request({**change, "change_id": new_id()}),
            await carol.request(asset_change(cast.project)),
            await carol.request({"type": "subscribe", "project": cast.project, "since_seq": 0}),
        ]
        await bob_raw.close()
        await carol.close()
        assert "was deleted" in str(replies[2]["message"]), replies[2]
        assert "was deleted" in str(replies[3]["message"]), replies[3]
        return [str(reply.get("code", reply["type"])) for reply in replies]

    try:
        wait_until(lambda: alice.store.asset_content_hash(shot["asset_id"]) is not None)
        assert asyncio.run(asyncio.wait_for(delete(), 30)) == ["forbidden", "ack", "not_found", "not_found"]
        # Connected: the project's tombstone event.
        wait_until(lambda: bool(heard.of(ProjectDeleted)))
        assert heard.of(ProjectDeleted)[0] == ProjectDeleted(cast.project)
        # Not offered again (sign-in's project list), still named in notices.
        assert cast.project not in [p.id for p in alice.store.projects()]
        kept = alice.store.projects(include_deleted=True)
        assert [p.deleted for p in kept if p.id == cast.project] == [True]
    finally:
        stop_client(alice)

    links = ProjectLinks(tmp_path / "links.json")
    links.link(7, cast.project)
    links.link(8, cast.other_project)
    bob, recorder = start_client(tmp_path / "bob.sqlite3", url, cast.tokens["bob"])
    try:
        # Offline while it happened: the project list at sign-in says so.
        wait_until(lambda: bool(recorder.of(ProjectDeleted)))
        assert recorder.of(ProjectDeleted) == [ProjectDeleted(cast.project, "show")]
        assert unlink_deleted_project(links, cast.project) == [7]
        assert links.all() == {8: cast.other_project}
        assert cast.project not in [p.id for p in bob.store.projects()]
        # Nothing local is deleted: the shared asset's row stays in the sync store.
        assert bob.store.asset_content_hash(shot["asset_id"]) == (cast.project, shot["content_hash"])
    finally:
        stop_client(bob)
