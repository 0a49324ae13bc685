"""Sign-off through the one write path (Qt blocked): the role rule is checked before anything is
queued, and a reviewer's verdict enters the outbox once, with the linked tasks' moves after it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.sync.local_store import LocalStore
from core.sync.protocol import ProjectInfo, UserInfo

PROJECT = 7


def _store(tmp_path: Path, role: str) -> LocalStore:
    store = LocalStore(tmp_path / f"{role}.sqlite3")
    store.save_session(UserInfo(id=1, name="me", role=role), [ProjectInfo(id=PROJECT, name="show")], "ws://x")
    return store


def test_an_artist_cannot_approve_and_nothing_is_queued(tmp_path: Path) -> None:
    store = _store(tmp_path, "artist")
    asset_id = store.publish_asset(PROJECT, "shot", "image", "hash")
    heard: list[str] = []
    store.add_listener(heard.append)
    for status in ("approved", "pending"):
        with pytest.raises(PermissionError, match="supervisors and admins can"):
            store.set_review(asset_id, status)
    assert (store.pending_count(), store.asset_review(asset_id), heard) == (1, ("pending", ""), [])
    assert not store.may("set_review")


def test_a_supervisor_approval_is_queued_once_with_the_linked_task_moved(tmp_path: Path) -> None:
    store = _store(tmp_path, "supervisor")
    asset_id = store.publish_asset(PROJECT, "shot", "image", "hash")
    linked = store.create_task(PROJECT, "Comp", asset_id=asset_id)
    unrelated = store.create_task(PROJECT, "Roto")
    heard: list[str] = []
    store.add_listener(heard.append)
    store.set_review(asset_id, "approved")
    assert store.asset_review(asset_id) == ("approved", "")
    assert store.review_statuses([PROJECT]) == {"hash": "approved"}
    assert (store.task(linked.id).status, store.task(unrelated.id).status) == ("completed", "open")
    queued = [json.loads(entry.message) for entry in store.pending_changes()][3:]
    assert [(m["type"], m.get("status"), m.get("fields")) for m in queued] == [
        ("set_review", "approved", None),
        ("update_task", None, {"status": "completed"}),
    ]
    assert heard == ["asset", "task"]


def test_changes_requested_needs_a_reason_and_keeps_it(tmp_path: Path) -> None:
    store = _store(tmp_path, "supervisor")
    asset_id = store.publish_asset(PROJECT, "shot", "image", "hash")
    with pytest.raises(ValueError, match="reason is required"):
        store.set_review(asset_id, "changes_requested", "  ")
    assert store.pending_count() == 1
    store.set_review(asset_id, "changes_requested", "Sky is too warm")
    assert store.asset_review(asset_id) == ("changes_requested", "Sky is too warm")
    # New content is a new version to review: publishing it resets the sign-off.
    store.publish_asset(PROJECT, "shot", "image", "hash2", asset_id=asset_id)
    assert store.asset_review(asset_id) == ("pending", "")
