"""The ``sync_*`` tables of the local catalog file (their own MetaData, created on first use).

Synced-record tables (assets, comments, tasks) hold the row as shown plus its sync bookkeeping: the last
server snapshot, the sequence that produced it, and whether local changes are still pending.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

sync_meta = sa.Table(
    "sync_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
sync_user = sa.Table(
    "sync_user",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
)
sync_project = sa.Table(
    "sync_project",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("head_seq", sa.BigInteger, nullable=False, server_default="0"),
)
sync_member = sa.Table(
    "sync_member",
    metadata,
    sa.Column("project_id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, primary_key=True),
)


def _state_columns() -> list[sa.Column[Any]]:
    """Sync bookkeeping shared by synced-record tables (fresh Column objects per table)."""
    return [
        # pending: local changes not yet in a server snapshot; synced; rejected: creation refused.
        sa.Column("sync_state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("seq", sa.BigInteger, nullable=True),  # server sequence of the snapshot
        sa.Column("first_seq", sa.BigInteger, nullable=True),  # sequence that created it
        sa.Column("server_json", sa.Text, nullable=True),  # last server snapshot
        sa.Column("local_order", sa.Integer, nullable=False, server_default="0"),
    ]


sync_asset = sa.Table(
    "sync_asset",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("content_hash", sa.String(128), nullable=False),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("thumbnail_b64", sa.Text, nullable=True),
    sa.Column("created_by", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    *_state_columns(),
)
sync_comment = sa.Table(
    "sync_comment",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("asset_id", sa.String(64), nullable=False),
    sa.Column("author", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("frame", sa.Integer, nullable=True),
    sa.Column("annotation", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("edited_at", sa.String(40), nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("version", sa.Integer, nullable=False),
    *_state_columns(),
    sa.Index("ix_sync_comment_asset", "asset_id", "seq"),
)
sync_task = sa.Table(
    "sync_task",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False),
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
    sa.Column("conflicts", sa.Text, nullable=True),  # JSON list of the last FieldConflicts
    *_state_columns(),
    sa.Index("ix_sync_task_project", "project_id", "assignee"),
)
sync_outbox = sa.Table(
    "sync_outbox",
    metadata,
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("change_id", sa.String(64), nullable=False, unique=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("record_kind", sa.String(16), nullable=False),
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("error_code", sa.String(32), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Index("ix_sync_outbox_record", "record_kind", "record_id"),
    # Positions are never reused, so "sent up to position N" stays meaningful after deletions.
    sqlite_autoincrement=True,
)
sync_cursor = sa.Table(
    "sync_cursor",
    metadata,
    sa.Column("project_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)
sync_notification = sa.Table(
    "sync_notification",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", sa.Integer, nullable=False),
    sa.Column("record_kind", sa.String(16), nullable=False),
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("read", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("project_id", "seq", name="uq_sync_notification_event"),
)
RECORD_TABLES: dict[str, sa.Table] = {"asset": sync_asset, "comment": sync_comment, "task": sync_task}

# Columns of a record table that show the record (the rest is sync bookkeeping).
DISPLAY_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(
        column.name
        for column in table.columns
        if column.name not in {"sync_state", "seq", "first_seq", "server_json", "local_order", "conflicts"}
    )
    for kind, table in RECORD_TABLES.items()
}
