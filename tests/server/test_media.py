"""Publishing media to a project and fetching it, over a real server on 127.0.0.1: real files (a
photograph from scikit-image, a generated multi-chunk file), real cuts and damaged bytes on the wire
(a relay in between), the content-addressed store on disk."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import skimage.data
from websockets.asyncio.client import connect

from core.media.hashing import content_hash
from core.sync.media_cache import MediaCache
from core.sync.media_client import MediaConnection, MediaTransferError
from core.sync.media_protocol import pack_chunk
from core.sync.media_publish import fetch, local_state, prepare, publish, published_assets
from core.sync.media_uploads import PendingUploads
from tests.server.conftest import BACKENDS, RunningServer
from tests.server.harness import start_client, stop_client, wait_until
from tests.server.media_proxy import FaultyRelay

PHOTO = Path(skimage.data.__file__).with_name("astronaut.png")
CHUNK = 256 << 10  # small chunks: many of them in a file that stays quick to move


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def generated(path: Path, size: int, seed: int = 7) -> Path:
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def objects(server: RunningServer) -> list[Path]:
    root = server.cast.data_dir / "media" / "objects"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix == "")


@pytest.fixture
def pending(tmp_path: Path) -> PendingUploads:
    return PendingUploads(tmp_path / "client" / "media-uploads.json")


@pytest.fixture
def two_clients(sync_server: RunningServer, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    tokens = sync_server.cast.tokens
    alice, _ = start_client(tmp_path / "alice.sqlite3", sync_server.url, tokens["alice"])
    bob, _ = start_client(tmp_path / "bob.sqlite3", sync_server.url, tokens["bob"])
    wait_until(lambda: alice.status.state == "online" and bob.status.state == "online")
    yield alice, bob
    stop_client(alice)
    stop_client(bob)


def test_a_published_photo_and_multi_chunk_file_reach_a_teammate_bit_identical(
    sync_server: RunningServer, two_clients: tuple[Any, Any], pending: PendingUploads, tmp_path: Path
) -> None:
    alice, bob = two_clients
    project, url = sync_server.cast.project, sync_server.url
    plate = generated(tmp_path / "plate.bin", 5 * CHUNK + 1234)
    publication = prepare(pending, project, "astronaut", "image", content_hash(PHOTO), [PHOTO, plate])
    report = run(
        publish(alice.store, url, sync_server.cast.tokens["alice"], publication, pending, chunk_bytes=CHUNK)
    )
    assert report.sent_bytes == PHOTO.stat().st_size + plate.stat().st_size
    assert pending.all() == []
    # The asset's event carries the files to every teammate through the ordinary sync path.
    wait_until(lambda: published_assets(bob.store, project))
    (asset,) = published_assets(bob.store, project)
    assert [f.name for f in asset.files] == ["astronaut.png", "plate.bin"]
    cache = MediaCache(tmp_path / "bob-cache", limit_bytes=1 << 30)
    assert local_state(cache, asset) == "remote"
    fetched = run(fetch(url, sync_server.cast.tokens["bob"], project, asset.files, cache))
    assert [p.read_bytes() for p in fetched.paths] == [PHOTO.read_bytes(), plate.read_bytes()]
    assert local_state(cache, asset) == "downloaded"
    again = run(fetch(url, sync_server.cast.tokens["bob"], project, asset.files, cache))
    assert (again.received_bytes, again.from_cache) == (0, 2)


def test_an_upload_cut_half_way_resumes_after_a_restart_from_the_last_acknowledged_chunk(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    cast, size = sync_server.cast, 24 * CHUNK + 77
    source = generated(tmp_path / "shot.bin", size)
    state_file = tmp_path / "client" / "media-uploads.json"
    publication = prepare(
        PendingUploads(state_file), cast.project, "shot", "video", content_hash(source), [source]
    )
    store = _signed_in_store(sync_server, tmp_path, "alice")

    async def cut_at_half() -> None:
        async with FaultyRelay(sync_server.thread.port, cut_after_sent=size // 2) as relay:  # type: ignore[union-attr]
            with pytest.raises(ConnectionError):
                await publish(
                    store,
                    relay.url,
                    cast.tokens["alice"],
                    publication,
                    PendingUploads(state_file),
                    chunk_bytes=CHUNK,
                )

    run(cut_at_half())
    # The program "restarts": what was being published is read back from its state file.
    (resumed,) = PendingUploads(state_file).all()
    report = run(
        publish(
            store,
            sync_server.url,
            cast.tokens["alice"],
            resumed,
            PendingUploads(state_file),
            chunk_bytes=CHUNK,
        )
    )
    assert report.resumed_files == 1
    # Half was sent before the cut; what was on the wire then (the window, the relay) is sent again.
    assert size * 0.3 < report.sent_bytes < size * 0.7
    (stored,) = objects(sync_server)
    assert sha256(stored) == sha256(source)
    assert PendingUploads(state_file).all() == []
    assert not list((cast.data_dir / "media" / "uploads").iterdir())
    store.close()


ON_BOTH_DATABASES = pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)


def media_in_data_dir(server: RunningServer, **overrides: Any) -> None:
    """Restart with the store in the data dir, as SQLite has it by default (PostgreSQL has no folder)."""
    server.stop()
    server.start(media_dir=str(server.cast.data_dir / "media"), **overrides)


@ON_BOTH_DATABASES
def test_the_same_file_published_twice_is_stored_once(sync_server: RunningServer, tmp_path: Path) -> None:
    media_in_data_dir(sync_server)
    cast = sync_server.cast
    source = generated(tmp_path / "take.bin", 3 * CHUNK)
    digest = sha256(source)

    async def scenario() -> list[Any]:
        results = []
        for user, project in (("alice", cast.project), ("bob", cast.project), ("dave", cast.other_project)):
            async with await MediaConnection.open(sync_server.url, cast.tokens[user]) as media:
                results.append(await media.upload(project, source, digest, "take.bin", CHUNK))
        return results

    alice, bob, dave = run(scenario())
    assert (alice.sent_bytes, alice.deduplicated) == (source.stat().st_size, False)
    assert (bob.already_in_project, bob.sent_bytes) == (True, 0)
    # Another project proves it has the bytes by sending them; the store still keeps one copy.
    assert (dave.deduplicated, dave.sent_bytes) == (True, source.stat().st_size)
    assert len(objects(sync_server)) == 1


@ON_BOTH_DATABASES
def test_a_project_over_its_quota_is_refused_and_nothing_is_stored(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    media_in_data_dir(sync_server, media_quota_bytes=4 * CHUNK)
    cast = sync_server.cast
    small, large = generated(tmp_path / "a.bin", 3 * CHUNK, 1), generated(tmp_path / "b.bin", 2 * CHUNK, 2)

    async def scenario() -> MediaTransferError:
        async with await MediaConnection.open(sync_server.url, cast.tokens["alice"]) as media:
            await media.upload(cast.project, small, sha256(small), "a.bin", CHUNK)
            with pytest.raises(MediaTransferError) as refused:
                await media.upload(cast.project, large, sha256(large), "b.bin", CHUNK)
            listed = await media.list_media(cast.project)
            assert [i.name for i in listed.items] == ["a.bin"]
            assert (listed.project_bytes, listed.quota_bytes) == (3 * CHUNK, 4 * CHUNK)
            return refused.value

    refused = run(scenario())
    assert refused.code == "quota_exceeded"
    assert "quota" in refused.message
    assert "1.0 MiB" in refused.message
    assert [p.name for p in objects(sync_server)] == [sha256(small)]
    assert not list((cast.data_dir / "media" / "uploads").iterdir())


def test_a_damaged_chunk_is_refused_and_sent_again(sync_server: RunningServer, tmp_path: Path) -> None:
    cast = sync_server.cast
    data = random.Random(3).randbytes(2 * CHUNK)
    digest = hashlib.sha256(data).hexdigest()

    async def scenario() -> list[dict[str, Any]]:
        async with connect(sync_server.url + "/media", max_size=None) as ws:
            replies = []

            async def say(message: dict[str, Any] | bytes) -> dict[str, Any]:
                await ws.send(message if isinstance(message, bytes) else json.dumps({"v": 1, **message}))
                reply: dict[str, Any] = json.loads(await ws.recv())
                replies.append(reply)
                return reply

            await say({"type": "auth", "token": cast.tokens["alice"]})
            begin = {"type": "upload_begin", "project": cast.project, "sha256": digest, "size": len(data)}
            await say({**begin, "chunk_bytes": CHUNK, "name": "x.bin"})
            good = pack_chunk(0, data[:CHUNK])
            damaged = good[:100] + bytes([good[100] ^ 1]) + good[101:]
            await say(damaged)
            await say(good)
            await say(pack_chunk(1, data[CHUNK:]))
            await say({"type": "upload_finish", "project": cast.project, "sha256": digest})
            return replies

    replies = run(scenario())
    assert [r["type"] for r in replies] == [
        "auth_ok",
        "upload_state",
        "error",
        "chunk_ack",
        "chunk_ack",
        "published",
    ]
    assert (replies[2]["code"], replies[2]["re"]) == ("corrupt", "chunk:0")
    assert sha256(objects(sync_server)[0]) == digest


def test_a_fetch_repairs_a_chunk_damaged_on_the_way_and_resumes_after_a_cut(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    cast = sync_server.cast
    source = generated(tmp_path / "plate.bin", 12 * CHUNK + 5)
    digest = sha256(source)
    cache = MediaCache(tmp_path / "cache", limit_bytes=1 << 30)
    port = sync_server.thread.port  # type: ignore[union-attr]

    async def scenario() -> tuple[int, int]:
        async with await MediaConnection.open(sync_server.url, cast.tokens["alice"]) as media:
            await media.upload(cast.project, source, digest, "plate.bin", CHUNK)
        async with FaultyRelay(port, flip_received_at=3 * CHUNK) as relay:
            media = await MediaConnection.open(relay.url, cast.tokens["carol"])
            first = await media.download(cast.project, digest, tmp_path / "whole.bin")
            await media.close()
        async with FaultyRelay(port, cut_after_received=6 * CHUNK) as relay:
            media = await MediaConnection.open(relay.url, cast.tokens["carol"])
            with pytest.raises(ConnectionError):
                await media.download(cast.project, digest, cache.partial(digest))
            await media.close()
        held.append(cache.partial(digest).stat().st_size)
        async with await MediaConnection.open(sync_server.url, cast.tokens["carol"]) as media:
            rest = await media.download(cast.project, digest, cache.partial(digest))
        return first, rest

    held: list[int] = []
    first, rest = run(scenario())
    assert first == source.stat().st_size  # the damaged chunk was fetched again, not counted twice
    assert (tmp_path / "whole.bin").read_bytes() == source.read_bytes()
    # Only what the cut fetch had not verified and written crosses the wire again.
    assert held[0] >= CHUNK
    assert held[0] % CHUNK == 0
    assert rest == source.stat().st_size - held[0]
    assert cache.commit(digest).read_bytes() == source.read_bytes()


def test_roles_and_membership_decide_who_publishes_and_fetches(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    cast = sync_server.cast
    source = generated(tmp_path / "x.bin", CHUNK)
    digest = sha256(source)

    async def refusal(user: str, project: int, action: str) -> str:
        async with await MediaConnection.open(sync_server.url, cast.tokens[user]) as media:
            try:
                if action == "publish":
                    await media.upload(project, source, digest, "x.bin", CHUNK)
                else:
                    await media.download(project, digest, tmp_path / f"{user}.bin")
            except MediaTransferError as exc:
                return exc.code
        return "ok"

    async def scenario() -> list[str]:
        return [
            await refusal("carol", cast.project, "publish"),  # a client reviews, never publishes
            await refusal("alice", cast.project, "publish"),
            await refusal("carol", cast.project, "fetch"),
            await refusal("dave", cast.project, "fetch"),  # not a member of "show"
            await refusal("dave", cast.other_project, "fetch"),  # his project never had it
        ]

    assert run(scenario()) == ["forbidden", "ok", "ok", "not_member", "not_found"]


def _signed_in_store(server: RunningServer, tmp_path: Path, user: str) -> Any:
    """A client catalog that knows who it is (as after a sign-in), without a running client."""
    from core.sync.local_store import LocalStore
    from core.sync.protocol import ProjectInfo, UserInfo

    store = LocalStore(tmp_path / f"{user}-offline.sqlite3")
    me = UserInfo(id=server.cast.users[user], name=user, role="artist")
    store.save_session(me, [ProjectInfo(id=server.cast.project, name="show")], server.url, "")
    return store
