"""Hostile shapes against a real ``stratopipe-server`` process: a poison event no longer stops a project,
the server refuses such shapes, an administrator can redact one, and deeply nested JSON gets an error
instead of a crashed handler."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.sync.client_events import EventsUnreadable
from core.sync.protocol import AddCommentChange, UserInfo
from server.auth import token_hash
from server.changes import apply_batch
from server.db import create_db_engine
from server.store import SessionUser
from tests.server.conftest import Cast, build_cast
from tests.server.harness import ROOT, ServerProcess, start_client, stop_client, wait_until
from tests.server.wsclient import RawClient, asset_change, comment_change, new_id

DEPTH = 198  # within the message parser's 200 levels, beyond them once inside an events page


def nested(depth: int) -> object:
    value: object = [0.5, 0.5]
    for _ in range(depth - 1):
        value = [value]
    return value


def store_as_an_older_server_did(cast: Cast, asset_id: str) -> int:
    """A comment with a 198-level annotation, stored through the writer's own code without the shape
    check an older server lacked (``model_construct`` skips validation). Returns its sequence number."""
    change = AddCommentChange.model_construct(
        change_id=new_id(),
        project=cast.project,
        comment_id=new_id(),
        asset_id=asset_id,
        body="look at this",
        frame=None,
        annotation={"strokes": nested(DEPTH)},
    )
    alice = SessionUser(
        UserInfo(id=cast.users["alice"], name="alice", role="artist"), token_hash(cast.tokens["alice"])
    )
    engine = create_db_engine(cast.db_url)
    [result] = apply_batch(engine, [(alice, change)])
    engine.dispose()
    assert result.error is None
    return result.seq


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[ServerProcess, Cast]]:
    cast = build_cast(tmp_path / "server")
    running = ServerProcess(cast.data_dir).start()
    yield running, cast
    running.stop()


def test_the_server_refuses_shapes_no_client_could_read(live: tuple[ServerProcess, Cast]) -> None:
    server, cast = live

    async def scenario() -> None:
        alice = await RawClient.open(server.url, cast.tokens["alice"])
        asset = asset_change(cast.project)
        assert (await alice.request(asset))["type"] == "ack"
        shapes = {
            "deep annotation": {"annotation": {"strokes": nested(DEPTH)}},
            "too many points": {"annotation": {"strokes": [{"points": [[0.1, 0.1]] * 2001}]}},
            "points that are not points": {"annotation": {"strokes": [{"points": [["x", {}]]}]}},
        }
        for what, extra in shapes.items():
            reply = await alice.request(comment_change(cast.project, asset["asset_id"], what, **extra))
            assert (reply["type"], reply["code"]) == ("error", "bad_request"), what
        deep_metadata = asset_change(cast.project, metadata={"a": nested(20)})
        assert (await alice.request(deep_metadata))["code"] == "bad_request"
        # A drawing of ordinary size still goes through, on the same connection.
        drawing = {"version": 1, "strokes": [{"colour": "#ff453a", "width": 0.004, "points": [[0.1, 0.2]]}]}
        ok = await alice.request(comment_change(cast.project, asset["asset_id"], "fine", annotation=drawing))
        assert ok["type"] == "ack"
        await alice.close()

    asyncio.run(scenario())


def test_a_stored_poison_event_is_skipped_reported_and_redacted(
    live: tuple[ServerProcess, Cast], tmp_path: Path
) -> None:
    server, cast = live

    async def publish() -> str:
        alice = await RawClient.open(server.url, cast.tokens["alice"])
        asset = asset_change(cast.project)
        assert (await alice.request(asset))["type"] == "ack"
        await alice.close()
        return str(asset["asset_id"])

    async def comment_after(asset_id: str) -> None:
        alice = await RawClient.open(server.url, cast.tokens["alice"])
        reply = await alice.request(comment_change(cast.project, asset_id, "written after it"))
        assert reply["type"] == "ack"
        await alice.close()

    asset_id = asyncio.run(publish())
    poison_seq = store_as_an_older_server_did(cast, asset_id)
    asyncio.run(comment_after(asset_id))

    # A member joining now (bob, fresh catalog) catches up past the poison: the later comment arrives,
    # the poison is recorded and reported, and the client stays connected (no reconnect loop).
    bob, bob_events = start_client(tmp_path / "bob.sqlite3", server.url, cast.tokens["bob"])
    try:
        wait_until(lambda: [c.body for c in bob.store.list_comments(asset_id)] == ["written after it"])
        wait_until(lambda: bob.status.state == "online")
        assert [u.seq for u in bob.store.unreadable_events()] == [poison_seq]
        [reported] = bob_events.of(EventsUnreadable)
        assert [item.seq for item in reported.events] == [poison_seq]  # type: ignore[union-attr]
        assert sum(1 for s in bob_events.statuses if s.state == "connecting") == 1
    finally:
        stop_client(bob)

    # The administrator redacts it; whoever reads it from now on gets an empty, deleted comment.
    command = [sys.executable, "-m", "server", "event", "redact", "show", str(poison_seq)]
    redact = subprocess.run(
        [*command, "--data-dir", str(cast.data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert redact.returncode == 0, redact.stderr
    carol, carol_events = start_client(tmp_path / "carol.sqlite3", server.url, cast.tokens["carol"])
    try:
        wait_until(lambda: len(carol.store.list_comments(asset_id, include_deleted=True)) == 2)
        first, second = carol.store.list_comments(asset_id, include_deleted=True)
        assert (first.deleted, first.body, first.annotation, first.seq) == (True, "", None, poison_seq)
        assert second.body == "written after it"
        assert carol.store.unreadable_events() == []
        assert carol_events.of(EventsUnreadable) == []
    finally:
        stop_client(carol)


def test_deeply_nested_json_gets_an_error_and_the_socket_stays_open(live: tuple[ServerProcess, Cast]) -> None:
    server, cast = live

    async def scenario() -> None:
        client = await RawClient.open(server.url)
        depth = 100_000
        for _ in range(3):
            await client.ws.send('{"v":1,"type":"login","username":' + "[" * depth + "]" * depth + "}")
            reply = await client.next_message()
            assert (reply["type"], reply["code"]) == ("error", "bad_request")
            assert "JSON" in reply["message"]
        # Still the same connection, still answering.
        auth = await client.request({"type": "auth", "token": cast.tokens["alice"]})
        assert auth["type"] == "auth_ok"
        await client.close()

    asyncio.run(scenario())
    assert "connection handler failed" not in server.log()
    assert "Traceback" not in json.dumps(server.log())
