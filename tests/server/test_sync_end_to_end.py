"""Two real SyncClients (each with its own local catalog file) against a real server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.sync.client import SyncClient
from core.sync.client_events import ChangeRejected, TaskConflicts
from core.sync.local_store import LocalStore
from core.sync.protocol import UserInfo
from server.db import create_db_engine
from tests.server.conftest import BACKENDS, RunningServer
from tests.server.harness import Recorder, wait_until

# The same end-to-end behaviour on the embedded database and on a studio's PostgreSQL.
pytestmark = pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)


@pytest.fixture
def make_client(
    sync_server: RunningServer, tmp_path: Path
) -> Iterator[Callable[[str], tuple[SyncClient, Recorder]]]:
    clients: list[SyncClient] = []

    def make(name: str) -> tuple[SyncClient, Recorder]:
        recorder = Recorder()
        store = LocalStore(tmp_path / f"{name}-catalog.sqlite3")
        client = SyncClient(
            store,
            sync_server.url,
            sync_server.cast.tokens[name],
            on_status=recorder.on_status,
            on_event=recorder.on_event,
            backoff_initial_s=0.05,
            backoff_max_s=0.3,
        )
        client.start()
        clients.append(client)
        wait_until(lambda: client.status.state == "online")
        return client, recorder

    yield make
    for client in clients:
        client.stop()
        client.store.close()


def test_live_comment_between_two_clients(
    sync_server: RunningServer, make_client: Callable[[str], tuple[SyncClient, Recorder]]
) -> None:
    project = sync_server.cast.project
    alice, _ = make_client("alice")
    bob, bob_events = make_client("bob")
    asset_id = alice.store.publish_asset(project, "shot010", "video", "hash1")
    comment = alice.store.add_comment(project, asset_id, "@bob the key light flickers", frame=42)
    assert comment.sync_state == "pending"
    assert [c.body for c in alice.store.list_comments(asset_id)] == ["@bob the key light flickers"]
    wait_until(lambda: len(bob.store.list_comments(asset_id)) == 1)
    received = bob.store.list_comments(asset_id)[0]
    assert (received.frame, received.author, received.sync_state) == (42, alice.user.id, "synced")  # type: ignore[union-attr]
    wait_until(lambda: alice.store.list_comments(asset_id)[0].sync_state == "synced")
    notes = bob.store.notifications()
    assert [(n.kind, n.record_id) for n in notes] == [("mention", comment.id)]
    assert alice.store.notifications() == []
    wait_until(lambda: bob.status.state == "online")
    assert bob_events.statuses[0].state == "connecting"


def test_offline_work_survives_server_restart_and_arrives_once_in_order(
    sync_server: RunningServer, make_client: Callable[[str], tuple[SyncClient, Recorder]]
) -> None:
    cast = sync_server.cast
    project = cast.project
    alice, alice_events = make_client("alice")
    bob, _ = make_client("bob")
    asset_id = alice.store.publish_asset(project, "shot020", "image", "hash2")
    task = alice.store.create_task(project, "Paint out rig", assignee=cast.users["bob"])
    wait_until(lambda: bob.store.list_tasks(project) and bob.store.list_tasks(project)[0].version == 1)

    sync_server.stop()
    wait_until(lambda: alice.status.state in ("offline", "connecting"))
    bodies = [f"offline note {i:03d}" for i in range(100)]
    for body in bodies:
        alice.store.add_comment(project, asset_id, body)
    statuses = ["in_progress", "review"] * 10
    for i, status in enumerate(statuses):
        alice.store.update_task(task.id, {"status": status, "description": f"pass {i}"})
    # Offline, the local catalog already shows everything.
    assert [c.body for c in alice.store.list_comments(asset_id)] == bodies
    assert alice.store.list_tasks(project)[0].description == "pass 19"
    assert alice.store.pending_count() == 120
    assert alice.status.state in ("offline", "connecting")

    sync_server.start()
    wait_until(lambda: alice.store.pending_count() == 0, timeout=30)
    wait_until(lambda: len(bob.store.list_comments(asset_id)) == 100, timeout=30)
    assert [c.body for c in bob.store.list_comments(asset_id)] == bodies
    seqs = [c.seq for c in bob.store.list_comments(asset_id)]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 100
    wait_until(lambda: bob.store.list_tasks(project)[0].version == 21)
    final = bob.store.list_tasks(project)[0]
    assert (final.status, final.description) == ("review", "pass 19")
    wait_until(lambda: alice.status.state == "online")
    assert [c.sync_state for c in alice.store.list_comments(asset_id)] == ["synced"] * 100

    engine = create_db_engine(cast.db_url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM comments")).scalar_one()
        events = connection.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
    engine.dispose()
    assert count == 100
    assert events == 1 + 1 + 100 + 20
    assert not any(isinstance(e, ChangeRejected) for e in alice_events.events)


def test_conflicting_offline_task_edit_is_reported(
    sync_server: RunningServer, make_client: Callable[[str], tuple[SyncClient, Recorder]]
) -> None:
    project = sync_server.cast.project
    alice, alice_events = make_client("alice")
    bob, bob_events = make_client("bob")
    task = alice.store.create_task(project, "Retime plate")
    wait_until(lambda: bool(bob.store.list_tasks(project)) and bob.store.list_tasks(project)[0].version == 1)
    wait_until(lambda: alice.store.list_tasks(project)[0].version == 1)
    # Both edit status from version 1; the later one in server order wins and says what it overwrote.
    bob.store.update_task(task.id, {"status": "review"}, base_version=1)
    wait_until(lambda: alice.store.list_tasks(project)[0].status == "review")
    alice.store.update_task(task.id, {"status": "in_progress"}, base_version=1)
    wait_until(lambda: bob.store.list_tasks(project)[0].version == 3)
    final = bob.store.list_tasks(project)[0]
    assert final.status == "in_progress"
    assert [(c.field, c.overwritten_value) for c in final.conflicts] == [("status", "review")]
    wait_until(lambda: any(isinstance(e, TaskConflicts) for e in alice_events.events))
    assert any(isinstance(e, TaskConflicts) for e in bob_events.events)


def test_refused_change_is_rolled_back_and_reported(
    sync_server: RunningServer,
    make_client: Callable[[str], tuple[SyncClient, Recorder]],
) -> None:
    project = sync_server.cast.project
    carol, carol_events = make_client("carol")
    with pytest.raises(PermissionError):
        carol.store.create_task(project, "Client wish")
    assert carol.store.pending_count() == 0
    # A client that has not yet heard her role was taken away still believes she is an artist: the
    # store queues the task, wakes the running client, and the server refuses it.
    believed = UserInfo(id=sync_server.cast.users["carol"], name="carol", role="artist")
    carol.store.save_members(project, [believed])
    task = carol.store.create_task(project, "Client wish")
    wait_until(lambda: any(isinstance(e, ChangeRejected) for e in carol_events.events))
    rejected = next(e for e in carol_events.events if isinstance(e, ChangeRejected))
    assert (rejected.record_id, rejected.code) == (task.id, "forbidden")
    assert carol.store.task(task.id).sync_state == "rejected"
    assert carol.store.pending_count() == 0


def test_a_comment_written_to_the_store_reaches_the_server_while_the_client_runs(
    sync_server: RunningServer, make_client: Callable[[str], tuple[SyncClient, Recorder]]
) -> None:
    project = sync_server.cast.project
    alice, _ = make_client("alice")
    asset_id = alice.store.publish_asset(project, "shot030", "image", "hash3")
    wait_until(lambda: alice.store.pending_count() == 0)
    # Nothing else is in flight: only the store telling the running client wakes its outbox flush.
    comment = alice.store.add_comment(project, asset_id, "sent without asking the client")
    wait_until(lambda: alice.store.comment(comment.id).sync_state == "synced", timeout=5)
    engine = create_db_engine(sync_server.cast.db_url)
    with engine.connect() as connection:
        bodies = connection.execute(sa.text("SELECT body FROM comments")).scalars().all()
    engine.dispose()
    assert bodies == ["sent without asking the client"]
