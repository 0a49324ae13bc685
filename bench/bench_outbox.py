"""Outbox flush benchmark: how fast a client drains N changes written offline, for several N.

    .venv/bin/python bench/bench_outbox.py [--sizes 1000,10000,50000]

For each size: a fresh server (its own process, rate limit lifted so the server's budget does not set
the pace) and a fresh local catalog; N comments are written to the local store while no client runs
(offline work), then a ``SyncClient`` starts and the clock runs until every change is acknowledged and
its event stored (the rows show "synced"). Flushing is linear when changes/s stays flat as N grows.

A real client also paces itself below the server's advertised rate (300 msg/s per user by default:
about 240 changes/s); that ceiling is a setting, not the cost measured here.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.sync.client import SyncClient  # noqa: E402
from core.sync.local_store import LocalStore, sync_comment  # noqa: E402
from core.sync.protocol import ProjectInfo, UserInfo  # noqa: E402
from server import admin  # noqa: E402
from server.db import default_db_url, open_database, server_id  # noqa: E402


def _start_server(data_dir: Path, log_file: Path) -> tuple[subprocess.Popen[bytes], int]:
    with log_file.open("wb") as log_output:
        command = [sys.executable, "-m", "server", "serve", "--port", "0", "--data-dir", str(data_dir)]
        process = subprocess.Popen(
            [*command, "--rate", "1000000", "--rate-burst", "1000000"],
            cwd=ROOT,
            stdout=log_output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"event=listening host=\S+ port=(\d+)", log_file.read_text())
        if found:
            return process, int(found.group(1))
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"server did not start:\n{log_file.read_text()}")


def flush(size: int, work: Path) -> dict[str, float]:
    data_dir = work / f"server-{size}"
    data_dir.mkdir()
    engine = open_database(default_db_url(data_dir))
    project = admin.add_project(engine, "show")
    user_id = admin.add_user(engine, "ana", "artist", "ana-long-secret")
    admin.add_member(engine, "show", "ana")
    token = admin.issue_token(engine, user_id).token
    identity = server_id(engine)
    engine.dispose()

    store = LocalStore(work / f"catalog-{size}.sqlite3")
    me = UserInfo(id=user_id, name="ana", role="artist")
    store.save_session(me, [ProjectInfo(id=project, name="show")], "ws://offline", identity)
    asset_id = store.publish_asset(project, "shot010", "image", "hash")
    started = time.perf_counter()
    for n in range(size):
        store.add_comment(project, asset_id, f"offline note {n}")
    write_s = time.perf_counter() - started

    process, port = _start_server(data_dir, work / f"server-{size}.log")
    client = SyncClient(store, f"ws://127.0.0.1:{port}", token, backoff_initial_s=0.05, backoff_max_s=0.5)
    try:
        started = time.perf_counter()
        client.start()
        unsynced = sa.select(sa.func.count()).where(sync_comment.c.sync_state != "synced")
        # The cheap count first (one row), the scan only once nothing is left to send.
        while store.pending_count() or _count(store, unsynced):
            time.sleep(0.05)
        flush_s = time.perf_counter() - started
    finally:
        client.stop()
        store.close()
        process.terminate()
        process.wait(30)
    return {"write_s": write_s, "flush_s": flush_s}


def _count(store: LocalStore, query: sa.Select[tuple[int]]) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print("| pending changes | written offline, changes/s | flushed, changes/s | flush time |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            result = flush(size, Path(folder))
            print(
                f"| {size:,} | {size / result['write_s']:,.0f} | {(size + 1) / result['flush_s']:,.0f} "
                f"| {result['flush_s']:.1f} s |",
                flush=True,
            )


if __name__ == "__main__":
    main()
