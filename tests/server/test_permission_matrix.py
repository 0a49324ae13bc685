"""Every row of the permission matrix (``core.sync.roles.PERMISSIONS``) for every role, against a real
server: the server accepts exactly what the table allows and refuses the rest as ``forbidden``.

One server serves the whole module (each case makes its own records, so the cases stay independent);
a row without a check below fails, so a permission added to the table is tested the day it is added.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.sync.invitations import create_invitation, reset_password
from core.sync.media_client import MediaConnection, MediaTransferError
from core.sync.members import add_member, remove_member
from core.sync.protocol import Role
from core.sync.roles import ALL_ROLES, PERMISSIONS, may
from core.sync.sign_in import SignInFailure
from server import admin
from server.app import ServerConfig
from server.db import open_database
from tests.server.conftest import RunningServer, build_cast
from tests.server.wsclient import RawClient, asset_change, comment_change, new_id, task_change

# One member of "show" per role; bob (an artist) owns the records that are "someone else's".
PEOPLE: dict[Role, str] = {"admin": "root", "supervisor": "sam", "artist": "alice", "client": "carol"}
MEDIA_BYTES = 64 << 10  # the smallest chunk the protocol allows


@dataclass
class World:
    server: RunningServer
    tmp: Path
    published_sha: str

    @property
    def project(self) -> int:
        return self.server.cast.project

    def token(self, name: str) -> str:
        return self.server.cast.tokens[name]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("matrix")
    cast = build_cast(tmp / "server")
    engine = open_database(cast.db_url)
    for name, role in (("root", "admin"), ("sam", "supervisor"), ("zed", "artist")):
        cast.users[name] = admin.add_user(engine, name, role, f"{name}-password")
        cast.tokens[name] = admin.issue_token(engine, cast.users[name]).token
        admin.add_member(engine, "show", name)
    engine.dispose()
    config = ServerConfig(db_url=cast.db_url, port=0, auth_timeout_s=5.0, ping_interval_s=None)
    server = RunningServer(cast, config).start()
    source = tmp / "published.bin"
    source.write_bytes(b"published by bob" * 256)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()

    async def publish() -> None:
        async with await MediaConnection.open(server.url, cast.tokens["bob"]) as media:
            await media.upload(cast.project, source, digest, "published.bin", MEDIA_BYTES)

    asyncio.run(asyncio.wait_for(publish(), 30))
    yield World(server, tmp, digest)
    server.stop()


async def _request(world: World, name: str, change: dict[str, Any]) -> dict[str, Any]:
    client = await RawClient.open(world.server.url, world.token(name))
    try:
        return await client.request(change)
    finally:
        await client.close()


async def _acked(world: World, name: str, change: dict[str, Any]) -> dict[str, Any]:
    reply = await _request(world, name, change)
    assert reply["type"] == "ack", reply
    return change


async def _bobs_asset(world: World) -> dict[str, Any]:
    return await _acked(world, "bob", asset_change(world.project, content_hash=new_id()))


async def _bobs_task(world: World) -> dict[str, Any]:
    return await _acked(world, "bob", task_change(world.project, "key the plate"))


def _verdict(reply: dict[str, Any]) -> bool:
    """True for an ack; a refusal must be ``forbidden`` (never a missing record or a crash)."""
    if reply["type"] == "ack":
        return True
    assert (reply["type"], reply["code"]) == ("error", "forbidden"), reply
    return False


async def _comment(world: World, name: str) -> bool:
    asset = await _bobs_asset(world)
    return _verdict(await _request(world, name, comment_change(world.project, asset["asset_id"], "nice")))


async def _upsert_asset(world: World, name: str) -> bool:
    return _verdict(await _request(world, name, asset_change(world.project, content_hash=new_id())))


async def _create_task(world: World, name: str) -> bool:
    return _verdict(await _request(world, name, task_change(world.project, "track the shot")))


async def _update_task(world: World, name: str) -> bool:
    task = await _bobs_task(world)
    change = {
        "type": "update_task",
        "change_id": new_id(),
        "project": world.project,
        "task_id": task["task_id"],
        "base_version": 1,
        "fields": {"status": "in_progress"},
    }
    return _verdict(await _request(world, name, change))


async def _set_review(world: World, name: str) -> bool:
    asset = await _bobs_asset(world)
    change = {
        "type": "set_review",
        "change_id": new_id(),
        "project": world.project,
        "asset_id": asset["asset_id"],
        "content_hash": asset["content_hash"],
        "status": "approved",
    }
    return _verdict(await _request(world, name, change))


async def _moderate_comment(world: World, name: str) -> bool:
    asset = await _bobs_asset(world)
    comment = await _acked(world, "bob", comment_change(world.project, asset["asset_id"], "mine"))
    change = {
        "type": "delete_comment",
        "change_id": new_id(),
        "project": world.project,
        "comment_id": comment["comment_id"],
    }
    return _verdict(await _request(world, name, change))


def _playlist(world: World, playlist_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "save_playlist",
        "change_id": new_id(),
        "project": world.project,
        "playlist_id": playlist_id or new_id(),
        "name": "Dailies",
        "items": ["hash-a"],
    }


async def _save_playlist(world: World, name: str) -> bool:
    return _verdict(await _request(world, name, _playlist(world)))


async def _moderate_playlist(world: World, name: str) -> bool:
    bobs = await _acked(world, "bob", _playlist(world))
    return _verdict(await _request(world, name, _playlist(world, bobs["playlist_id"])))


def _delete_task_change(world: World, task: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "delete_task",
        "change_id": new_id(),
        "project": world.project,
        "task_id": task["task_id"],
    }


async def _delete_own_task(world: World, name: str) -> bool:
    role = next(role for role, person in PEOPLE.items() if person == name)
    # A role that cannot create tasks has none of its own: it tries on someone else's.
    creator = name if may(role, "create_task") else "bob"
    task = await _acked(world, creator, task_change(world.project, "roto"))
    return _verdict(await _request(world, name, _delete_task_change(world, task)))


async def _moderate_task(world: World, name: str) -> bool:
    task = await _bobs_task(world)
    return _verdict(await _request(world, name, _delete_task_change(world, task)))


async def _delete_asset(world: World, name: str) -> bool:
    asset = await _bobs_asset(world)
    change = {
        "type": "delete_asset",
        "change_id": new_id(),
        "project": world.project,
        "asset_id": asset["asset_id"],
    }
    return _verdict(await _request(world, name, change))


async def _delete_project(world: World, name: str) -> bool:
    # A project of its own per case, without an owner: deleting "show" would end the other cases.
    engine = open_database(world.server.cast.db_url)
    project_name = f"doomed {new_id()}"
    project = admin.add_project(engine, project_name)
    for person in PEOPLE.values():
        admin.add_member(engine, project_name, person)
    engine.dispose()
    change = {"type": "delete_project", "change_id": new_id(), "project": project}
    return _verdict(await _request(world, name, change))


async def _manage_members(world: World, name: str) -> bool:
    add = add_member(world.server.url, world.token(name), world.project, "dave")
    outcome = await asyncio.to_thread(add.run)
    if not _issued(outcome):
        return False
    remove = remove_member(world.server.url, world.token(name), world.project, "dave")
    assert not isinstance(await asyncio.to_thread(remove.run), SignInFailure)
    return True


async def _media_verdict(transfer: Awaitable[object]) -> bool:
    try:
        await transfer
    except MediaTransferError as exc:
        code = exc.code
    else:
        return True
    assert code == "forbidden"
    return False


async def _publish_media(world: World, name: str) -> bool:
    source = world.tmp / f"{name}-{new_id()}.bin"
    source.write_bytes(new_id().encode() * 64)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    async with await MediaConnection.open(world.server.url, world.token(name)) as media:
        return await _media_verdict(media.upload(world.project, source, digest, source.name, MEDIA_BYTES))


async def _fetch_media(world: World, name: str) -> bool:
    part = world.tmp / f"{name}-{new_id()}.part"
    async with await MediaConnection.open(world.server.url, world.token(name)) as media:
        return await _media_verdict(media.download(world.project, world.published_sha, part))


def _issued(outcome: object) -> bool:
    if isinstance(outcome, SignInFailure):
        assert outcome.code == "forbidden", outcome
        return False
    return True


async def _invite(world: World, name: str) -> bool:
    issue = create_invitation(world.server.url, world.token(name), "artist", world.project)
    return _issued(await asyncio.to_thread(issue.run))


async def _reset_password(world: World, name: str) -> bool:
    issue = reset_password(world.server.url, world.token(name), "zed")
    return _issued(await asyncio.to_thread(issue.run))


CHECKS: dict[str, Callable[[World, str], Awaitable[bool]]] = {
    "comment": _comment,
    "upsert_asset": _upsert_asset,
    "create_task": _create_task,
    "update_task": _update_task,
    "set_review": _set_review,
    "moderate_comment": _moderate_comment,
    "save_playlist": _save_playlist,
    "moderate_playlist": _moderate_playlist,
    "delete_task": _delete_own_task,
    "moderate_task": _moderate_task,
    "delete_any_asset": _delete_asset,
    "delete_any_project": _delete_project,
    "manage_members": _manage_members,
    "publish_media": _publish_media,
    "fetch_media": _fetch_media,
    "invite": _invite,
    "reset_password": _reset_password,
}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("action", [permission.action for permission in PERMISSIONS])
def test_the_server_allows_exactly_what_the_matrix_says(world: World, action: str, role: Role) -> None:
    assert action in CHECKS, f"no server check for the permission {action!r}: add one to CHECKS"
    allowed = asyncio.run(asyncio.wait_for(CHECKS[action](world, PEOPLE[role]), 30))
    assert allowed == may(role, action), f"{role} {'may' if may(role, action) else 'may not'} {action}"
