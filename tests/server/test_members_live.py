"""A member added to a project sees it at once, without restarting: the server tells each open connection
of theirs ``projects_changed`` and closes it, the client signs in again and gets the new list. Real
servers on 127.0.0.1 (in this process on SQLite; two ``stratopipe-server`` processes on PostgreSQL, the
member on the other one), real clients."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.sync import client as client_module
from core.sync.client import SyncClient
from core.sync.client_events import AuthProblem, RecordsChanged
from core.sync.member_protocol import MemberChanged
from core.sync.members import add_member
from server import admin
from server.db import open_database
from tests.server.conftest import Cast, RunningServer, build_cast
from tests.server.harness import ServerProcess, start_client, stop_client, wait_until
from tests.server.postgres import PostgresCluster
from tests.server.wsclient import RawClient

# Generous for a loaded machine, far below the old way: the member's next sign-in, whenever that was.
SEEN_WITHIN_S = 5.0


def _admin_token(cast: Cast) -> str:
    engine = open_database(cast.db_url)
    root = admin.add_user(engine, "root", "admin", "root-password")
    token = admin.issue_token(engine, root).token
    engine.dispose()
    return token


def _project_names(client: SyncClient) -> list[str]:
    return [project.name for project in client.store.projects()]


def _added_live(cast: Cast, admin_url: str, dave_url: str, alice_url: str, tmp_path: Path) -> None:
    """dave (a member of "other show" only) and alice (on "show") run their clients; an admin adds dave
    to "show" through ``admin_url``: dave's client lists it, subscribes and receives alice's task within
    seconds, without a restart and without telling dave anything went wrong; alice's stays connected."""
    root = _admin_token(cast)
    dave, dave_seen = start_client(tmp_path / "dave.sqlite3", dave_url, cast.tokens["dave"])
    alice, alice_seen = start_client(tmp_path / "alice.sqlite3", alice_url, cast.tokens["alice"])
    try:
        wait_until(lambda: dave.status.state == "online" and alice.status.state == "online")
        assert _project_names(dave) == ["other show"]
        alice_before = len(alice_seen.statuses)

        added = add_member(admin_url, root, cast.project, "dave").run()
        assert added == MemberChanged(
            re="member", project=cast.project, username="dave", member=True, changed=True
        )

        wait_until(lambda: "show" in _project_names(dave), timeout=SEEN_WITHIN_S)
        wait_until(lambda: dave.status.state == "online", timeout=SEEN_WITHIN_S)
        task = alice.store.create_task(cast.project, "Roto the crowd")
        wait_until(
            lambda: any(
                isinstance(event, RecordsChanged)
                and event.project_id == cast.project
                and task.id in event.record_ids
                for event in dave_seen.events
            ),
            timeout=SEEN_WITHIN_S,
        )
        assert _project_names(dave) == ["show", "other show"]
        # Quiet: straight from online to connecting and back, never "offline, reconnecting in N s".
        assert [s for s in dave_seen.statuses if s.state == "offline"] == []
        assert dave_seen.of(AuthProblem) == []
        # Nobody else's connection was touched.
        assert all(s.state in ("online", "syncing") for s in alice_seen.statuses[alice_before:])
    finally:
        stop_client(dave)
        stop_client(alice)


def test_a_member_added_sees_the_project_at_once_without_restarting(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    url = sync_server.url
    _added_live(sync_server.cast, url, url, url, tmp_path)


def test_on_postgresql_a_member_added_through_one_process_is_told_on_another(
    tmp_path: Path, postgres_cluster: PostgresCluster
) -> None:
    cast = build_cast(tmp_path / "server", postgres_cluster.new_database())
    processes = [ServerProcess(tmp_path / f"process{n}", "--db", cast.db_url) for n in range(2)]
    try:
        for process in processes:
            process.start()
        first, second = processes
        # The admin and alice on the first process, dave on the second.
        _added_live(cast, first.url, second.url, first.url, tmp_path)
        assert "event=projects_changed" in second.log()
        assert "event=projects_changed" not in first.log()  # nobody of dave's was there
    finally:
        for process in processes:
            process.stop()


def test_an_old_client_that_does_not_know_the_code_recovers_by_reconnecting(
    sync_server: RunningServer,
) -> None:
    cast, url = sync_server.cast, sync_server.url
    root = _admin_token(cast)

    async def scenario() -> None:
        old = await RawClient.open(url, cast.tokens["dave"])
        bystander = await RawClient.open(url, cast.tokens["alice"])
        again = RawClient(await connect(url, compression=None))
        try:
            await bystander.subscribe(cast.project)
            added = await asyncio.to_thread(add_member(url, root, cast.project, "dave").run)
            assert isinstance(added, MemberChanged)
            told = await old.next_message()
            assert told["type"] == "error", told
            assert told["code"] == "projects_changed", told
            assert told["message"] == "You were added to project show"
            with pytest.raises(ConnectionClosed):
                await old.next_message()
            # Signing in again, as any client does after the server closed its connection, brings the
            # new list.
            auth_ok = await again.request({"type": "auth", "token": cast.tokens["dave"]})
            assert [p["name"] for p in auth_ok["projects"]] == ["show", "other show"]
            assert await again.subscribe(cast.project) == []
            # alice's connection is still open and answers.
            assert (await bystander.request({"type": "list_notifications"}))["type"] == "notifications"
        finally:
            for client in (old, bystander, again):
                await client.close()

    asyncio.run(scenario())


def test_a_client_that_predates_the_code_gets_the_project_after_its_backoff(
    sync_server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reference client with the code unknown to it (as before this change): the message is
    unreadable, the connection ends, the usual backoff runs and the next sign-in brings the project."""
    monkeypatch.setattr(client_module, "read_projects_changed", lambda _raw: None)
    cast, url = sync_server.cast, sync_server.url
    root = _admin_token(cast)
    dave, dave_seen = start_client(tmp_path / "dave.sqlite3", url, cast.tokens["dave"])
    try:
        wait_until(lambda: dave.status.state == "online")
        assert isinstance(add_member(url, root, cast.project, "dave").run(), MemberChanged)
        wait_until(lambda: "show" in _project_names(dave), timeout=SEEN_WITHIN_S)
        assert any(s.state == "offline" and "reconnecting" in s.message for s in dave_seen.statuses)
    finally:
        stop_client(dave)
