"""Deleting a task or a shared asset over real sockets: the deleter's app removes it once the server's
tombstone comes back, and a teammate's app that was offline learns of it when it reconnects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server import admin
from server.cli import main
from server.db import open_database
from server.store import member_projects
from tests.server.conftest import BACKENDS, RunningServer
from tests.server.harness import start_client, stop_client, wait_until
from tests.server.wsclient import RawClient, asset_change, comment_change, new_id, task_change


@pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)
def test_deleted_tasks_and_assets_reach_an_offline_client(sync_server: RunningServer, tmp_path: Path) -> None:
    cast, url = sync_server.cast, sync_server.url
    engine = open_database(cast.db_url)
    root = admin.issue_token(engine, admin.add_user(engine, "root", "admin", "root-password")).token
    admin.add_member(engine, "show", "root")
    engine.dispose()
    shot, plate = asset_change(cast.project), asset_change(cast.project, content_hash="plate")
    note = comment_change(cast.project, shot["asset_id"], "the edge flickers")
    shot_task = task_change(cast.project, "fix the edge", asset_id=shot["asset_id"])
    loose_task = task_change(cast.project, "update the slate")

    async def post() -> None:
        alice = await RawClient.open(url, cast.tokens["alice"])
        for change in (shot, plate, note, shot_task, loose_task):
            assert (await alice.request(change))["type"] == "ack"
        await alice.close()

    asyncio.run(asyncio.wait_for(post(), 30))
    bob, _ = start_client(tmp_path / "bob.sqlite3", url, cast.tokens["bob"])
    wait_until(lambda: len(bob.store.list_tasks(cast.project)) == 2)
    assert len(bob.store.list_comments(shot["asset_id"])) == 1
    stop_client(bob)  # offline from here on

    # Alice deletes her task from her app (through its outbox); bob, an artist, may not delete it.
    alice, _ = start_client(tmp_path / "alice.sqlite3", url, cast.tokens["alice"])
    try:
        wait_until(lambda: len(alice.store.list_tasks(cast.project)) == 2)
        alice.store.delete_task(loose_task["task_id"])
        wait_until(lambda: [t.id for t in alice.store.list_tasks(cast.project)] == [shot_task["task_id"]])
    finally:
        stop_client(alice)

    async def delete_shot() -> tuple[dict[str, object], dict[str, object]]:
        delete = {"type": "delete_asset", "project": cast.project, "asset_id": shot["asset_id"]}
        replies = []
        for token in (cast.tokens["bob"], root):
            client = await RawClient.open(url, token)
            replies.append(await client.request({**delete, "change_id": new_id()}))
            await client.close()
        return replies[0], replies[1]

    by_bob, by_root = asyncio.run(asyncio.wait_for(delete_shot(), 30))
    assert (by_bob["type"], by_bob["code"]) == ("error", "forbidden")
    assert by_root["type"] == "ack"

    bob, _ = start_client(tmp_path / "bob.sqlite3", url, cast.tokens["bob"])
    try:
        # The shot goes with its note and its task; the plate stays.
        wait_until(lambda: bob.store.asset_content_hash(shot["asset_id"]) is None)
        assert bob.store.list_tasks(cast.project) == []
        assert bob.store.list_comments(shot["asset_id"], include_deleted=True) == []
        assert bob.store.asset_content_hash(plate["asset_id"]) == (cast.project, "plate")
    finally:
        stop_client(bob)


def test_only_its_creator_supervisors_and_admins_delete_a_task(sync_server: RunningServer) -> None:
    cast, url = sync_server.cast, sync_server.url
    task = task_change(cast.project, "roto the hair")

    async def scenario() -> list[str]:
        alice = await RawClient.open(url, cast.tokens["alice"])
        bob = await RawClient.open(url, cast.tokens["bob"])
        assert (await alice.request(task))["type"] == "ack"
        delete = {"type": "delete_task", "project": cast.project, "task_id": task["task_id"]}
        replies = [
            await bob.request({**delete, "change_id": new_id()}),
            await alice.request({**delete, "change_id": new_id()}),
            await alice.request({**delete, "change_id": new_id()}),
        ]
        await alice.close()
        await bob.close()
        return [str(reply.get("code", reply["type"])) for reply in replies]

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == ["forbidden", "ack", "not_found"]


def test_a_client_refuses_a_task_deletion_its_role_cannot_make(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    cast, url = sync_server.cast, sync_server.url
    asset = asset_change(cast.project)
    task = task_change(cast.project, "grade")

    async def post() -> None:
        alice = await RawClient.open(url, cast.tokens["alice"])
        for change in (asset, task):
            assert (await alice.request(change))["type"] == "ack"
        await alice.close()

    asyncio.run(asyncio.wait_for(post(), 30))
    carol, _ = start_client(tmp_path / "carol.sqlite3", url, cast.tokens["carol"])
    try:
        wait_until(lambda: len(carol.store.list_tasks(cast.project)) == 1)
        with pytest.raises(PermissionError, match="The client role"):
            carol.store.delete_task(task["task_id"])
    finally:
        stop_client(carol)


@pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)
def test_a_projects_owner_deletes_its_shared_assets_whatever_their_role(
    sync_server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cast, url = sync_server.cast, sync_server.url
    data = ["--db", cast.db_url]
    assert main(["project", "owner", "show", "carol", *data]) == 0
    assert main(["project", "add", "pilot", "--owner", "dave", *data]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "carol now owns show",
        "Added project pilot (id 3), owned by dave",
    ]
    engine = open_database(cast.db_url)
    with engine.connect() as connection:  # an owner is made a member of their project
        assert [p.name for p in member_projects(connection, cast.users["dave"])] == ["other show", "pilot"]
    engine.dispose()
    assets = [asset_change(cast.project, content_hash=name) for name in ("a", "b")]

    async def scenario() -> list[str]:
        alice = await RawClient.open(url, cast.tokens["alice"])
        carol = await RawClient.open(url, cast.tokens["carol"])
        for asset in assets:
            assert (await alice.request(asset))["type"] == "ack"
        delete = {"type": "delete_asset", "project": cast.project}
        replies = [
            await alice.request({**delete, "asset_id": assets[0]["asset_id"], "change_id": new_id()}),
            await carol.request({**delete, "asset_id": assets[0]["asset_id"], "change_id": new_id()}),
        ]
        await alice.close()
        await carol.close()
        return [str(reply.get("code", reply["type"])) for reply in replies]

    # Carol is a client (she may not even publish), but she owns the project.
    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == ["forbidden", "ack"]
