"""The sync server as several processes on PostgreSQL, beside the single SQLite process, in one run.

    .venv/bin/python bench/bench_server_processes.py [--clients 1000] [--processes 1,2,3] [--seconds 3]
        [--samples 200] [--db postgresql+psycopg://...]

For each set-up (SQLite with one process; PostgreSQL with 1, 2, 3 processes) the same clients are
spread round-robin over the processes, each process on its own port (the load-balancer deployment;
``serve --workers N`` spreads them the same way through the kernel), every set-up on a fresh database:

- ``writes``: acked writes/s. Every client writes comments to its own project in a closed loop (one
  change in flight, acked after its commit): ``bench_sync.sync_throughput`` per process, summed.
- ``quiet round trip``: every client connected and subscribed to its own project, one of them
  comments: p50/p99 of its ack (the server's round trip, nothing else for the generator to read).
- ``round trip``: one writer on the first process comments on a project every client is subscribed to;
  p50/p99 of its ack, and the delay until each other client has the event, split into clients on the
  writer's process and clients on the others (the cross-process path: commit, NOTIFY, the listener,
  a read of the events table, the fan-out).

The load generator is one Python process for all clients; on a small machine it competes for the CPU
with the servers and PostgreSQL, which the figures include. Without ``--db`` a throwaway PostgreSQL
cluster is started (``synchronous_commit=off``: like the SQLite server's ``synchronous=NORMAL``, a
power cut may lose the last commits, which clients re-send from their outboxes, and nothing is
corrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_sync import (
    Process,
    comment,
    open_client,
    prepare_database,
    publish_asset,
    run_sync_server,
    sync_throughput,
)
from websockets.asyncio.client import ClientConnection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


async def spread_writes(urls: list[str], tokens: list[str], projects: list[int], seconds: float) -> float:
    shares = len(urls)
    rates = await asyncio.gather(
        *(sync_throughput(url, tokens[i::shares], projects[i::shares], seconds) for i, url in enumerate(urls))
    )
    return float(sum(rates))


async def spread_round_trip(
    urls: list[str], tokens: list[str], project: int, samples: int
) -> dict[str, float]:
    clients = [await open_client(urls[i % len(urls)], token, project) for i, token in enumerate(tokens)]
    writer, listeners = clients[0], clients[1:]
    same_process = [i % len(urls) == 0 for i in range(1, len(clients))]
    asset = await publish_asset(writer, project)
    for ws in listeners:
        await ws.recv()  # the asset's event (the writer's came inside its ack)
    acks: list[float] = []
    same: list[float] = []
    other: list[float] = []
    last: list[float] = []

    async def delivered(ws: ClientConnection, started: float) -> float:
        await ws.recv()
        return time.perf_counter() - started

    for n in range(samples):
        started = time.perf_counter()
        await writer.send(comment(project, asset, n))
        receiving = asyncio.gather(*(delivered(ws, started) for ws in listeners))
        while json.loads(await writer.recv())["type"] != "ack":
            pass
        acks.append(time.perf_counter() - started)
        delays = await receiving
        for is_same, delay in zip(same_process, delays, strict=True):
            (same if is_same else other).append(delay)
        last.append(max(delays))
    for ws in clients:
        await ws.close()
    result = {
        "ack_p50_ms": statistics.median(acks) * 1000,
        "ack_p99_ms": _pct(acks, 0.99),
        "same_process_delivery_p50_ms": statistics.median(same) * 1000,
        "all_delivered_p50_ms": statistics.median(last) * 1000,
    }
    if other:
        result["other_process_delivery_p50_ms"] = statistics.median(other) * 1000
        result["other_process_delivery_p99_ms"] = _pct(other, 0.99)
    return result


async def quiet_round_trip(
    urls: list[str], tokens: list[str], projects: list[int], samples: int
) -> dict[str, float]:
    """Every client connected and subscribed to a project of its own; one of them comments: its ack
    p50/p99, with no fan-out for the load generator to read."""
    pairs = enumerate(zip(tokens, projects, strict=True))
    clients = [await open_client(urls[i % len(urls)], token, project) for i, (token, project) in pairs]
    writer = clients[0]
    asset = await publish_asset(writer, projects[0])
    acks: list[float] = []
    for n in range(samples):
        started = time.perf_counter()
        await writer.send(comment(projects[0], asset, n))
        while json.loads(await writer.recv())["type"] != "ack":
            pass
        acks.append(time.perf_counter() - started)
    for ws in clients:
        await ws.close()
    return {"quiet_ack_p50_ms": statistics.median(acks) * 1000, "quiet_ack_p99_ms": _pct(acks, 0.99)}


async def measure(db_url: str, processes: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    _url, tokens, project_ids, shared = prepare_database(folder, args.clients, db_url)
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(Process(run_sync_server, db_url)) for _ in range(processes)]
        writes = await spread_writes(urls, tokens[: args.clients], project_ids[: args.clients], args.seconds)
        quiet = await quiet_round_trip(
            urls, tokens[: args.clients], project_ids[: args.clients], args.samples
        )
        trip = await spread_round_trip(urls, tokens[: args.clients], shared, args.samples)
    timings = {**quiet, **trip}
    return {"acked_writes_per_s": round(writes), **{k: round(v, 2) for k, v in timings.items()}}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.server.postgres import PostgresCluster, find_bin_dir

    results: dict[str, Any] = {"clients": args.clients, "seconds": args.seconds, "samples": args.samples}
    with tempfile.TemporaryDirectory() as scratch:
        sqlite_dir = Path(scratch) / "sqlite"
        sqlite_dir.mkdir()
        results["sqlite_1"] = await measure(f"sqlite:///{sqlite_dir}/bench.sqlite3", 1, args, sqlite_dir)
        print(f"sqlite x1: {results['sqlite_1']}", flush=True)
        cluster: PostgresCluster | None = None
        if args.db is None:
            bin_dir = find_bin_dir()
            if bin_dir is None:
                raise SystemExit("PostgreSQL binaries not found: install postgresql or pass --db")
            root = Path(tempfile.mkdtemp(prefix="stratopipe-pg-bench-"))
            cluster = PostgresCluster(bin_dir, root, "-c synchronous_commit=off").start()
        try:
            for processes in [int(n) for n in args.processes.split(",")]:
                db_url = cluster.new_database() if cluster is not None else args.db
                results[f"postgresql_{processes}"] = await measure(db_url, processes, args, Path(scratch))
                print(f"postgresql x{processes}: {results[f'postgresql_{processes}']}", flush=True)
        finally:
            if cluster is not None:
                cluster.stop()
                shutil.rmtree(cluster.root, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--db", help="an empty PostgreSQL database (one per set-up is better: it is reused)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "server_processes.json")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(json.dumps(results, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
