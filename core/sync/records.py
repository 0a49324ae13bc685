"""The synced records (asset, comment, task, playlist), each defined once.

A record is what an event carries as its new state: the server builds it from its row, the client
validates it into the typed model below before storing it. The columns that show a record are defined
here too, and both the server's tables (``server.db``) and the client's ``sync_*`` tables
(``core.sync.local_tables``) are built from them, each side adding its own bookkeeping columns. So a
field added to a record is added to both databases and to the wire in one place.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.sync.protocol import MAX_THUMBNAIL_B64_CHARS, Identifier, Name, ReviewStatus, TaskStatus


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssetRecord(_Record):
    id: Identifier
    project: int
    name: Name
    kind: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    content_hash: Annotated[str, StringConstraints(max_length=128)]
    metadata: dict[str, Any] = Field(default_factory=dict)
    thumbnail_b64: Annotated[str, StringConstraints(max_length=MAX_THUMBNAIL_B64_CHARS)] | None = None
    created_by: int
    version: int
    # The sign-off of the current content, on the asset itself rather than a record of its own: it is
    # one value per asset, read wherever the asset is (the grid's badge, the viewer), and a new publish
    # with other content resets it to pending in the same write.
    review_status: ReviewStatus = "pending"
    review_reason: str = ""
    reviewed_by: int | None = None


class CommentRecord(_Record):
    id: Identifier
    project: int
    asset_id: Identifier
    author: int
    body: str
    frame: int | None = None
    annotation: Any = None
    created_at: str
    edited_at: str | None = None
    deleted: bool = False
    version: int


class TaskRecord(_Record):
    id: Identifier
    project: int
    title: str
    description: str = ""
    assignee: int | None = None
    creator: int
    status: TaskStatus = "open"
    due_date: date | None = None
    asset_id: Identifier | None = None
    version: int
    created_at: str
    updated_at: str


class PlaylistRecord(_Record):
    """A review session: its items are content hashes, in play order (see ``SavePlaylistChange``).
    A deleted playlist stays as a tombstone with no items, so the deletion reaches every client."""

    id: Identifier
    project: int
    name: Name
    items: list[str] = Field(default_factory=list)
    author: int
    updated_at: str
    deleted: bool = False
    version: int


SyncedRecord = AssetRecord | CommentRecord | TaskRecord | PlaylistRecord
RECORD_MODELS: dict[str, type[SyncedRecord]] = {
    "asset": AssetRecord,
    "comment": CommentRecord,
    "task": TaskRecord,
    "playlist": PlaylistRecord,
}


def parse_record(kind: str, data: dict[str, Any]) -> SyncedRecord:
    """An event's record checked against its kind's model (raises pydantic's ValidationError)."""
    return RECORD_MODELS[kind].model_validate(data)


def record_columns(kind: str) -> list[sa.Column[Any]]:
    """The columns that show a record of ``kind``, in the record's field order (``project`` is stored
    as ``project_id``, JSON values as text). Fresh objects on every call: a Column belongs to one table."""
    identity: list[sa.Column[Any]] = [
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.Integer, nullable=False),
    ]
    if kind == "asset":
        return [
            *identity,
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("content_hash", sa.String(128), nullable=False),
            sa.Column("metadata", sa.Text, nullable=False),
            sa.Column("thumbnail_b64", sa.Text, nullable=True),
            sa.Column("created_by", sa.Integer, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            # Defaults so both databases add them in place to the rows they already have.
            sa.Column("review_status", sa.String(24), nullable=False, server_default="pending"),
            sa.Column("review_reason", sa.Text, nullable=False, server_default=""),
            sa.Column("reviewed_by", sa.Integer, nullable=True),
        ]
    if kind == "comment":
        return [
            *identity,
            sa.Column("asset_id", sa.String(64), nullable=False),
            sa.Column("author", sa.Integer, nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("frame", sa.Integer, nullable=True),
            sa.Column("annotation", sa.Text, nullable=True),
            sa.Column("created_at", sa.String(40), nullable=False),
            sa.Column("edited_at", sa.String(40), nullable=True),
            sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("version", sa.Integer, nullable=False),
        ]
    if kind == "playlist":
        return [
            *identity,
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("items", sa.Text, nullable=False),
            sa.Column("author", sa.Integer, nullable=False),
            sa.Column("updated_at", sa.String(40), nullable=False),
            sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("version", sa.Integer, nullable=False),
        ]
    if kind != "task":
        raise ValueError(f"Unknown record kind {kind!r}")
    return [
        *identity,
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("assignee", sa.Integer, nullable=True),
        sa.Column("creator", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_date", sa.String(10), nullable=True),
        sa.Column("asset_id", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    ]


# An asset's sign-off columns, and their values for content nobody has judged yet.
UNREVIEWED: dict[str, Any] = {"review_status": "pending", "review_reason": "", "reviewed_by": None}
REVIEW_COLUMNS: tuple[str, ...] = tuple(UNREVIEWED)

RECORD_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    kind: tuple(column.name for column in record_columns(kind)) for kind in RECORD_MODELS
}


def dump_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


_JSON_COLUMNS = frozenset({"metadata", "annotation", "items"})
# How a stored column value becomes a record value (SQLite hands booleans back as 0/1).
_COLUMN_DECODERS: dict[str, Any] = {
    "metadata": load_json,
    "annotation": load_json,
    "items": load_json,
    "deleted": bool,
}


def record_row(record: SyncedRecord) -> dict[str, Any]:
    """The column values that show ``record``."""
    values = record.model_dump(mode="json")  # a due date becomes its ISO text
    values["project_id"] = values.pop("project")
    for name in _JSON_COLUMNS & values.keys():
        values[name] = dump_json(values[name])
    return values


def record_from_row(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """The record as broadcast, from a row's column values (the server's hot path: no model built)."""
    return {
        ("project" if name == "project_id" else name): (
            _COLUMN_DECODERS[name](row[name]) if name in _COLUMN_DECODERS else row[name]
        )
        for name in RECORD_COLUMN_NAMES[kind]
    }
