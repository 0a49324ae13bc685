"""The one write path on a real SQLite file: every local write goes through the store, which checks
the role rules before queuing and tells its listeners (the running client, the Qt bridge) afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.sync.local_store import LocalStore, sync_asset_id
from core.sync.protocol import Event, ProjectInfo, UserInfo

PROJECT = 7


def _store(tmp_path: Path, role: str) -> LocalStore:
    store = LocalStore(tmp_path / f"{role}.sqlite3")
    store.save_session(UserInfo(id=1, name="me", role=role), [ProjectInfo(id=PROJECT, name="show")], "ws://x")
    return store


def test_client_role_is_refused_before_anything_is_queued(tmp_path: Path) -> None:
    store = _store(tmp_path, "client")
    heard: list[str] = []
    store.add_listener(heard.append)
    with pytest.raises(PermissionError, match="cannot create tasks"):
        store.create_task(PROJECT, "Client wish")
    with pytest.raises(PermissionError, match="cannot publish assets"):
        store.publish_asset(PROJECT, "shot", "image", "hash")
    # Commenting on an unshared asset is refused in words about commenting.
    with pytest.raises(PermissionError, match="not shared on the server yet"):
        store.ensure_asset(PROJECT, "shot", "image", "hash")
    assert (store.pending_count(), store.list_tasks(PROJECT), heard) == (0, [], [])
    assert not store.may("create_task")
    # Every role may comment.
    comment = store.add_comment(PROJECT, sync_asset_id(PROJECT, "hash"), "Looks great")
    assert comment.sync_state == "pending"
    assert heard == ["comment"]


def test_writers_are_heard_once_per_committed_write_until_they_stop_listening(tmp_path: Path) -> None:
    store = _store(tmp_path, "artist")
    heard: list[str] = []
    store.add_listener(heard.append)
    asset_id = store.ensure_asset(PROJECT, "shot", "image", "hash")
    assert store.ensure_asset(PROJECT, "shot", "image", "hash") == asset_id  # found, not published again
    task = store.create_task(PROJECT, "Roto")
    store.update_task(task.id, {"status": "review"})
    with pytest.raises(ValueError, match="body"):
        store.add_comment(PROJECT, asset_id, "")
    assert heard == ["asset", "task", "task"]
    assert store.may("create_task")
    store.remove_listener(heard.append)
    store.add_comment(PROJECT, asset_id, "no one listens")
    assert heard == ["asset", "task", "task"]
    assert store.pending_count() == 4


def test_a_failing_listener_does_not_undo_the_write(tmp_path: Path) -> None:
    store = _store(tmp_path, "artist")

    def broken(_kind: str) -> None:
        raise RuntimeError("listener bug")

    store.add_listener(broken)
    comment = store.add_comment(PROJECT, "asset-1", "kept")
    assert store.comment(comment.id).body == "kept"
    assert store.pending_count() == 1


def test_event_records_are_validated_before_they_are_stored(tmp_path: Path) -> None:
    store = _store(tmp_path, "artist")
    comment = {
        "id": "k1",
        "project": PROJECT,
        "asset_id": "a1",
        "author": 2,
        "body": "hello",
        "created_at": "t",
        "version": 1,
    }
    event = Event(
        seq=1,
        project=PROJECT,
        change_id="c1",
        op="add_comment",
        kind="comment",
        actor=2,
        at="t",
        record=comment,
    )
    broken = event.model_copy(update={"record": {**comment, "author": "somebody"}})
    # A record that does not fit its model is never stored; it is set aside (recorded, reported) and
    # its place in the sequence taken, so the events after it still arrive.
    applied = store.apply_events(PROJECT, [broken])
    assert [(u.seq, u.change_id) for u in applied.unreadable] == [(1, "c1")]
    assert "author" in applied.unreadable[0].reason
    assert (store.cursor(PROJECT), store.list_comments("a1")) == (1, [])
    assert store.unreadable_events() == applied.unreadable
    store.apply_events(PROJECT, [event.model_copy(update={"seq": 2, "change_id": "c2"})])
    [stored] = store.list_comments("a1")
    assert (stored.body, stored.author, stored.frame, stored.deleted) == ("hello", 2, None, False)
