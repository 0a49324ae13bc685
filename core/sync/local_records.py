"""Plain data the local store hands out (views, outbox entries) and the pure functions that shape rows:
a protocol record to table columns, and a pending change applied to a record."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from core.sync.local_tables import DISPLAY_COLUMNS
from core.sync.protocol import (
    AddCommentChange,
    Change,
    CreateTaskChange,
    DeleteCommentChange,
    EditCommentChange,
    Event,
    FieldConflict,
    UpsertAssetChange,
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


@dataclass
class AppliedEvents:
    """What one page of events changed, for callbacks (plain data, safe to hand to another thread)."""

    project_id: int
    last_seq: int
    changed: dict[str, list[str]] = field(default_factory=dict)  # kind -> record ids
    acked_change_ids: list[str] = field(default_factory=list)
    notifications: list[NotificationView] = field(default_factory=list)
    conflicts: list[tuple[str, Event]] = field(default_factory=list)  # (task id, event)


def dump_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


_JSON_COLUMNS = {"metadata", "annotation"}


def row_values(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """Map a protocol record (``project``) to the table's display columns (``project_id``)."""
    values: dict[str, Any] = {}
    for name in DISPLAY_COLUMNS[kind]:
        source = "project" if name == "project_id" else name
        value = record.get(source)
        if name in _JSON_COLUMNS:
            value = dump_json(value) if name == "annotation" else json.dumps(value or {})
        values[name] = value
    if kind == "task" and record.get("due_date") is not None:
        values["due_date"] = str(record["due_date"])
    return values


def apply_local(state: dict[str, Any] | None, change: Change, me: int, at: str) -> dict[str, Any] | None:
    """What a pending change makes of a record, as this client shows it until the server answers."""
    if isinstance(change, UpsertAssetChange):
        return {
            "id": change.asset_id,
            "project": change.project,
            "name": change.name,
            "kind": change.kind,
            "content_hash": change.content_hash,
            "metadata": change.metadata,
            "thumbnail_b64": change.thumbnail_b64,
            "created_by": state["created_by"] if state else me,
            "version": state["version"] if state else 0,
        }
    if isinstance(change, AddCommentChange):
        return {
            "id": change.comment_id,
            "project": change.project,
            "asset_id": change.asset_id,
            "author": me,
            "body": change.body,
            "frame": change.frame,
            "annotation": change.annotation,
            "created_at": at,
            "edited_at": None,
            "deleted": False,
            "version": 0,
        }
    if isinstance(change, CreateTaskChange):
        return {
            "id": change.task_id,
            "project": change.project,
            "title": change.title,
            "description": change.description,
            "assignee": change.assignee,
            "creator": me,
            "status": change.status,
            "due_date": change.due_date.isoformat() if change.due_date else None,
            "asset_id": change.asset_id,
            "version": 0,
            "created_at": at,
            "updated_at": at,
        }
    if state is None:
        return None
    if isinstance(change, EditCommentChange):
        return {**state, "body": change.body, "annotation": change.annotation, "edited_at": at}
    if isinstance(change, DeleteCommentChange):
        return {**state, "body": "", "annotation": None, "deleted": True, "edited_at": at}
    return {**state, **change.fields.changed_fields(), "updated_at": at}
