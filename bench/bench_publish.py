"""Media publishing on loopback: publish and fetch throughput over the media channel, a publish cut at
half way and resumed, against a plain HTTP download of the same bytes with ``curl`` (the anchor); and
comment ack latency on the sync connection, quiet and while the publish runs (the issue's bar: under
5 ms p50), measured from a process of its own.

    .venv/bin/python bench/bench_publish.py [--mib 256] [--chunk-mib 1]

The server runs in its own process (``stratopipe-server serve``), as does the HTTP server
(``python -m http.server``), so the client does not share their GIL. Files are random bytes (no
compression anywhere); every transfer is verified by sha256 end to end, which the anchor is not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.sync.media_cache import MediaCache  # noqa: E402
from core.sync.media_client import MediaConnection  # noqa: E402
from core.sync.media_publish import MediaFile, fetch, sha256_file  # noqa: E402
from server import admin  # noqa: E402
from server.db import default_db_url, open_database  # noqa: E402
from tests.server.media_proxy import FaultyRelay  # noqa: E402


def start(command: list[str], log: Path, pattern: str) -> tuple[subprocess.Popen[bytes], int]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return process, int(found.group(1))
        time.sleep(0.05)
    raise RuntimeError(f"{command[:3]} did not start:\n{log.read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--chunk-mib", type=int, default=1)
    args = parser.parse_args()
    size, chunk = args.mib << 20, args.chunk_mib << 20
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data = work / "server"
        data.mkdir()
        engine = open_database(default_db_url(data))
        project = admin.add_project(engine, "show")
        tokens = {}
        for name in ("alice", "bob"):
            tokens[name] = admin.issue_token(
                engine, admin.add_user(engine, name, "artist", "x" * 12 + name)
            ).token
            admin.add_member(engine, "show", name)
        engine.dispose()
        files = work / "files"
        files.mkdir()
        plate, second = files / "plate.bin", files / "second.bin"
        generator = random.Random(1)
        for path in (plate, second):
            with path.open("wb") as stream:
                for _ in range(args.mib):
                    stream.write(generator.randbytes(1 << 20))
        server, port = start(
            [sys.executable, "-m", "server", "serve", "--port", "0", "--data-dir", str(data)],
            work / "server.log",
            r"event=listening host=\S+ port=(\d+)",
        )
        http, http_port = start(
            [sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(files)],
            work / "http.log",
            r"port (\d+)",
        )
        url = f"ws://127.0.0.1:{port}"
        try:
            results = asyncio.run(run(url, port, tokens, project, plate, second, size, chunk, work))
            started = time.perf_counter()
            subprocess.run(
                ["curl", "-s", "-o", str(work / "curl.bin"), f"http://127.0.0.1:{http_port}/plate.bin"],
                check=True,
            )
            results["curl_http_get_mb_s"] = round(size / 1e6 / (time.perf_counter() - started), 1)
        finally:
            for process in (server, http):
                process.terminate()
                process.wait(30)
    results["publish_vs_curl"] = round(results["publish_mb_s"] / results["curl_http_get_mb_s"], 2)
    results["fetch_vs_curl"] = round(results["fetch_mb_s"] / results["curl_http_get_mb_s"], 2)
    results.update(mib=args.mib, chunk_mib=args.chunk_mib)
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "bench_publish.json").write_text(json.dumps(results, indent=2))


def comment_latencies(url: str, token: str, project: int, seconds: float) -> list[float]:
    """Comment round trips (sent -> ack) on the sync connection for ``seconds``, in a process of its
    own (so the publisher's own work does not slow the measuring client)."""

    async def measure() -> list[float]:
        from websockets.asyncio.client import connect

        async with connect(url, compression=None) as ws:
            await ws.send(json.dumps({"v": 1, "type": "auth", "token": token}))
            await ws.recv()
            asset = uuid.uuid4().hex
            change = {
                "v": 1,
                "type": "upsert_asset",
                "change_id": uuid.uuid4().hex,
                "project": project,
                "asset_id": asset,
                "name": "shot",
                "kind": "image",
                "content_hash": "x",
            }
            await ws.send(json.dumps(change))
            await ws.recv()
            found: list[float] = []
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                comment = {
                    "v": 1,
                    "type": "add_comment",
                    "change_id": uuid.uuid4().hex,
                    "project": project,
                    "comment_id": uuid.uuid4().hex,
                    "asset_id": asset,
                    "body": "note",
                }
                started = time.perf_counter()
                await ws.send(json.dumps(comment))
                await ws.recv()
                found.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)
            return found

    return asyncio.run(measure())


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return (
        round(ordered[len(ordered) // 2] * 1e3, 2),
        round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3, 2),
    )


async def run(
    url: str,
    port: int,
    tokens: dict[str, str],
    project: int,
    plate: Path,
    second: Path,
    size: int,
    chunk: int,
    work: Path,
) -> dict[str, float]:
    digest, second_digest = sha256_file(plate), sha256_file(second)
    results: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pinger:
        quiet = await loop.run_in_executor(pinger, comment_latencies, url, tokens["bob"], project, 2.0)
        results["comment_ack_quiet_p50_ms"], results["comment_ack_quiet_p99_ms"] = percentiles(quiet)
        started = time.perf_counter()
        # Bob comments on the sync connection while Alice's publish runs on the media channel.
        busy = loop.run_in_executor(pinger, comment_latencies, url, tokens["bob"], project, 3.0)
        async with await MediaConnection.open(url, tokens["alice"]) as media:
            await media.upload(project, plate, digest, plate.name, chunk)
        results["publish_mb_s"] = round(size / 1e6 / (time.perf_counter() - started), 1)
        during = await busy
    results["comment_ack_during_publish_p50_ms"], results["comment_ack_during_publish_p99_ms"] = percentiles(
        during
    )
    cache = MediaCache(work / "cache", limit_bytes=4 * size)
    started = time.perf_counter()
    await fetch(url, tokens["bob"], project, [MediaFile(plate.name, digest, size)], cache)
    results["fetch_mb_s"] = round(size / 1e6 / (time.perf_counter() - started), 1)
    shutil.rmtree(work / "cache")
    # Cut at half way (the relay drops the connection), then resume directly.
    started = time.perf_counter()
    async with FaultyRelay(port, cut_after_sent=size // 2) as relay:
        media = await MediaConnection.open(relay.url, tokens["alice"])
        with contextlib.suppress(ConnectionError):
            await media.upload(project, second, second_digest, second.name, chunk)
        await media.close()
    async with await MediaConnection.open(url, tokens["alice"]) as media:
        resumed = await media.upload(project, second, second_digest, second.name, chunk)
    elapsed = time.perf_counter() - started
    results["cut_and_resumed_s"] = round(elapsed, 2)
    results["cut_and_resumed_effective_mb_s"] = round(size / 1e6 / elapsed, 1)
    results["resumed_sent_mib"] = round(resumed.sent_bytes / (1 << 20), 1)
    return results


if __name__ == "__main__":
    main()
