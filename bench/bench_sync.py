"""Sync server benchmark on loopback: latency, sustained throughput against a bare websockets echo
server (the ceiling), fan-out delivery against a bare websockets broadcast server, and catch-up time
for 10,000 missed events.

    .venv/bin/python bench/bench_sync.py [--seconds 3] [--clients 1,50,500] [--no-ack-events]

Two readings of "sustained events/s", both reported:

- ``throughput``: acked writes/s. Every client writes comments to its own project in a closed loop
  (one change in flight), each acked only after its transaction committed; next to the echo server's
  round trips/s for the same number of clients and the same message.
- ``fanout``: delivered events/s. Every client subscribes to one shared project and a few of them
  write in a closed loop; the figure is events received per second summed over all subscribers. Next
  to it, a bare websockets server that broadcasts each message to every client (the writer's own copy
  standing for its ack): the ceiling for deliveries on this machine.

The load generators are kept as cheap per message as the echo generator: changes are formatted from
a template with a per-client prefix and a counter for their ids (unique per client change), replies
are recognised by their first bytes and only parsed when they are not the expected ack.

Subscribers ask for ``ack_events`` like the reference client (their own events come inside the acks);
``--no-ack-events`` measures the older ack-plus-page delivery (two frames per write).

The server and the echo server each run in their own process (so the load generator does not share
their GIL); every loop is bounded by time or count and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

HOST = "127.0.0.1"


# ------------------------------------------------------------------------------------------------
# Processes under test
# ------------------------------------------------------------------------------------------------


def run_sync_server(db_url: str, ready: Any, stop: Any) -> None:
    """A StratoPipe server in this process with its limits lifted: every bench client comes from
    127.0.0.1 and writes as fast as it can."""
    from server.app import ServerConfig, SyncServer

    async def main() -> None:
        config = ServerConfig(
            db_url=db_url,
            host=HOST,
            port=0,
            rate_per_s=1e6,
            rate_burst=1e6,
            auth_timeout_s=120,
            ping_interval_s=None,
            max_connections=10_000,
            max_connections_per_address=10_000,
        )
        server = SyncServer(config)
        ready.put(await server.start())
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await server.stop()

    asyncio.run(main())


def _run_echo_server(ready: Any, stop: Any) -> None:
    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async def main() -> None:
        async with serve(echo, HOST, 0, compression=None, ping_interval=None) as server:
            ready.put(next(iter(server.sockets)).getsockname()[1])
            while not stop.is_set():
                await asyncio.sleep(0.1)

    asyncio.run(main())


def _run_broadcast_server(ready: Any, stop: Any) -> None:
    """Every message goes to every connected client, its sender included (that copy is its ack)."""
    connections: set[ServerConnection] = set()

    async def relay(ws: ServerConnection) -> None:
        connections.add(ws)
        try:
            async for message in ws:
                broadcast(connections, message)
        finally:
            connections.discard(ws)

    async def main() -> None:
        async with serve(relay, HOST, 0, compression=None, ping_interval=None) as server:
            ready.put(next(iter(server.sockets)).getsockname()[1])
            while not stop.is_set():
                await asyncio.sleep(0.1)

    asyncio.run(main())


class Process:
    def __init__(self, target: Any, *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.ready = context.Queue()
        self.stop_event = context.Event()
        self.process = context.Process(target=target, args=(*args, self.ready, self.stop_event))

    def __enter__(self) -> str:
        self.process.start()
        return f"ws://{HOST}:{self.ready.get(timeout=60)}"

    def __exit__(self, *_exc: object) -> None:
        self.stop_event.set()
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


def prepare_database(
    data_dir: Path, clients: int, db_url: str | None = None
) -> tuple[str, list[str], list[int], int]:
    """Users and tokens inserted directly (scrypt for 500 bench accounts would take half a minute), in a
    SQLite file in ``data_dir`` or the empty database ``db_url`` names (bench_server_processes.py)."""
    import sqlalchemy as sa

    from server import admin
    from server.auth import hash_password, new_token
    from server.db import default_db_url, memberships, open_database, projects, tokens, users

    url = db_url or default_db_url(data_dir)
    engine = open_database(url)
    shared_hash = hash_password("bench-password")
    now = time.time()
    with engine.begin() as connection:
        connection.execute(
            users.insert(),
            [
                {
                    "name": f"u{i}",
                    "display_name": f"u{i}",
                    "role": "artist",
                    "password_hash": shared_hash,
                    "created_at": "bench",
                }
                # The last account belongs to the catch-up project only, so the catch-up measures
                # exactly the events written there (not also what the throughput runs wrote).
                for i in range(clients + 1)
            ],
        )
        user_ids = list(connection.execute(sa.select(users.c.id).order_by(users.c.id)).scalars())
        connection.execute(
            projects.insert(),
            [{"name": f"p{i}", "created_at": "bench"} for i in range(clients + 2)],
        )
        project_ids = list(connection.execute(sa.select(projects.c.id).order_by(projects.c.id)).scalars())
        issued = [new_token() for _ in user_ids]
        connection.execute(
            tokens.insert(),
            [
                {"token_hash": t.token_hash, "user_id": uid, "created_at": now, "expires_at": now + 1e6}
                for t, uid in zip(issued, user_ids, strict=True)
            ],
        )
        writers = user_ids[:-1]
        rows = [{"project_id": project_ids[i], "user_id": uid} for i, uid in enumerate(writers)]
        # The shared project (latency fan-out) holds every writer; the catch-up project everyone.
        rows += [{"project_id": project_ids[-2], "user_id": uid} for uid in writers]
        rows += [{"project_id": project_ids[-1], "user_id": uid} for uid in user_ids]
        connection.execute(memberships.insert(), rows)
    engine.dispose()
    del admin
    return url, [t.token for t in issued], project_ids, project_ids[-2]


# ------------------------------------------------------------------------------------------------
# Load generators
# ------------------------------------------------------------------------------------------------


# Like the reference client (core.sync.client), subscribers take their own events inside their acks;
# --no-ack-events measures the ack-plus-events-page delivery instead.
ACK_EVENTS = True


async def open_client(url: str, token: str, project: int | None) -> ClientConnection:
    ws = await connect(url, compression=None, ping_interval=None, max_size=None)
    await ws.send(json.dumps({"type": "auth", "token": token}))
    await ws.recv()
    if project is not None:
        request = {
            "type": "subscribe",
            "id": "s",
            "project": project,
            "since_seq": 0,
            "ack_events": ACK_EVENTS,
        }
        await ws.send(json.dumps(request))
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "events" and message["catchup"] and not message["more"]:
                break
    return ws


def comment(project: int, asset: str, n: int) -> str:
    return json.dumps(
        {
            "type": "add_comment",
            "id": str(n),
            "change_id": str(uuid.uuid4()),
            "project": project,
            "comment_id": str(uuid.uuid4()),
            "asset_id": asset,
            "body": f"note {n} about the edge",
        }
    )


class CommentWriter:
    """Add-comment messages from a template: ids are this client's random prefix and a counter.

    The same message as ``comment`` (same fields and sizes) without two UUIDs and a ``json.dumps`` per
    message. ``ack_prefix(n)`` is how the server's ack to message ``n`` begins.
    """

    def __init__(self, project: int, asset: str) -> None:
        prefix = uuid.uuid4().hex[:24]
        # Placeholders: n (request id), n (change id), n (comment id), n (body).
        self._template = (
            '{"type":"add_comment","id":"%d","change_id":"'
            + prefix
            + '-c%d","project":'
            + str(project)
            + ',"comment_id":"'
            + prefix
            + '-k%d","asset_id":'
            + json.dumps(asset)
            + ',"body":"note %d about the edge"}'
        )

    def message(self, n: int) -> str:
        return self._template % (n, n, n, n)

    @staticmethod
    def ack_prefix(n: int) -> str:
        return f'{{"v":1,"type":"ack","re":"{n}",'


async def publish_asset(ws: ClientConnection, project: int) -> str:
    asset = str(uuid.uuid4())
    await ws.send(
        json.dumps(
            {
                "type": "upsert_asset",
                "id": "a",
                "change_id": str(uuid.uuid4()),
                "project": project,
                "asset_id": asset,
                "name": "plate",
                "kind": "image",
            }
        )
    )
    while json.loads(await ws.recv()).get("type") != "ack":
        pass
    return asset


async def wait_ack(ws: ClientConnection, request_id: str) -> None:
    while True:
        message = json.loads(await ws.recv())
        if message.get("re") == request_id:
            if message["type"] != "ack":
                raise RuntimeError(message)
            return


async def wait_ack_fast(ws: ClientConnection, expected_prefix: str, request_id: str) -> None:
    """``wait_ack`` that parses only replies other than the expected ack (errors, event pages)."""
    while True:
        text = await ws.recv()
        assert isinstance(text, str)
        if text.startswith(expected_prefix):
            return
        message = json.loads(text)
        if message.get("re") == request_id:
            raise RuntimeError(message)


async def sync_throughput(url: str, tokens: list[str], projects: list[int], seconds: float) -> float:
    """Each client writes to its own project (subscribed to it) in a closed loop: acked writes/s."""
    clients = [await open_client(url, t, p) for t, p in zip(tokens, projects, strict=False)]
    assets = [await publish_asset(ws, p) for ws, p in zip(clients, projects, strict=False)]
    counts = [0] * len(clients)
    deadline = time.perf_counter() + seconds

    async def loop(i: int) -> None:
        ws, n = clients[i], 0
        writer = CommentWriter(projects[i], assets[i])
        while time.perf_counter() < deadline:
            n += 1
            await ws.send(writer.message(n))
            await wait_ack_fast(ws, writer.ack_prefix(n), str(n))
        counts[i] = n

    started = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(len(clients))))
    elapsed = time.perf_counter() - started
    for ws in clients:
        await ws.close()
    return sum(counts) / elapsed


async def echo_throughput(url: str, clients_n: int, seconds: float) -> float:
    clients = [await connect(url, compression=None, ping_interval=None) for _ in range(clients_n)]
    counts = [0] * clients_n
    deadline = time.perf_counter() + seconds
    payload = comment(1, "asset", 1)

    async def loop(i: int) -> None:
        ws, n = clients[i], 0
        while time.perf_counter() < deadline:
            await ws.send(payload)
            json.loads(await ws.recv())
            n += 1
        counts[i] = n

    started = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(clients_n)))
    elapsed = time.perf_counter() - started
    for ws in clients:
        await ws.close()
    return sum(counts) / elapsed


async def fanout_throughput(
    url: str, tokens: list[str], project: int, writers: int, seconds: float
) -> dict[str, float]:
    """Every client subscribed to ``project``; ``writers`` of them write in a closed loop.

    Returns acked writes/s and the events delivered per second summed over all subscribers (a
    writer's own events count when they arrive inside its acks)."""
    clients = [await open_client(url, t, project) for t in tokens]
    asset = await publish_asset(clients[0], project)
    for ws in clients[1:] if ACK_EVENTS else clients:
        await ws.recv()  # the asset's event
    writers = min(writers, len(clients))
    delivered = [0] * len(clients)
    frames = [0] * len(clients)
    acked: list[asyncio.Queue[None]] = [asyncio.Queue() for _ in range(writers)]
    writes = [0] * writers
    running = True

    async def read(i: int) -> None:
        ws = clients[i]
        while running:
            try:
                text = await ws.recv()
            except ConnectionClosed:
                return
            assert isinstance(text, str)
            frames[i] += 1
            # Events are written as '{"seq":...' objects (server.event_json); bodies here hold no braces.
            delivered[i] += text.count('{"seq":')
            if i < writers and text.startswith('{"v":1,"type":"ack"'):
                acked[i].put_nowait(None)
            elif '"type":"error"' in text:
                raise RuntimeError(text)

    async def write(i: int) -> None:
        writer = CommentWriter(project, asset)
        while time.perf_counter() < deadline:
            writes[i] += 1
            await clients[i].send(writer.message(writes[i]))
            await acked[i].get()

    readers = [asyncio.create_task(read(i)) for i in range(len(clients))]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(write(i) for i in range(writers)))
    elapsed = time.perf_counter() - started
    total_delivered, total_frames = sum(delivered), sum(frames)
    running = False
    for ws in clients:
        await ws.close()
    await asyncio.gather(*readers, return_exceptions=True)
    return {
        "writers": writers,
        "acked_writes_per_s": sum(writes) / elapsed,
        "delivered_events_per_s": total_delivered / elapsed,
        "delivered_frames_per_s": total_frames / elapsed,
    }


async def broadcast_ceiling(url: str, clients_n: int, writers: int, seconds: float) -> float:
    """The bare broadcast server under the same load: deliveries/s summed over all clients."""
    clients = [await connect(url, compression=None, ping_interval=None) for _ in range(clients_n)]
    writers = min(writers, clients_n)
    # Each writer's message carries its own id prefix, so it recognises its own copy (its "ack").
    payloads = [CommentWriter(1, "asset").message(1) for _ in range(writers)]
    markers = [payload.split('"change_id":"', 1)[1][:24] for payload in payloads]
    received = [0] * clients_n
    own: list[asyncio.Queue[None]] = [asyncio.Queue() for _ in range(writers)]
    running = True

    async def read(i: int) -> None:
        while running:
            try:
                text = await clients[i].recv()
            except ConnectionClosed:
                return
            received[i] += 1
            if i < writers and markers[i] in text:
                own[i].put_nowait(None)

    async def write(i: int) -> None:
        while time.perf_counter() < deadline:
            await clients[i].send(payloads[i])
            await own[i].get()

    readers = [asyncio.create_task(read(i)) for i in range(clients_n)]
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(write(i) for i in range(writers)))
    elapsed = time.perf_counter() - started
    total = sum(received)
    running = False
    for ws in clients:
        await ws.close()
    await asyncio.gather(*readers, return_exceptions=True)
    return total / elapsed


async def latency(url: str, tokens: list[str], shared_project: int, samples: int) -> dict[str, float]:
    """One writer, everyone subscribed to the shared project: ack and delivered-to-all latencies."""
    clients = [await open_client(url, t, shared_project) for t in tokens]
    writer, listeners = clients[0], clients[1:]
    asset = await publish_asset(writer, shared_project)
    # Drain the asset event (the writer gets its own inside the ack unless --no-ack-events).
    for ws in listeners if ACK_EVENTS else clients:
        await ws.recv()
    acks: list[float] = []
    everyone: list[float] = []

    async def receive(ws: ClientConnection) -> None:
        await ws.recv()

    for n in range(samples):
        started = time.perf_counter()
        await writer.send(comment(shared_project, asset, n))
        receivers = asyncio.gather(*(receive(ws) for ws in listeners))
        while True:
            message = json.loads(await writer.recv())
            if message["type"] == "ack":
                acks.append(time.perf_counter() - started)
            if message["type"] == "events" or message.get("event") is not None:
                break
        await receivers
        everyone.append(time.perf_counter() - started)
    for ws in clients:
        await ws.close()

    def pct(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000

    return {
        "ack_p50_ms": statistics.median(acks) * 1000,
        "ack_p99_ms": pct(acks, 0.99),
        "all_delivered_p50_ms": statistics.median(everyone) * 1000,
        "all_delivered_p99_ms": pct(everyone, 0.99),
    }


async def catch_up(
    url: str, writer_token: str, reader_token: str, project: int, events: int
) -> dict[str, float]:
    writer = await open_client(url, writer_token, None)
    asset = await publish_asset(writer, project)
    window, sent, acked = 256, 0, 0
    started = time.perf_counter()
    while acked < events:
        while sent < events and sent - acked < window:
            sent += 1
            await writer.send(comment(project, asset, sent))
        message = json.loads(await writer.recv())
        if message["type"] == "ack":
            acked += 1
        elif message["type"] == "error":
            raise RuntimeError(message)
    load_rate = events / (time.perf_counter() - started)
    await writer.close()

    # A client that missed everything: raw protocol (download + JSON parse of every page).
    started = time.perf_counter()
    reader = await open_client(url, reader_token, project)
    raw_s = time.perf_counter() - started
    await reader.close()

    # The same through the real client engine into a local catalog file.
    from core.sync.client import SyncClient
    from core.sync.local_store import LocalStore

    with tempfile.TemporaryDirectory() as folder:
        store = LocalStore(Path(folder) / "catalog.sqlite3")
        client = SyncClient(store, url, reader_token)
        started = time.perf_counter()
        client.start()
        deadline = started + 120
        while store.cursor(project) < events + 1 and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        engine_s = time.perf_counter() - started
        client.stop()
        stored = len(store.list_comments(asset))
        store.close()
    return {
        "load_events_per_s": load_rate,
        "raw_catch_up_s": raw_s,
        "client_catch_up_s": engine_s,
        "client_stored": float(stored),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(n) for n in args.clients.split(",")]
    largest = max(sizes)
    results: dict[str, Any] = {
        "seconds_per_run": args.seconds,
        "throughput": {},
        "fanout": {},
        "latency": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        url, tokens, project_ids, shared = prepare_database(Path(folder), largest)
        with Process(_run_echo_server) as echo_url:
            echo = {n: await echo_throughput(echo_url, n, args.seconds) for n in sizes}
        with Process(_run_broadcast_server) as broadcast_url:
            ceiling = {
                n: await broadcast_ceiling(broadcast_url, n, args.fanout_writers, args.seconds) for n in sizes
            }
        with Process(run_sync_server, url) as sync_url:
            for n in sizes:
                rate = await sync_throughput(sync_url, tokens[:n], project_ids[:n], args.seconds)
                results["throughput"][n] = {
                    "echo_round_trips_per_s": round(echo[n]),
                    "sync_acked_writes_per_s": round(rate),
                    "ratio": round(rate / echo[n], 2),
                }
                print(f"throughput n={n}: {results['throughput'][n]}", flush=True)
            for n in sizes:
                fanout = await fanout_throughput(
                    sync_url, tokens[:n], shared, args.fanout_writers, args.seconds
                )
                results["fanout"][n] = {
                    "writers": fanout["writers"],
                    "sync_acked_writes_per_s": round(fanout["acked_writes_per_s"]),
                    "sync_delivered_events_per_s": round(fanout["delivered_events_per_s"]),
                    "sync_delivered_frames_per_s": round(fanout["delivered_frames_per_s"]),
                    "broadcast_deliveries_per_s": round(ceiling[n]),
                    "echo_round_trips_per_s": round(echo[n]),
                    "ratio_to_broadcast": round(fanout["delivered_events_per_s"] / ceiling[n], 2),
                }
                print(f"fanout n={n}: {results['fanout'][n]}", flush=True)
            for n in sizes:
                results["latency"][n] = {
                    k: round(v, 2)
                    for k, v in (await latency(sync_url, tokens[: max(n, 2)], shared, args.samples)).items()
                }
                print(f"latency n={n}: {results['latency'][n]}", flush=True)
            results["catch_up"] = {
                k: round(v, 3)
                for k, v in (
                    await catch_up(sync_url, tokens[0], tokens[-1], project_ids[-1], args.events)
                ).items()
            }
            print(f"catch-up {args.events}: {results['catch_up']}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", default="1,50,500")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--fanout-writers", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--no-ack-events",
        action="store_true",
        help="subscribers get their own events as separate pages (ack + page per write)",
    )
    args = parser.parse_args()
    global ACK_EVENTS  # a process-wide switch for this script
    ACK_EVENTS = not args.no_ack_events
    results = asyncio.run(run(args))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
