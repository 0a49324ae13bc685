"""A server database locked from outside (``BEGIN EXCLUSIVE`` in another connection) stalls writes only:
sign-in, catch-up reads, pings and ``/health`` keep answering, and the waiting write is acknowledged
once the lock goes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

from server.app import ServerConfig
from server.db import DB_FILE_NAME
from server.embedded import ServerThread
from tests.server.conftest import build_cast
from tests.server.wsclient import RawClient, asset_change

# Failure signals only: with the database on the event loop every answer below would wait out the
# server's busy timeout (a minute here).
ANSWER_TIMEOUT_S = 15.0


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=ANSWER_TIMEOUT_S) as response:
        return dict(json.loads(response.read()))


def test_a_locked_database_stalls_writes_not_reads_pings_or_health(tmp_path: Path) -> None:
    cast = build_cast(tmp_path / "server")
    config = ServerConfig(db_url=cast.db_url, port=0, ping_interval_s=None, db_busy_timeout_s=60.0)
    server = ServerThread(config).start()
    locker = sqlite3.connect(cast.data_dir / DB_FILE_NAME, isolation_level=None, check_same_thread=False)
    try:

        async def scenario() -> None:
            alice = await RawClient.open(server.url, cast.tokens["alice"])
            locker.execute("BEGIN EXCLUSIVE")
            write_id = await alice.send(asset_change(cast.project))
            # The write waits for the lock on the writer's thread; everything else goes on.
            report = await asyncio.to_thread(health, server.port)
            while report["write_wait_s"] == 0.0:
                report = await asyncio.to_thread(health, server.port)
            assert report["status"] == "ok"
            bob = await asyncio.wait_for(RawClient.open(server.url, cast.tokens["bob"]), ANSWER_TIMEOUT_S)
            assert await asyncio.wait_for(bob.subscribe(cast.project), ANSWER_TIMEOUT_S) == []
            await asyncio.wait_for(await bob.ws.ping(), ANSWER_TIMEOUT_S)
            notes = await bob.request({"type": "list_notifications"}, timeout=ANSWER_TIMEOUT_S)
            assert notes["type"] == "notifications"
            assert not [m for m in alice.inbox if m.get("re") == write_id]  # still waiting
            locker.execute("ROLLBACK")
            ack = await alice.wait_for(lambda m: m.get("re") == write_id, timeout=ANSWER_TIMEOUT_S)
            assert (ack["type"], ack["seq"]) == ("ack", 1)
            [event] = await bob.next_events(timeout=ANSWER_TIMEOUT_S)
            assert event["seq"] == 1
            await alice.close()
            await bob.close()

        asyncio.run(scenario())
    finally:
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()
        server.stop()
