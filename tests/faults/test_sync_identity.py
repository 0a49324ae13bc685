"""A server is known by its own id: offline notes survive a differently spelt address and another user
signing in on the same catalog, and a server restored from an older backup gets back what it lost."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.sync.client_events import ChangeRejected, ChangesHeld, ServerRolledBack
from core.sync.local_store import LocalStore
from server.db import DB_FILE_NAME, create_db_engine
from tests.server.conftest import Cast, build_cast
from tests.server.harness import ServerProcess, start_client, stop_client, wait_until

NOTES = [f"offline note {n:02d}" for n in range(20)]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[ServerProcess, Cast]]:
    cast = build_cast(tmp_path / "server")
    running = ServerProcess(cast.data_dir).start()
    yield running, cast
    running.stop()


def server_comments(cast: Cast) -> list[tuple[str, int]]:
    engine = create_db_engine(cast.db_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT body, author FROM comments ORDER BY body")).all()
    engine.dispose()
    return [(str(r[0]), int(r[1])) for r in rows]


def published_asset(catalog: Path, url: str, token: str, project: int) -> str:
    client, _events = start_client(catalog, url, token)
    try:
        wait_until(lambda: client.status.state == "online")
        asset_id = client.store.publish_asset(project, "shot010", "image", "hash")
        wait_until(lambda: client.store.pending_count() == 0 and client.status.state == "online")
    finally:
        stop_client(client)
    return asset_id


def write_offline(catalog: Path, project: int, asset_id: str) -> None:
    store = LocalStore(catalog)
    for body in NOTES:
        store.add_comment(project, asset_id, body)
    assert store.pending_count() == len(NOTES)
    store.close()


def test_offline_notes_survive_the_server_address_spelt_differently(
    live: tuple[ServerProcess, Cast], tmp_path: Path
) -> None:
    server, cast = live
    catalog = tmp_path / "alice.sqlite3"
    asset_id = published_asset(catalog, f"ws://127.0.0.1:{server.port}", cast.tokens["alice"], cast.project)
    write_offline(catalog, cast.project, asset_id)

    alice, events = start_client(catalog, f"ws://localhost:{server.port}", cast.tokens["alice"])
    try:
        wait_until(lambda: len(server_comments(cast)) == len(NOTES))
        wait_until(lambda: {c.sync_state for c in alice.store.list_comments(asset_id)} == {"synced"})
        assert [c.body for c in alice.store.list_comments(asset_id)] == NOTES
        assert server_comments(cast) == [(body, cast.users["alice"]) for body in NOTES]
        assert events.of(ChangesHeld) == []
        assert events.of(ChangeRejected) == []
    finally:
        stop_client(alice)


def test_another_user_on_the_same_catalog_neither_sends_nor_loses_the_notes(
    live: tuple[ServerProcess, Cast], tmp_path: Path
) -> None:
    server, cast = live
    catalog = tmp_path / "shared.sqlite3"
    asset_id = published_asset(catalog, server.url, cast.tokens["alice"], cast.project)
    write_offline(catalog, cast.project, asset_id)

    bob, bob_events = start_client(catalog, server.url, cast.tokens["bob"])
    try:
        wait_until(lambda: bob.status.state == "online")
        wait_until(lambda: bool(bob_events.of(ChangesHeld)))
        [held] = bob_events.of(ChangesHeld)
        assert held.held.count == len(NOTES)  # type: ignore[union-attr]
        assert bob.store.held_changes().count == len(NOTES)
        assert bob.store.pending_count() == 0
        assert server_comments(cast) == []  # not sent as bob
    finally:
        stop_client(bob)

    # Alice signs in again on that catalog: her notes go out, as hers.
    alice, alice_events = start_client(catalog, server.url, cast.tokens["alice"])
    try:
        wait_until(lambda: len(server_comments(cast)) == len(NOTES))
        assert server_comments(cast) == [(body, cast.users["alice"]) for body in NOTES]
        wait_until(lambda: [c.body for c in alice.store.list_comments(asset_id)] == NOTES)
        assert alice_events.of(ChangeRejected) == []
    finally:
        stop_client(alice)


def test_held_notes_go_only_where_the_user_decides(live: tuple[ServerProcess, Cast], tmp_path: Path) -> None:
    server, cast = live
    catalog = tmp_path / "shared.sqlite3"
    asset_id = published_asset(catalog, server.url, cast.tokens["alice"], cast.project)
    write_offline(catalog, cast.project, asset_id)
    bob, _events = start_client(catalog, server.url, cast.tokens["bob"])
    try:
        wait_until(lambda: bob.store.held_changes().count == len(NOTES))
        assert bob.store.send_held_as_me() == len(NOTES)
        wait_until(lambda: len(server_comments(cast)) == len(NOTES))
        assert {author for _body, author in server_comments(cast)} == {cast.users["bob"]}
        assert bob.store.held_changes().count == 0
    finally:
        stop_client(bob)


def _backup(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as live_db, sqlite3.connect(target) as copy:
        live_db.backup(copy)
    live_db.close()
    copy.close()


def test_a_server_restored_from_an_older_backup_gets_back_what_it_lost(
    live: tuple[ServerProcess, Cast], tmp_path: Path
) -> None:
    server, cast = live
    database = cast.data_dir / DB_FILE_NAME
    alice, alice_events = start_client(tmp_path / "alice.sqlite3", server.url, cast.tokens["alice"])
    bob, _bob_events = start_client(tmp_path / "bob.sqlite3", server.url, cast.tokens["bob"])
    try:
        wait_until(lambda: alice.status.state == bob.status.state == "online")
        asset_id = alice.store.publish_asset(cast.project, "shot010", "image", "hash")
        for body in NOTES[:5]:
            alice.store.add_comment(cast.project, asset_id, body)
        wait_until(lambda: len(server_comments(cast)) == 5 and alice.store.pending_count() == 0)
        _backup(database, tmp_path / "backup.sqlite3")
        for body in NOTES[5:]:
            alice.store.add_comment(cast.project, asset_id, body)
        wait_until(lambda: len(bob.store.list_comments(asset_id)) == len(NOTES))
        wait_until(lambda: {c.sync_state for c in alice.store.list_comments(asset_id)} == {"synced"})

        # The server comes back from the older backup, on the same address.
        port = server.port
        server.stop()
        for suffix in ("", "-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        (tmp_path / "backup.sqlite3").rename(database)
        server.start(port)

        wait_until(lambda: len(server_comments(cast)) == len(NOTES), timeout=30)
        assert sorted(body for body, _author in server_comments(cast)) == NOTES
        [rolled_back] = alice_events.of(ServerRolledBack)
        assert (rolled_back.head_seq, rolled_back.resent) == (6, 15)  # type: ignore[union-attr]
        wait_until(lambda: {c.sync_state for c in alice.store.list_comments(asset_id)} == {"synced"})
        # Bob, who saw the lost events, has each comment once; a newcomer sees them all.
        wait_until(lambda: bob.store.cursor(cast.project) == 1 + len(NOTES))
        assert sorted(c.body for c in bob.store.list_comments(asset_id)) == NOTES
        carol, _carol_events = start_client(tmp_path / "carol.sqlite3", server.url, cast.tokens["carol"])
        try:
            wait_until(lambda: len(carol.store.list_comments(asset_id)) == len(NOTES))
            assert [c.body for c in carol.store.list_comments(asset_id)] == NOTES
        finally:
            stop_client(carol)
    finally:
        stop_client(alice)
        stop_client(bob)
