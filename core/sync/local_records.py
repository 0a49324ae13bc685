"""Plain data the local store hands out (views, outbox entries) and the pure functions that shape rows:
a stored row to a view, and a pending change applied to a record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.sync.protocol import (
    AddCommentChange,
    Change,
    CreateTaskChange,
    DeleteAssetChange,
    DeleteCommentChange,
    DeletePlaylistChange,
    DeleteProjectChange,
    DeleteTaskChange,
    EditCommentChange,
    Event,
    FieldConflict,
    SavePlaylistChange,
    SetReviewChange,
    UpsertAssetChange,
)
from core.sync.records import (
    UNREVIEWED,
    AssetRecord,
    CommentRecord,
    PlaylistRecord,
    SyncedRecord,
    TaskRecord,
    load_json,
)


class SyncNotReadyError(RuntimeError):
    """Local writes need to know who "I" am: sign in to the server once first."""


class GapError(RuntimeError):
    """Events arrived with a hole in the sequence; the client re-subscribes from its cursor."""


@dataclass(frozen=True)
class CommentView:
    id: str
    project_id: int
    asset_id: str
    author: int
    body: str
    frame: int | None
    annotation: Any
    created_at: str
    edited_at: str | None
    deleted: bool
    version: int
    sync_state: str
    seq: int | None


@dataclass(frozen=True)
class TaskView:
    id: str
    project_id: int
    title: str
    description: str
    assignee: int | None
    creator: int
    status: str
    due_date: str | None
    asset_id: str | None
    version: int
    created_at: str
    updated_at: str
    sync_state: str
    seq: int | None
    conflicts: list[FieldConflict]


@dataclass(frozen=True)
class PlaylistView:
    id: str
    project_id: int
    name: str
    items: list[str]  # content hashes, in play order
    author: int
    updated_at: str
    deleted: bool
    version: int
    sync_state: str
    seq: int | None


@dataclass(frozen=True)
class NotificationView:
    id: int
    project_id: int
    seq: int
    kind: str
    actor: int
    record_kind: str
    record_id: str
    created_at: str
    read: bool


@dataclass(frozen=True)
class OutboxEntry:
    position: int
    change_id: str
    project_id: int
    record_kind: str
    record_id: str
    message: str


@dataclass(frozen=True)
class UnreadableEvent:
    """A server event this client could not read: skipped (its place in the sequence is taken) and
    recorded, so the project's later events still arrive."""

    project_id: int
    seq: int
    change_id: str
    reason: str


@dataclass(frozen=True)
class HeldChanges:
    """Unsent changes written under another sign-in (another user, or another server), kept aside
    until their owner signs in again or the user decides what to do with them."""

    count: int
    owners: list[str]  # "<server id>/<user id>" of whoever wrote them


@dataclass
class AppliedEvents:
    """What one page of events changed, for callbacks (plain data, safe to hand to another thread)."""

    project_id: int
    last_seq: int
    changed: dict[str, list[str]] = field(default_factory=dict)  # kind -> record ids
    notifications: list[NotificationView] = field(default_factory=list)
    conflicts: list[tuple[str, Event]] = field(default_factory=list)  # (task id, event)
    unreadable: list[UnreadableEvent] = field(default_factory=list)  # newly skipped


def comment_view(row: Any) -> CommentView:
    return CommentView(
        id=row.id,
        project_id=row.project_id,
        asset_id=row.asset_id,
        author=row.author,
        body=row.body,
        frame=row.frame,
        annotation=load_json(row.annotation),
        created_at=row.created_at,
        edited_at=row.edited_at,
        deleted=bool(row.deleted),
        version=row.version,
        sync_state=row.sync_state,
        seq=row.seq,
    )


def task_view(row: Any) -> TaskView:
    conflicts = [FieldConflict.model_validate(c) for c in load_json(row.conflicts) or []]
    return TaskView(
        id=row.id,
        project_id=row.project_id,
        title=row.title,
        description=row.description,
        assignee=row.assignee,
        creator=row.creator,
        status=row.status,
        due_date=row.due_date,
        asset_id=row.asset_id,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sync_state=row.sync_state,
        seq=row.seq,
        conflicts=conflicts,
    )


def playlist_view(row: Any) -> PlaylistView:
    return PlaylistView(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        items=list(load_json(row.items) or []),
        author=row.author,
        updated_at=row.updated_at,
        deleted=bool(row.deleted),
        version=row.version,
        sync_state=row.sync_state,
        seq=row.seq,
    )


def apply_local(state: SyncedRecord | None, change: Change, me: int, at: str) -> SyncedRecord | None:
    """What a pending change makes of a record, as this client shows it until the server answers."""
    if isinstance(change, UpsertAssetChange):
        previous = state if isinstance(state, AssetRecord) else None
        # As the server does: the sign-off stays with unchanged content, new content starts unreviewed.
        review = UNREVIEWED
        if previous is not None and previous.content_hash == change.content_hash:
            review = {name: getattr(previous, name) for name in UNREVIEWED}
        return AssetRecord(
            id=change.asset_id,
            project=change.project,
            name=change.name,
            kind=change.kind,
            content_hash=change.content_hash,
            metadata=change.metadata,
            thumbnail_b64=change.thumbnail_b64,
            created_by=previous.created_by if previous else me,
            version=previous.version if previous else 0,
            **review,
        )
    if isinstance(change, AddCommentChange):
        return CommentRecord(
            id=change.comment_id,
            project=change.project,
            asset_id=change.asset_id,
            author=me,
            body=change.body,
            frame=change.frame,
            annotation=change.annotation,
            created_at=at,
            version=0,
        )
    if isinstance(change, CreateTaskChange):
        return TaskRecord(
            id=change.task_id,
            project=change.project,
            title=change.title,
            description=change.description,
            assignee=change.assignee,
            creator=me,
            status=change.status,
            due_date=change.due_date,
            asset_id=change.asset_id,
            version=0,
            created_at=at,
            updated_at=at,
        )
    if isinstance(change, SavePlaylistChange):
        return PlaylistRecord(
            id=change.playlist_id,
            project=change.project,
            name=change.name,
            items=change.items,
            author=state.author if isinstance(state, PlaylistRecord) else me,
            updated_at=at,
            version=state.version if state is not None else 0,
        )
    if state is None:
        return None
    if isinstance(change, DeleteTaskChange | DeleteAssetChange | DeleteProjectChange):
        return state  # shown until the server's tombstone removes it (``core.sync.deletions``)
    if isinstance(change, DeletePlaylistChange):
        return state.model_copy(update={"items": [], "deleted": True, "updated_at": at})
    if isinstance(change, EditCommentChange):
        return state.model_copy(
            update={"body": change.body, "annotation": change.annotation, "edited_at": at}
        )
    if isinstance(change, SetReviewChange):
        return state.model_copy(
            update={
                "review_status": change.status,
                "review_reason": change.reason if change.status == "changes_requested" else "",
                "reviewed_by": None if change.status == "pending" else me,
            }
        )
    if isinstance(change, DeleteCommentChange):
        return state.model_copy(update={"body": "", "annotation": None, "deleted": True, "edited_at": at})
    # Validated, not copied: a patch may set a field to null that the record needs (the server refuses
    # that change too), and this keeps such a change out of the outbox.
    fields = change.fields.model_dump(exclude_unset=True)
    return type(state).model_validate({**state.model_dump(), **fields, "updated_at": at})
