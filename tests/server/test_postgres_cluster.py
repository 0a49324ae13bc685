"""Several server processes on one real PostgreSQL (a throwaway cluster, ``tests/server/postgres.py``).

In-process servers (each on its own thread and loop, exactly what a process runs) for the listener's
reconnect and the sign-in lock-out; real ``stratopipe-server`` processes in
``test_postgres_processes.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from server.app import ServerConfig
from server.cluster_messages import LISTENER_APPLICATION, head_payloads, parse_heads
from server.embedded import ServerThread
from tests.server.conftest import Cast, build_cast
from tests.server.harness import FakeClock, lockout_config, wait_until
from tests.server.postgres import PostgresCluster
from tests.server.wsclient import RawClient, asset_change, comment_change


@pytest.fixture
def pg_cast(tmp_path: Path, postgres_cluster: PostgresCluster) -> Cast:
    return build_cast(tmp_path / "server", postgres_cluster.new_database())


@pytest.fixture
def two_servers(pg_cast: Cast) -> Iterator[tuple[ServerThread, ServerThread]]:
    config = ServerConfig(db_url=pg_cast.db_url, port=0, ping_interval_s=None)
    first = ServerThread(config).start()
    second = ServerThread(config).start()
    yield first, second
    second.stop()
    first.stop()


async def _events_until(client: RawClient, last_seq: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    while not received or received[-1]["seq"] < last_seq:
        received.extend(await client.next_events(timeout))
    return received


def test_a_change_made_through_one_process_reaches_a_subscriber_of_another_live(
    pg_cast: Cast, two_servers: tuple[ServerThread, ServerThread]
) -> None:
    first, second = two_servers

    async def scenario() -> None:
        alice = await RawClient.open(first.url, pg_cast.tokens["alice"])
        bob = await RawClient.open(second.url, pg_cast.tokens["bob"])
        assert await bob.subscribe(pg_cast.project) == []
        change = asset_change(pg_cast.project)
        ack = await alice.request(change)
        assert ack["type"] == "ack"
        events = await _events_until(bob, ack["seq"])
        assert [(e["seq"], e["change_id"]) for e in events] == [(ack["seq"], change["change_id"])]
        # Nothing more arrives: the event was not sent twice.
        with pytest.raises(TimeoutError):
            await bob.next_events(timeout=0.3)
        await alice.close()
        await bob.close()

    asyncio.run(scenario())


def test_events_committed_while_the_listener_was_cut_off_arrive_after_it_reconnects(
    pg_cast: Cast, two_servers: tuple[ServerThread, ServerThread], postgres_cluster: PostgresCluster
) -> None:
    first, second = two_servers

    async def scenario() -> None:
        alice = await RawClient.open(first.url, pg_cast.tokens["alice"])
        bob = await RawClient.open(second.url, pg_cast.tokens["bob"])
        await bob.subscribe(pg_cast.project)
        asset = asset_change(pg_cast.project)
        await alice.request(asset)
        await _events_until(bob, 1)
        # An administrator (or a failover) ends every listening connection: the notifications of
        # the next commits reach nobody.
        with psycopg.connect(postgres_cluster.conninfo(pg_cast.db_url)) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (LISTENER_APPLICATION,),
            )
        acks = [
            await alice.request(comment_change(pg_cast.project, asset["asset_id"], f"while deaf {n}"))
            for n in range(3)
        ]
        events = await _events_until(bob, acks[-1]["seq"])
        assert [e["seq"] for e in events] == [a["seq"] for a in acks]
        assert [e["record"]["body"] for e in events] == [f"while deaf {n}" for n in range(3)]
        await alice.close()
        await bob.close()

    asyncio.run(scenario())
    assert second.server is not None
    assert second.server._cluster is not None
    assert second.server._cluster.listener.connects >= 2


def test_a_process_started_late_serves_what_was_written_before_then_live(pg_cast: Cast) -> None:
    config = ServerConfig(db_url=pg_cast.db_url, port=0, ping_interval_s=None)
    first = ServerThread(config).start()
    late: ServerThread | None = None
    try:

        async def write(url: str, count: int) -> list[int]:
            alice = await RawClient.open(url, pg_cast.tokens["alice"])
            seqs = [(await alice.request(asset_change(pg_cast.project)))["seq"] for _ in range(count)]
            await alice.close()
            return seqs

        before = asyncio.run(write(first.url, 3))
        late = ServerThread(config).start()

        async def read_then_live(url: str) -> tuple[list[int], list[int]]:
            bob = await RawClient.open(url, pg_cast.tokens["bob"])
            caught_up = [e["seq"] for e in await bob.subscribe(pg_cast.project)]
            after = await write(first.url, 2)
            live = [e["seq"] for e in await _events_until(bob, after[-1])]
            await bob.close()
            return caught_up, live

        caught_up, live = asyncio.run(read_then_live(late.url))
        assert caught_up == before == [1, 2, 3]
        assert live == [4, 5]
    finally:
        if late is not None:
            late.stop()
        first.stop()


def test_a_lock_out_earned_on_one_process_holds_on_the_other(pg_cast: Cast) -> None:
    clock = FakeClock()
    config = lockout_config(pg_cast.db_url, clock)
    first = ServerThread(config).start()
    second = ServerThread(config).start()
    try:

        async def guess(url: str, password: str) -> dict[str, Any]:
            client = await RawClient.open(url)
            reply = await client.request({"type": "login", "username": "bob", "password": password})
            await client.close()
            return reply

        # The attacker spreads guesses over the processes; the two failures lock the account.
        assert asyncio.run(guess(first.url, "guess-one"))["code"] == "auth_failed"
        # Each process counts every failure, whichever process saw it: both end up locked.
        assert asyncio.run(guess(second.url, "guess-two"))["code"] == "auth_failed"
        for server in (first.server, second.server):
            assert server is not None
            admission = server.admission
            wait_until(lambda admission=admission: admission.account_failures.wait_s("bob") > 0)  # type: ignore[misc]
        refused = asyncio.run(guess(first.url, "bob-password"))
        assert refused["code"] == "rate_limited"
        assert "locked" in refused["message"]
        clock.now += 31
        assert asyncio.run(guess(second.url, "bob-password"))["type"] == "login_ok"
    finally:
        second.stop()
        first.stop()


def test_the_notification_carries_only_the_project_and_its_head(
    pg_cast: Cast, two_servers: tuple[ServerThread, ServerThread], postgres_cluster: PostgresCluster
) -> None:
    first, _second = two_servers
    conninfo = postgres_cluster.conninfo(pg_cast.db_url)

    async def scenario() -> list[str]:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as listening:
            await listening.execute("LISTEN stratopipe_events")
            alice = await RawClient.open(first.url, pg_cast.tokens["alice"])
            # A large event: the payload stays a few bytes whatever the event holds.
            ack = await alice.request(asset_change(pg_cast.project, thumbnail_b64="A" * 20_000))
            await alice.close()
            payloads = [n.payload async for n in listening.notifies(timeout=2.0, stop_after=1)]
            return [*payloads, json.dumps(ack["seq"])]

    payloads = asyncio.run(scenario())
    assert payloads == [f"{pg_cast.project}:1", "1"]


def test_a_batch_over_many_projects_is_announced_in_few_notifications_under_the_payload_limit() -> None:
    heads = {project: project * 1_000_003 for project in range(1, 3_000)}
    payloads = head_payloads(heads)
    assert len(payloads) == 6  # 2,999 pairs of up to 17 characters
    assert all(len(payload.encode()) < 8_000 for payload in payloads)
    assert [pair for payload in payloads for pair in parse_heads(payload) or []] == sorted(heads.items())
    assert parse_heads("12:40") == [(12, 40)]
    assert parse_heads("12:forty") is None
