"""The client's offline store on a real SQLite file: outbox, snapshots, idempotent events, cursors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from core.sync.local_store import GapError, LocalStore, SyncNotReadyError
from core.sync.local_tables import sync_outbox
from core.sync.protocol import Event, ProjectInfo, UserInfo

ME = UserInfo(id=1, name="alice", role="artist")
OTHER = 2
PROJECT = 7


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    local = LocalStore(tmp_path / "catalog.sqlite3")
    local.save_session(ME, [ProjectInfo(id=PROJECT, name="show")], "ws://server")
    return local


def task_event(seq: int, task_id: str, change_id: str, **record: Any) -> Event:
    base = {
        "id": task_id,
        "project": PROJECT,
        "title": "Roto",
        "description": "",
        "assignee": None,
        "creator": OTHER,
        "status": "open",
        "due_date": None,
        "asset_id": None,
        "version": 1,
        "created_at": "t",
        "updated_at": "t",
    }
    return Event(
        seq=seq,
        project=PROJECT,
        change_id=change_id,
        op="update_task",
        kind="task",
        actor=OTHER,
        at="t",
        record={**base, **record},
    )


def test_offline_writes_need_a_known_user(tmp_path: Path) -> None:
    fresh = LocalStore(tmp_path / "fresh.sqlite3")
    with pytest.raises(SyncNotReadyError):
        fresh.add_comment(PROJECT, "asset", "hello")
    assert fresh.pending_count() == 0


def test_local_write_shows_at_once_and_is_queued(store: LocalStore) -> None:
    comment = store.add_comment(PROJECT, "asset-1", "first", frame=3)
    assert (comment.body, comment.sync_state, comment.author) == ("first", "pending", ME.id)
    [entry] = store.pending_changes()
    assert entry.record_id == comment.id
    with pytest.raises(ValueError, match="body"):
        store.add_comment(PROJECT, "asset-1", "")
    assert store.pending_count() == 1


def test_remote_events_are_idempotent_and_move_the_cursor(store: LocalStore) -> None:
    first = task_event(1, "t1", "c1")
    second = task_event(2, "t1", "c2", status="review", version=2)
    store.apply_events(PROJECT, [first, second])
    store.apply_events(PROJECT, [first, second])
    assert store.cursor(PROJECT) == 2
    [task] = store.list_tasks(PROJECT)
    assert (task.status, task.version, task.sync_state) == ("review", 2, "synced")
    with pytest.raises(GapError):
        store.apply_events(PROJECT, [task_event(5, "t1", "c5")])
    assert store.cursor(PROJECT) == 2


def test_pending_edit_stays_on_top_of_remote_changes_until_refused(store: LocalStore) -> None:
    store.apply_events(PROJECT, [task_event(1, "t1", "c1")])
    store.update_task("t1", {"status": "in_progress"})
    # Someone else retitles the task meanwhile: we see their title and still our pending status.
    store.apply_events(PROJECT, [task_event(2, "t1", "c2", title="Roto v2", version=2)])
    task = store.task("t1")
    assert (task.title, task.status, task.sync_state) == ("Roto v2", "in_progress", "pending")
    [entry] = store.pending_changes()
    store.mark_rejected(entry.change_id, "forbidden", "no")
    task = store.task("t1")
    assert (task.title, task.status, task.sync_state) == ("Roto v2", "open", "synced")
    assert store.rejected_changes()[0][2] == "forbidden"


def test_own_event_completes_the_outbox_entry(store: LocalStore) -> None:
    store.apply_events(PROJECT, [task_event(1, "t1", "c1")])
    store.update_task("t1", {"status": "review"})
    [entry] = store.pending_changes()
    store.mark_acked([(entry.change_id, 2)])
    assert store.pending_count() == 0
    assert store.task("t1").sync_state == "pending"  # accepted, its snapshot not here yet
    store.apply_events(PROJECT, [task_event(2, "t1", entry.change_id, status="review", version=2)])
    assert (store.task("t1").sync_state, store.task("t1").version) == ("synced", 2)


def test_each_own_event_completes_its_entry_when_a_record_has_several(store: LocalStore) -> None:
    store.apply_events(PROJECT, [task_event(1, "t1", "c1")])
    store.update_task("t1", {"status": "in_progress"})
    store.update_task("t1", {"status": "review"})
    first, second = store.pending_changes()
    # The server's events arrive (inside their acks) before any plain ack.
    store.apply_events(PROJECT, [task_event(2, "t1", first.change_id, status="in_progress", version=2)])
    task = store.task("t1")
    assert (task.status, task.sync_state) == ("review", "pending")  # the second is still queued
    store.apply_events(PROJECT, [task_event(3, "t1", second.change_id, status="review", version=3)])
    assert store.pending_count() == 0
    assert store.pending_changes() == []
    task = store.task("t1")
    assert (task.status, task.version, task.sync_state) == ("review", 3, "synced")
    # Someone else's later change is not masked by a stale local change.
    store.apply_events(PROJECT, [task_event(4, "t1", "c4", status="completed", version=4)])
    assert store.task("t1").status == "completed"


def test_a_page_of_events_is_stored_with_its_notifications_once(store: LocalStore) -> None:
    events = [
        Event(
            seq=seq,
            project=PROJECT,
            change_id=f"c{seq}",
            op="add_comment",
            kind="comment",
            actor=OTHER,
            at="t",
            record={
                "id": f"k{seq}",
                "project": PROJECT,
                "asset_id": "a1",
                "author": OTHER,
                "body": f"note {seq}",
                "frame": None,
                "annotation": None,
                "created_at": "t",
                "edited_at": None,
                "deleted": False,
                "version": 1,
            },
            notify=[{"user": ME.id, "kind": "mention"}] if seq % 100 == 0 else [],
        )
        for seq in range(1, 501)
    ]
    applied = store.apply_events(PROJECT, events)
    assert [n.seq for n in applied.notifications] == [100, 200, 300, 400, 500]
    assert all(n.id > 0 and n.kind == "mention" and not n.read for n in applied.notifications)
    assert [c.body for c in store.list_comments("a1")] == [f"note {s}" for s in range(1, 501)]
    assert store.cursor(PROJECT) == 500
    # A replay after the cursor went back (a server restored from an empty backup) stores nothing twice
    # and announces nothing again.
    assert store.resend_after_rollback(PROJECT, 0) == 0
    assert store.cursor(PROJECT) == 0
    assert store.apply_events(PROJECT, events).notifications == []
    assert len(store.notifications()) == 5
    assert len(store.list_comments("a1")) == 500


def test_the_journal_ages_out_and_nothing_else_does(store: LocalStore) -> None:
    store.apply_events(PROJECT, [task_event(1, "t1", "c1")])
    for status in ("in_progress", "review", "completed", "open"):
        store.update_task("t1", {"status": status})
    old, recent, acked_only, pending = store.pending_changes()
    store.mark_acked([(old.change_id, 2), (recent.change_id, 3), (acked_only.change_id, 4)])
    store.apply_events(
        PROJECT,
        [
            task_event(2, "t1", old.change_id, status="in_progress", version=2),
            task_event(3, "t1", recent.change_id, status="review", version=3),
        ],
    )
    with store.engine.begin() as connection:
        connection.execute(
            sync_outbox.update()
            .where(sync_outbox.c.change_id.in_((old.change_id, acked_only.change_id, pending.change_id)))
            .values(created_at="2020-01-01T00:00:00.000+00:00")
        )

    assert store.prune_journal(keep_days=90) == 1  # only the old entry whose event is stored
    assert store.prune_journal(keep_days=90) == 0
    with store.engine.connect() as connection:
        left = dict(connection.execute(sa.select(sync_outbox.c.change_id, sync_outbox.c.state)).all())
    assert left == {recent.change_id: "synced", acked_only.change_id: "acked", pending.change_id: "pending"}
    assert store.pending_count() == 1
    # A server restored from a backup still gets back what the journal kept.
    assert store.resend_after_rollback(PROJECT, 1) == 2
    assert store.pending_count() == 3
