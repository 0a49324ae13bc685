"""Moderation over real sockets: supervisors and admins delete anyone's comment, others only their own;
the deletion is a tombstone event that reaches a client that was offline when it happened."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server import admin
from server.db import open_database
from tests.server.conftest import RunningServer
from tests.server.harness import start_client, stop_client, wait_until
from tests.server.wsclient import RawClient, asset_change, comment_change, new_id


def test_a_supervisor_deletes_a_comment_and_an_offline_client_learns_of_it(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    cast, url = sync_server.cast, sync_server.url
    engine = open_database(cast.db_url)
    sam = admin.add_user(engine, "sam", "supervisor", "sam-password")
    admin.add_member(engine, "show", "sam")
    sam_token = admin.issue_token(engine, sam).token
    engine.dispose()
    asset = asset_change(cast.project)
    rude = comment_change(cast.project, asset["asset_id"], "this shot is garbage")
    carols = comment_change(cast.project, asset["asset_id"], "client note: warmer please")

    async def post() -> None:
        alice = await RawClient.open(url, cast.tokens["alice"])
        carol = await RawClient.open(url, cast.tokens["carol"])
        for client, change in ((alice, asset), (alice, rude), (carol, carols)):
            assert (await client.request(change))["type"] == "ack"
        await alice.close()
        await carol.close()

    asyncio.run(asyncio.wait_for(post(), 30))
    # Bob's app has seen both notes, then goes offline.
    bob, _ = start_client(tmp_path / "bob.sqlite3", url, cast.tokens["bob"])
    wait_until(lambda: len(bob.store.list_comments(asset["asset_id"])) == 2)
    stop_client(bob)

    def delete(comment: dict[str, object]) -> dict[str, object]:
        return {
            "type": "delete_comment",
            "change_id": new_id(),
            "project": cast.project,
            "comment_id": comment["comment_id"],
        }

    async def moderate() -> list[dict[str, object]]:
        replies = []
        for token, comment in (
            (cast.tokens["bob"], carols),
            (sam_token, rude),
            (cast.tokens["carol"], carols),
        ):
            client = await RawClient.open(url, token)
            replies.append(await client.request(delete(comment)))
            await client.close()
        return replies

    by_bob, by_sam, by_carol = asyncio.run(asyncio.wait_for(moderate(), 30))
    assert (by_bob["type"], by_bob["code"]) == ("error", "forbidden")  # an artist cannot moderate
    assert "supervisors and admins" in str(by_bob["message"])
    assert by_sam["type"] == "ack"
    assert by_carol["type"] == "ack"

    bob, _ = start_client(tmp_path / "bob.sqlite3", url, cast.tokens["bob"])
    try:
        wait_until(lambda: bob.store.list_comments(asset["asset_id"]) == [])
        tombstones = bob.store.list_comments(asset["asset_id"], include_deleted=True)
        assert [(c.body, c.deleted, c.author) for c in tombstones] == [
            ("", True, cast.users["alice"]),
            ("", True, cast.users["carol"]),
        ]
    finally:
        stop_client(bob)
