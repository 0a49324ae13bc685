"""Flushing an offline outbox is linear: the client's database work per change does not grow with the
backlog. Measured in SQLite virtual-machine steps (a progress handler counts them), which depend on
the work done, not on the machine's speed: ``bench/bench_outbox.py`` measures the speed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.sync.local_store import LocalStore, sync_comment
from core.sync.protocol import ProjectInfo, UserInfo
from server.db import create_db_engine, server_id
from tests.server.conftest import Cast, build_cast
from tests.server.harness import ServerProcess, start_client, stop_client, wait_until

STEPS_PER_TICK = 1000


def flush_steps(tmp_path: Path, backlog: int) -> float:
    """SQLite steps the client spends per change to flush ``backlog`` comments written offline."""
    cast: Cast = build_cast(tmp_path / f"server-{backlog}")
    engine = create_db_engine(cast.db_url)
    identity = server_id(engine)
    engine.dispose()
    catalog = tmp_path / f"catalog-{backlog}.sqlite3"
    store = LocalStore(catalog)
    me = UserInfo(id=cast.users["alice"], name="alice", role="artist")
    store.save_session(me, [ProjectInfo(id=cast.project, name="show")], "ws://offline", identity)
    asset_id = store.publish_asset(cast.project, "shot010", "image", "hash")
    for n in range(backlog):
        store.add_comment(cast.project, asset_id, f"offline note {n}")
    store.close()

    server = ServerProcess(cast.data_dir, "--rate", "1000000", "--rate-burst", "1000000").start()
    client, _events = start_client(catalog, server.url, cast.tokens["alice"])
    ticks = [0]

    def count(dbapi_connection: Any, _record: Any) -> None:
        def tick() -> int:
            ticks[0] += 1
            return 0

        dbapi_connection.set_progress_handler(tick, STEPS_PER_TICK)

    # Every connection the client opens from now on counts its steps.
    client.store.engine.dispose()
    sa.event.listen(client.store.engine, "connect", count)
    unsynced = sa.select(sa.func.count()).where(sync_comment.c.sync_state != "synced")
    try:
        with LocalStore(catalog).engine.connect() as watcher:
            wait_until(lambda: watcher.execute(unsynced).scalar_one() == 0, timeout=120)
    finally:
        stop_client(client)
        server.stop()
    return ticks[0] * STEPS_PER_TICK / (backlog + 1)


@pytest.mark.slow
def test_flushing_costs_the_same_per_change_however_long_the_backlog(tmp_path: Path) -> None:
    small = flush_steps(tmp_path, 300)
    large = flush_steps(tmp_path, 3000)
    # Before, every acknowledgement re-read the whole outbox and recounted it: ten times the backlog
    # cost about ten times the steps per change. Now the cost per change stays put.
    assert large < 2 * small, (small, large)
