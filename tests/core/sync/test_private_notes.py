"""Notes in a project not linked to a server: written at once, private, shared exactly once on linking."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.sync.local_store import LocalStore, private_project, sync_asset_id
from core.sync.protocol import ProjectInfo, UserInfo

ME = UserInfo(id=1, name="alice", role="artist")
LOCAL_PROJECT = 3
SERVER_PROJECT = 7


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "catalog.sqlite3")


def _note(store: LocalStore, body: str, content_hash: str = "hash-a") -> str:
    project = private_project(LOCAL_PROJECT)
    asset_id = store.ensure_asset(project, "shot.exr", "image", content_hash)
    return store.add_comment(project, asset_id, body, frame=1012, annotation={"strokes": []}).id


def test_a_note_needs_no_server_and_stays_on_this_machine(store: LocalStore) -> None:
    comment_id = _note(store, "Too dark")
    comment = store.comment(comment_id)
    assert (comment.body, comment.frame, comment.sync_state) == ("Too dark", 1012, "private")
    assert comment.author == store.author_id()
    asset = store.asset_key(private_project(LOCAL_PROJECT), "hash-a")
    assert [c.id for c in store.list_comments(asset)] == [comment_id]

    store.edit_comment(comment_id, "Too dark on the left", None)
    assert store.comment(comment_id).body == "Too dark on the left"
    assert store.comment(comment_id).sync_state == "private"
    # Signing in sends nothing of it: private notes are nobody's until their project is linked.
    store.save_session(ME, [ProjectInfo(id=SERVER_PROJECT, name="show")], "ws://server", "server-1")
    assert store.pending_count() == 0
    assert store.held_changes().count == 0
    assert store.comment(comment_id).sync_state == "private"


def test_linking_queues_private_notes_once_for_the_server_project(store: LocalStore) -> None:
    first, second = _note(store, "Too dark"), _note(store, "Matte line")
    store.save_session(ME, [ProjectInfo(id=SERVER_PROJECT, name="show")], "ws://server", "server-1")

    assert store.share_private_notes(LOCAL_PROJECT, SERVER_PROJECT) == 3  # the asset and two notes
    queued = store.pending_changes()
    kinds = [entry.record_kind for entry in queued]
    assert kinds == ["asset", "comment", "comment"]
    assert {entry.project_id for entry in queued} == {SERVER_PROJECT}
    shared_asset = sync_asset_id(SERVER_PROJECT, "hash-a")
    for comment_id in (first, second):
        comment = store.comment(comment_id)
        assert (comment.project_id, comment.asset_id, comment.sync_state) == (
            SERVER_PROJECT,
            shared_asset,
            "pending",
        )
    assert store.list_comments(store.asset_key(private_project(LOCAL_PROJECT), "hash-a")) == []

    assert store.share_private_notes(LOCAL_PROJECT, SERVER_PROJECT) == 0
    assert len(store.pending_changes()) == 3


def test_content_already_shared_is_commented_on_not_published_again(store: LocalStore) -> None:
    store.save_session(ME, [ProjectInfo(id=SERVER_PROJECT, name="show")], "ws://server", "server-1")
    existing = store.ensure_asset(SERVER_PROJECT, "shot.exr", "image", "hash-a")
    note = _note(store, "Too dark")

    assert store.share_private_notes(LOCAL_PROJECT, SERVER_PROJECT) == 1
    assert [entry.record_kind for entry in store.pending_changes()] == ["asset", "comment"]
    assert store.comment(note).asset_id == existing


def test_another_sign_in_keeps_private_notes(store: LocalStore) -> None:
    note = _note(store, "Too dark")
    store.save_session(ME, [], "ws://server", "server-1")
    store.save_session(UserInfo(id=2, name="bob", role="artist"), [], "ws://other", "server-2")
    assert store.comment(note).sync_state == "private"
