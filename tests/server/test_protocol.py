"""The sync server over real sockets: delivery, idempotency, conflicts, access control, abuse."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import urllib.request
from typing import Any

import pytest
import sqlalchemy as sa
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server import admin
from server.db import create_db_engine, tokens
from tests.server.conftest import BACKENDS, RunningServer
from tests.server.wsclient import RawClient, asset_change, comment_change, new_id, task_change

# Delivery, ordering and idempotency also on PostgreSQL (the rest is the same code on either).
ON_BOTH_DATABASES = pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_health_endpoint_answers_json(sync_server: RunningServer) -> None:
    url = sync_server.url.replace("ws://", "http://") + "/health"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        body = json.loads(response.read())
    assert body["status"] == "ok"
    assert body["protocol"] == 1


def test_comment_reaches_other_member_live(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        assert await bob.subscribe(cast.project) == []
        asset = asset_change(cast.project)
        assert (await alice.request(asset))["type"] == "ack"
        comment = comment_change(cast.project, asset["asset_id"], "Edge flicker at frame 12", frame=12)
        ack = await alice.request(comment)
        assert ack["type"] == "ack"
        assert ack["seq"] == 2
        received = await bob.next_events() + await bob.next_events()
        assert [e["seq"] for e in received] == [1, 2]
        assert received[1]["record"]["body"] == "Edge flicker at frame 12"
        assert received[1]["record"]["frame"] == 12
        assert received[1]["record"]["author"] == cast.users["alice"]
        await alice.close()
        await bob.close()

    run(scenario())


@ON_BOTH_DATABASES
def test_resent_change_is_applied_once(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        asset = asset_change(cast.project)
        await alice.request(asset)
        comment = comment_change(cast.project, asset["asset_id"], "once")
        first = await alice.request(comment)
        second = await alice.request(comment)
        assert first["type"] == second["type"] == "ack"
        assert second["seq"] == first["seq"]
        assert second["duplicate"] is True
        # The same id from another user is not "the same change".
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        stolen = await bob.request(comment)
        assert stolen["code"] == "duplicate_id"
        events = await bob.subscribe(cast.project)
        assert [e["op"] for e in events] == ["upsert_asset", "add_comment"]
        await alice.close()
        await bob.close()

    run(scenario())


@ON_BOTH_DATABASES
def test_stale_task_edit_wins_and_reports_overwritten_fields(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        create = task_change(cast.project, "Fix roto", assignee=cast.users["bob"])
        assert (await alice.request(create))["type"] == "ack"
        task_id = create["task_id"]

        def update(fields: dict[str, Any], base: int) -> dict[str, Any]:
            return {
                "type": "update_task",
                "change_id": new_id(),
                "project": cast.project,
                "task_id": task_id,
                "base_version": base,
                "fields": fields,
            }

        # Both saw version 1. Bob moves it to review; Alice, unaware, sets it back to in_progress
        # and also edits the title (which nobody else touched).
        bob_ack = await bob.request(update({"status": "review"}, 1))
        assert bob_ack["conflicts"] == []
        alice_ack = await alice.request(update({"status": "in_progress", "title": "Fix roto v2"}, 1))
        assert alice_ack["type"] == "ack"
        assert alice_ack["conflicts"] == [
            {
                "field": "status",
                "base_version": 1,
                "overwritten_value": "review",
                "overwritten_version": 2,
                "overwritten_by": cast.users["bob"],
            }
        ]
        events = await bob.subscribe(cast.project)
        final = events[-1]
        assert final["record"]["status"] == "in_progress"
        assert final["record"]["title"] == "Fix roto v2"
        assert final["record"]["version"] == 3
        assert [c["field"] for c in final["conflicts"]] == ["status"]
        # An edit based on the newest version conflicts with nothing.
        clean = await bob.request(update({"status": "completed"}, 3))
        assert clean["conflicts"] == []
        await alice.close()
        await bob.close()

    run(scenario())


def test_login_and_token_failures(sync_server: RunningServer) -> None:
    cast = sync_server.cast
    engine = create_db_engine(cast.db_url)

    async def scenario() -> None:
        client = await RawClient.open(sync_server.url)
        wrong = await client.request({"type": "login", "username": "alice", "password": "nope-nope"})
        assert wrong["code"] == "auth_failed"
        nobody = await client.request({"type": "login", "username": "zed", "password": "whatever1"})
        assert nobody["code"] == "auth_failed"
        early = await client.request({"type": "subscribe", "project": cast.project})
        assert early["code"] == "auth_required"
        ok = await client.request({"type": "login", "username": "bob", "password": "bob-password"})
        assert ok["type"] == "login_ok"
        fresh_token = ok["token"]
        await client.request({"type": "logout"})
        await client.close()

        # The logged-out token is revoked for new connections.
        again = await RawClient.open(sync_server.url)
        assert (await again.request({"type": "auth", "token": fresh_token}))["code"] == "token_revoked"
        assert (await again.request({"type": "auth", "token": "made-up"}))["code"] == "auth_failed"
        await again.close()

        # An expired token is refused.
        with engine.begin() as connection:
            connection.execute(tokens.update().values(expires_at=time.time() - 1))
        expired = await RawClient.open(sync_server.url)
        reply = await expired.request({"type": "auth", "token": cast.tokens["alice"]})
        assert reply["code"] == "token_expired"
        await expired.close()

    run(scenario())
    engine.dispose()


def test_revoked_token_stops_writes_on_open_connection(sync_server: RunningServer) -> None:
    cast = sync_server.cast
    engine = create_db_engine(cast.db_url)

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        assert (await alice.request(asset_change(cast.project)))["type"] == "ack"
        with engine.begin() as connection:
            connection.execute(tokens.update().values(revoked=True))
        refused = await alice.request(asset_change(cast.project))
        assert refused["code"] == "token_revoked"
        await alice.close()

    run(scenario())
    engine.dispose()


def test_non_member_cannot_read_write_or_subscribe(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        asset = asset_change(cast.project)
        await alice.request(asset)
        await alice.request(comment_change(cast.project, asset["asset_id"], "private note"))
        dave = await RawClient.open(sync_server.url, cast.tokens["dave"])
        subscribe = await dave.request({"type": "subscribe", "project": cast.project})
        assert subscribe["code"] == "not_member"
        write = await dave.request(comment_change(cast.project, asset["asset_id"], "sneaky"))
        assert write["code"] == "not_member"
        task = await dave.request(task_change(cast.project, "sneaky task"))
        assert task["code"] == "not_member"
        missing = await dave.request({"type": "subscribe", "project": 999})
        assert missing["code"] == "not_member"
        # Nothing of the project leaked to dave at any point (the server answers in order: once this
        # reply is in, anything sent to dave before it is in his inbox too).
        await dave.request({"type": "list_notifications"})
        assert all(m.get("type") != "events" or m["project"] != cast.project for m in dave.inbox)
        alice_view = await alice.subscribe(cast.project)
        assert len(alice_view) == 2
        await alice.close()
        await dave.close()

    run(scenario())


def test_client_role_comments_but_cannot_write_tasks(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        asset = asset_change(cast.project)
        await alice.request(asset)
        carol = await RawClient.open(sync_server.url, cast.tokens["carol"])
        denied = await carol.request(task_change(cast.project, "Client wants changes"))
        assert denied["code"] == "forbidden"
        comment = await carol.request(comment_change(cast.project, asset["asset_id"], "Looks great"))
        assert comment["type"] == "ack"
        # Only the author may edit a comment.
        comment_id = (await alice.subscribe(cast.project))[-1]["record"]["id"]
        edit = {
            "type": "edit_comment",
            "change_id": new_id(),
            "project": cast.project,
            "comment_id": comment_id,
            "body": "Looks terrible",
        }
        assert (await alice.request(edit))["code"] == "forbidden"
        edit["change_id"] = new_id()
        assert (await carol.request(edit))["type"] == "ack"
        await alice.close()
        await carol.close()

    run(scenario())


def test_bad_messages_get_errors_and_the_server_keeps_serving(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        await bob.subscribe(cast.project)
        mallory = await RawClient.open(sync_server.url, cast.tokens["alice"])
        await mallory.ws.send("{not json")
        assert (await mallory.next_message())["code"] == "bad_request"
        await mallory.ws.send(json.dumps({"v": 1, "id": "x1", "type": "teleport"}))
        reply = await mallory.next_message()
        assert (reply["code"], reply["re"]) == ("bad_request", "x1")
        await mallory.ws.send(json.dumps({"v": 7, "id": "x2", "type": "logout"}))
        assert (await mallory.next_message())["code"] == "unsupported_version"
        await mallory.ws.send(b"\x00\x01binary")
        assert (await mallory.next_message())["code"] == "bad_request"
        too_big = comment_change(cast.project, "a", "x" * 300_000)
        await mallory.ws.send(json.dumps(too_big))
        assert (await mallory.next_message())["code"] == "too_large"
        # Far beyond the hard limit the socket itself is closed (1009), not the server.
        await mallory.ws.send("x" * (2 * 1024 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            await mallory.ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
        # Bob's session never noticed.
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        asset = asset_change(cast.project)
        assert (await alice.request(asset))["type"] == "ack"
        assert (await bob.next_events())[0]["record"]["id"] == asset["asset_id"]
        await alice.close()
        await bob.close()

    run(scenario())


def test_flooding_client_is_limited_then_disconnected(sync_server: RunningServer) -> None:
    sync_server.stop()
    sync_server.start(rate_per_s=20.0, rate_burst=20.0, rate_strikes_before_close=50)
    cast = sync_server.cast

    async def scenario() -> None:
        flood = await RawClient.open(sync_server.url, cast.tokens["alice"])
        codes: list[str] = []

        async def send_flood() -> None:
            with contextlib.suppress(ConnectionClosed):
                for _ in range(2000):
                    await flood.ws.send(json.dumps({"v": 1, "type": "list_notifications"}))

        async def read_until_closed() -> None:
            while True:
                message = await flood.next_message()
                codes.append(message.get("code", message["type"]))

        sender = asyncio.create_task(send_flood())
        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed()
        await sender
        assert "rate_limited" in codes
        assert codes.count("notifications") <= 40
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
        # A polite client on the same server is fine.
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        assert (await bob.request({"type": "list_notifications"}))["type"] == "notifications"
        await bob.close()

    run(scenario())


def test_unauthenticated_socket_is_closed_after_timeout(sync_server: RunningServer) -> None:
    sync_server.stop()
    sync_server.start(auth_timeout_s=0.3)

    async def scenario() -> None:
        idle = await RawClient.open(sync_server.url)
        with pytest.raises(ConnectionClosed) as closed:
            await idle.ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.reason == "authentication timeout"
        # Signed-in sockets outlive the deadline.
        signed_in = await RawClient.open(sync_server.url, sync_server.cast.tokens["bob"])
        await asyncio.sleep(0.6)
        assert (await signed_in.request({"type": "list_notifications"}))["type"] == "notifications"
        await signed_in.close()

    run(scenario())


@ON_BOTH_DATABASES
def test_catch_up_is_paged_and_continues_live_without_gaps(sync_server: RunningServer) -> None:
    sync_server.stop()
    sync_server.start(page_size=10)
    cast = sync_server.cast

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        asset = asset_change(cast.project)
        await alice.request(asset)
        for i in range(24):
            await alice.send(comment_change(cast.project, asset["asset_id"], f"note {i}"))
        await alice.wait_for(lambda m: m.get("re") == "r25")
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        reply = await bob.request({"type": "subscribe", "project": cast.project, "since_seq": 3})
        assert reply["project"]["head_seq"] == 25
        pages = []
        while not pages or pages[-1]["more"]:
            pages.append(await bob.wait_for(lambda m: m.get("type") == "events"))
        assert [len(p["events"]) for p in pages] == [10, 10, 2]
        assert [p["more"] for p in pages] == [True, True, False]
        seqs = [e["seq"] for p in pages for e in p["events"]]
        assert seqs == list(range(4, 26))
        await alice.request(comment_change(cast.project, asset["asset_id"], "live"))
        assert [e["seq"] for e in await bob.next_events()] == [26]
        await alice.close()
        await bob.close()

    run(scenario())


def test_notifications_for_mentions_assignments_and_asset_owners(sync_server: RunningServer) -> None:
    cast = sync_server.cast
    alice_id, bob_id = cast.users["alice"], cast.users["bob"]

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        asset = asset_change(cast.project)
        await alice.request(asset)
        await bob.request(comment_change(cast.project, asset["asset_id"], "@alice see this"))
        await bob.request(comment_change(cast.project, asset["asset_id"], "and @bob talks to self"))
        await alice.request(comment_change(cast.project, asset["asset_id"], "own asset, @alice"))
        await alice.request(task_change(cast.project, "Denoise", assignee=bob_id))
        await alice.request(task_change(cast.project, "Self-assigned", assignee=alice_id))
        events = await bob.subscribe(cast.project)
        notify = [[(n["user"], n["kind"]) for n in e["notify"]] for e in events]
        assert notify == [
            [],
            [(alice_id, "mention")],
            [(alice_id, "comment_on_your_asset")],
            [],
            [(bob_id, "task_assigned")],
            [],
        ]
        feed = await alice.request({"type": "list_notifications"})
        assert [item["kind"] for item in feed["items"]] == ["mention", "comment_on_your_asset"]
        await alice.request({"type": "mark_read", "ids": [feed["items"][0]["id"]]})
        feed = await alice.request({"type": "list_notifications"})
        assert [item["read"] for item in feed["items"]] == [True, False]
        await alice.close()
        await bob.close()

    run(scenario())


def test_subscribe_from_a_cursor_ahead_of_the_server_is_refused(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        reply = await bob.request({"type": "subscribe", "project": cast.project, "since_seq": 50})
        assert reply["code"] == "invalid"
        await bob.close()

    run(scenario())


@ON_BOTH_DATABASES
def test_change_to_unknown_records_is_refused_without_side_effects(
    sync_server: RunningServer,
) -> None:
    cast = sync_server.cast
    engine = create_db_engine(cast.db_url)

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        orphan = await alice.request(comment_change(cast.project, "no-such-asset", "hello"))
        assert orphan["code"] == "not_found"
        outsider = await alice.request(task_change(cast.project, "x", assignee=cast.users["dave"]))
        assert outsider["code"] == "invalid"
        await alice.close()

    run(scenario())
    with engine.connect() as connection:
        head = connection.execute(sa.text("SELECT head_seq FROM projects WHERE name='show'"))
        assert head.scalar_one() == 0
    engine.dispose()


@ON_BOTH_DATABASES
def test_own_events_ride_in_acks_and_every_subscriber_sees_each_event_once(
    sync_server: RunningServer,
) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        assert await alice.subscribe(cast.project, ack_events=True) == []
        assert await bob.subscribe(cast.project) == []
        asset = asset_change(cast.project)
        # Pipelined, so several of them share a batch (and a commit).
        request_ids = [await alice.send(asset)]
        for i in range(5):
            request_ids.append(await alice.send(comment_change(cast.project, asset["asset_id"], f"n{i}")))
        acks = [await alice.wait_for(lambda m, r=r: m.get("re") == r) for r in request_ids]
        assert [a["type"] for a in acks] == ["ack"] * 6
        assert [a["event"]["seq"] for a in acks] == [a["seq"] for a in acks] == list(range(1, 7))
        assert [a["event"]["change_id"] for a in acks] == [a["change_id"] for a in acks]
        seen_by_bob: list[int] = []
        while len(seen_by_bob) < 6:
            seen_by_bob += [e["seq"] for e in await bob.next_events()]
        assert seen_by_bob == list(range(1, 7))
        # Someone else's change reaches alice as a page, after her own events, with no gap.
        await bob.request(comment_change(cast.project, asset["asset_id"], "from bob"))
        assert [e["seq"] for e in await alice.next_events()] == [7]
        assert not [m for m in alice.inbox if m.get("type") == "events"]
        await alice.close()
        await bob.close()

    run(scenario())


@ON_BOTH_DATABASES
def test_comment_checks_keep_their_order_and_meaning(sync_server: RunningServer) -> None:
    """A re-sent comment is acked even after its author left; taken ids and foreign assets are refused."""
    cast = sync_server.cast
    engine = create_db_engine(cast.db_url)

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        dave = await RawClient.open(sync_server.url, cast.tokens["dave"])
        asset = asset_change(cast.project)
        assert (await alice.request(asset))["type"] == "ack"
        foreign = asset_change(cast.other_project)
        assert (await dave.request(foreign))["type"] == "ack"
        comment = comment_change(cast.project, asset["asset_id"], "first")
        first = await alice.request(comment)
        assert first["type"] == "ack"
        taken = dict(
            comment_change(cast.project, asset["asset_id"], "again"), comment_id=comment["comment_id"]
        )
        assert (await alice.request(taken))["code"] == "duplicate_id"
        # Another project's asset is refused in the words a missing one is: nothing says it exists.
        elsewhere = await alice.request(comment_change(cast.project, foreign["asset_id"], "wrong show"))
        missing = await alice.request(comment_change(cast.project, "no-such-asset", "wrong show"))
        assert elsewhere["code"] == missing["code"] == "not_found"
        assert elsewhere["message"].replace(foreign["asset_id"], "ID") == missing["message"].replace(
            "no-such-asset", "ID"
        )
        admin.remove_member(engine, "show", "alice")
        resent = await alice.request(comment)
        assert (resent["type"], resent["seq"], resent["duplicate"]) == ("ack", first["seq"], True)
        fresh = await alice.request(comment_change(cast.project, asset["asset_id"], "after leaving"))
        assert fresh["code"] == "not_member"
        await alice.close()
        await dave.close()

    run(scenario())
    with engine.connect() as connection:
        head = connection.execute(sa.text("SELECT head_seq FROM projects WHERE name='show'"))
        assert head.scalar_one() == 2
    engine.dispose()


@ON_BOTH_DATABASES
def test_slow_reader_is_cut_off_and_catches_up_exactly_once(sync_server: RunningServer) -> None:
    """Frames are written straight to the socket until it backs up, then queued up to the limit."""
    sync_server.stop()
    # About twenty of the pages below (each a ~19 KB comment) may wait in memory.
    sync_server.start(max_outgoing_bytes=20 * 20_000, rate_per_s=1e6, rate_burst=1e6)
    cast = sync_server.cast
    # ~11 MB of events: more than the server's socket send buffer (at most 4 MiB here) and bob's small
    # receive buffer hold, so the server's transport backs up and frames queue in the session.
    comments = 600

    async def read_pages_until_closed(client: RawClient, seen: list[int]) -> None:
        while True:
            page = await client.wait_for(lambda m: m.get("type") == "events", 20)
            seen.extend(event["seq"] for event in page["events"])

    async def open_small_window_client() -> RawClient:
        # A fixed receive buffer turns off the kernel's autotuning (up to 32 MiB on this machine).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.connect(("127.0.0.1", sync_server.thread.port if sync_server.thread else 0))
        sock.setblocking(False)
        # max_queue=1: the client library itself stops reading once a frame waits unread.
        ws = await connect(sync_server.url, sock=sock, compression=None, max_size=None, max_queue=1)
        client = RawClient(ws)
        assert (await client.request({"type": "auth", "token": cast.tokens["bob"]}))["type"] == "auth_ok"
        return client

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        asset = asset_change(cast.project)
        await alice.request(asset)
        slow = await open_small_window_client()
        assert len(await slow.subscribe(cast.project)) == 1
        # Large comments, one at a time (one events page each), while bob reads nothing.
        for n in range(comments):
            body = f"{n:04d} " + "x" * 19_000
            assert (await alice.request(comment_change(cast.project, asset["asset_id"], body)))[
                "type"
            ] == "ack"
        seen = [1]
        with pytest.raises(ConnectionClosed) as closed:
            await read_pages_until_closed(slow, seen)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
        assert "too slow" in closed.value.rcvd.reason
        assert seen == list(range(1, len(seen) + 1))
        assert len(seen) < comments + 1
        # Reconnecting from its cursor gives the rest, each event once and in order.
        again = await RawClient.open(sync_server.url, cast.tokens["bob"])
        rest = await again.subscribe(cast.project, since_seq=seen[-1])
        assert [event["seq"] for event in rest] == list(range(seen[-1] + 1, comments + 2))
        assert rest[-1]["record"]["body"][:4] == f"{comments - 1:04d}"
        await alice.close()
        await again.close()

    run(scenario())


def test_removed_members_and_revoked_tokens_lose_their_live_streams(sync_server: RunningServer) -> None:
    """An administrator acts from another process; open connections find out within the check interval."""
    cast = sync_server.cast
    sync_server.stop()
    sync_server.start(access_check_interval_s=0.1)
    engine = create_db_engine(cast.db_url)

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        carol = await RawClient.open(sync_server.url, cast.tokens["carol"])
        asset = asset_change(cast.project)
        assert (await alice.request(asset))["type"] == "ack"
        await bob.subscribe(cast.project)
        await carol.subscribe(cast.project)
        admin.remove_member(engine, "show", "bob")
        lost = await bob.wait_for(lambda m: m.get("type") == "error", timeout=5)
        assert lost["code"] == "not_member"
        with engine.begin() as connection:
            connection.execute(
                tokens.update().where(tokens.c.user_id == cast.users["carol"]).values(revoked=True)
            )
        revoked = await carol.wait_for(lambda m: m.get("type") == "error", timeout=5)
        assert revoked["code"] == "token_revoked"
        with pytest.raises(ConnectionClosed):
            await carol.wait_for(lambda m: False, timeout=5)
        # Later work in the project reaches nobody who lost the right to see it.
        assert (await alice.request(comment_change(cast.project, asset["asset_id"], "after")))[
            "type"
        ] == "ack"
        assert all(m.get("type") != "events" for m in bob.inbox)
        with contextlib.suppress(asyncio.TimeoutError):
            stray = await bob.wait_for(lambda m: m.get("type") == "events", timeout=0.5)
            raise AssertionError(f"bob still received {stray}")
        await alice.close()
        await bob.close()

    run(scenario())
    engine.dispose()
