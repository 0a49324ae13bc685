"""Real ``stratopipe-server`` processes on one real PostgreSQL: three independent processes (the
load-balancer deployment) and ``serve --workers 3`` (one port, SO_REUSEPORT) with a worker killed -9
while changes stream through it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.sync.client import SyncClient
from server.db import create_db_engine
from tests.server.conftest import Cast, build_cast
from tests.server.harness import Recorder, ServerProcess, start_client, stop_client, wait_until
from tests.server.postgres import PostgresCluster
from tests.server.wsclient import RawClient, asset_change

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT and /proc are Linux's")


@pytest.fixture
def pg_cast(tmp_path: Path, postgres_cluster: PostgresCluster) -> Cast:
    return build_cast(tmp_path / "server", postgres_cluster.new_database())


@pytest.fixture
def three_processes(pg_cast: Cast) -> Iterator[list[ServerProcess]]:
    processes = [
        ServerProcess(pg_cast.data_dir.parent / f"process{n}", "--db", pg_cast.db_url) for n in range(3)
    ]
    try:
        for process in processes:
            process.start()
        yield processes
    finally:
        for process in processes:
            process.stop()


class Subscriber:
    """A raw client that records every event it is sent (in pages or inside its own acks)."""

    def __init__(self, client: RawClient) -> None:
        self.client = client
        self.seqs: list[int] = []
        self.bodies: list[str] = []
        self.acked: list[int] = []

    async def receive_until(self, last_seq: int, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.seqs or self.seqs[-1] < last_seq:
            message = json.loads(await asyncio.wait_for(self.client.ws.recv(), deadline - loop.time()))
            events = message.get("events", [])
            if message["type"] == "ack":
                self.acked.append(message["seq"])
                events = [message["event"]] if "event" in message else []
            for event in events:
                self.seqs.append(event["seq"])
                self.bodies.append(str(event["record"].get("body", "")))


def test_three_processes_every_client_sees_every_change_live_exactly_once_in_order(
    pg_cast: Cast, three_processes: list[ServerProcess]
) -> None:
    writers_per_process, changes_each = 1, 40

    async def scenario() -> list[Subscriber]:
        people = ["alice", "bob", "carol"]
        subscribers = []
        for index in range(9):
            process = three_processes[index % 3]
            client = await RawClient.open(process.url, pg_cast.tokens[people[index // 3]])
            # Half of them take their own events inside their acks, as the reference client does.
            assert await client.subscribe(pg_cast.project, ack_events=index % 2 == 0) == []
            subscribers.append(Subscriber(client))
        first = subscribers[0]
        asset = asset_change(pg_cast.project)
        await first.client.send(asset)
        await asyncio.gather(*(s.receive_until(1, 10) for s in subscribers))
        # Writers on every process at once, each pipelining its changes without waiting for acks.
        writers = [s for s in subscribers if s.client is not first.client][: 3 * writers_per_process]
        for writer_index, writer in enumerate(writers):
            for n in range(changes_each):
                body = f"w{writer_index} n{n:02d}"
                await writer.client.send(
                    {
                        "type": "add_comment",
                        "change_id": f"c-{writer_index}-{n}",
                        "project": pg_cast.project,
                        "comment_id": f"k-{writer_index}-{n}",
                        "asset_id": asset["asset_id"],
                        "body": body,
                    }
                )
        last = 1 + len(writers) * changes_each
        await asyncio.gather(*(s.receive_until(last, 30) for s in subscribers))
        # Nothing more comes: a duplicate would arrive after the last event.
        await asyncio.sleep(0.3)
        for subscriber in subscribers:
            while True:
                try:
                    raw = await asyncio.wait_for(subscriber.client.ws.recv(), 0.05)
                except TimeoutError:
                    break
                message = json.loads(raw)
                assert message["type"] == "ack", message
                assert "event" not in message, message
            await subscriber.client.close()
        return subscribers

    subscribers = asyncio.run(scenario())
    total = 1 + 3 * writers_per_process * changes_each
    for subscriber in subscribers:
        assert subscriber.seqs == list(range(1, total + 1))
        # Each writer's comments in the order it sent them.
        for writer_index in range(3):
            mine = [b for b in subscriber.bodies if b.startswith(f"w{writer_index} ")]
            assert mine == [f"w{writer_index} n{n:02d}" for n in range(changes_each)]
    for process in three_processes:
        assert "event=listener_connected" in process.log()


def _established_per_pid(port: int, pids: list[int]) -> dict[int, int]:
    """How many established TCP connections to ``port`` each process holds (from /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    inodes.add(fields[9])
    counts = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        links = [os.readlink(fd) for fd in fds.iterdir()] if fds.exists() else []
        counts[pid] = sum(1 for link in links if link.startswith("socket:[") and link[8:-1] in inodes)
    return counts


def test_a_worker_killed_mid_stream_loses_nothing_its_clients_reconnect_to_the_others(
    pg_cast: Cast, tmp_path: Path
) -> None:
    supervisor = ServerProcess(tmp_path / "workers", "--db", pg_cast.db_url, "--workers", "3").start()
    clients: list[tuple[SyncClient, Recorder]] = []
    try:
        wait_until(lambda: supervisor.log().count("event=listening") == 3, timeout=60)
        pids = [int(p) for p in re.findall(r"event=worker_started index=\d+ pid=(\d+)", supervisor.log())]
        assert len(pids) == 3
        project = pg_cast.project
        people = ["alice", "alice", "bob", "bob", "carol", "carol"]
        for index, name in enumerate(people):
            clients.append(
                start_client(tmp_path / f"catalog{index}.sqlite3", supervisor.url, pg_cast.tokens[name])
            )
        wait_until(lambda: all(c.status.state == "online" for c, _ in clients))
        writers = [clients[0][0], clients[1][0]]
        asset_id = writers[0].store.publish_asset(project, "shot010", "image", "hash1")
        wait_until(lambda: all(c.store.cursor(project) >= 1 for c, _ in clients))

        connections = _established_per_pid(supervisor.port, pids)
        victim = max(connections, key=lambda pid: connections[pid])
        assert connections[victim] >= 2  # six clients on three workers
        per_writer = 40
        for n in range(per_writer):
            for w, writer in enumerate(writers):
                writer.store.add_comment(project, asset_id, f"w{w} n{n:02d}")
            if n == per_writer // 3:
                os.kill(victim, signal.SIGKILL)
            # Two changes per 20 ms: the kill lands with changes in flight.
            time.sleep(0.02)
        expected = sorted(f"w{w} n{n:02d}" for w in range(2) for n in range(per_writer))
        for client, _recorder in clients:
            wait_until(lambda client=client: len(client.store.list_comments(asset_id)) == 2 * per_writer, 60)  # type: ignore[misc]
        for client, _recorder in clients:
            comments = client.store.list_comments(asset_id)
            assert sorted(c.body for c in comments) == expected
            assert len({c.seq for c in comments}) == 2 * per_writer
        wait_until(lambda: all(c.store.pending_count() == 0 for c, _ in clients), 30)
        # The clients that were on the killed worker lost their connection and came back.
        cut_off = [r for _c, r in clients if [s.state for s in r.statuses].count("online") >= 2]
        assert cut_off
        assert "event=worker_died" in supervisor.log()
        wait_until(lambda: supervisor.log().count("event=listening") == 4, timeout=30)
    finally:
        for client, _recorder in clients:
            stop_client(client)
        supervisor.stop()
    assert "event=supervisor_stopped workers=3" in supervisor.log()
    engine = create_db_engine(pg_cast.db_url)
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT count(*) FROM comments")).scalar_one()
        events = connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
    engine.dispose()
    assert (stored, events) == (80, 81)


def test_several_workers_on_sqlite_are_refused_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main

    assert main(["serve", "--data-dir", str(tmp_path / "data"), "--workers", "2", "--port", "0"]) == 2
    assert "--workers needs a PostgreSQL database" in capsys.readouterr().err
