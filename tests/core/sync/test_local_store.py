"""The client's offline store on a real SQLite file: outbox, snapshots, idempotent events, cursors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.sync.local_store import GapError, LocalStore, SyncNotReadyError
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
    store.mark_acked(entry.change_id, 2)
    assert store.pending_count() == 0
    assert store.task("t1").sync_state == "pending"  # accepted, its snapshot not here yet
    store.apply_events(PROJECT, [task_event(2, "t1", entry.change_id, status="review", version=2)])
    assert (store.task("t1").sync_state, store.task("t1").version) == ("synced", 2)
