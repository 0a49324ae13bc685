"""The ``sync_*`` tables of the local catalog file (their own MetaData, created on first use).

Synced-record tables (assets, comments, tasks, playlists) hold the row as shown, in the columns the
server's tables are built from too (``core.sync.records``), plus its sync bookkeeping: the last server
snapshot, the sequence that produced it, and whether local changes are still pending.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from core.sync.records import record_columns

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
    sa.Column("owner", sa.Integer, nullable=True),  # the owner's user id, as the server said
    # Deleted by its owner or an admin: kept (its id names local links until they are undone), never
    # offered again (``LocalReads.projects``).
    sa.Column("deleted", sa.Boolean, nullable=False, server_default="0"),
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
        # Indexed (below): a local write numbers its new row after the highest, at every write.
        sa.Column("local_order", sa.Integer, nullable=False, server_default="0"),
    ]


sync_asset = sa.Table(
    "sync_asset",
    metadata,
    *record_columns("asset"),
    *_state_columns(),
    sa.Index("ix_sync_asset_project_id", "project_id"),
    sa.Index("ix_sync_asset_local_order", "local_order"),
)
sync_comment = sa.Table(
    "sync_comment",
    metadata,
    *record_columns("comment"),
    *_state_columns(),
    sa.Index("ix_sync_comment_asset", "asset_id", "seq"),
    sa.Index("ix_sync_comment_local_order", "local_order"),
)
sync_task = sa.Table(
    "sync_task",
    metadata,
    *record_columns("task"),
    sa.Column("conflicts", sa.Text, nullable=True),  # JSON list of the last FieldConflicts
    *_state_columns(),
    sa.Index("ix_sync_task_project", "project_id", "assignee"),
    sa.Index("ix_sync_task_local_order", "local_order"),
)
sync_playlist = sa.Table(
    "sync_playlist",
    metadata,
    *record_columns("playlist"),
    *_state_columns(),
    sa.Index("ix_sync_playlist_project", "project_id"),
    sa.Index("ix_sync_playlist_local_order", "local_order"),
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
    # pending: to send; acked: accepted, its event not here yet; synced: its event is stored (kept as a
    # journal, to send again should the server be restored from a backup that lacks it); rejected.
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("error_code", sa.String(32), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(40), nullable=False),
    # Whose change it is: "<server id>/<user id>" of the sign-in it was written under. Only the owner's
    # sign-in sends it; under another one it is held until its owner returns or the user decides.
    sa.Column("owner", sa.String(100), nullable=True),
    sa.Column("seq", sa.BigInteger, nullable=True),  # the server's sequence number, once acknowledged
    sa.Index("ix_sync_outbox_record", "record_kind", "record_id"),
    sa.Index("ix_sync_outbox_owner", "owner", "state", "position"),
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
# How many changes each owner has waiting to be sent, kept by triggers on ``sync_outbox`` (below): the
# status shows it after every acknowledgement, and counting the outbox each time would make flushing a
# long backlog quadratic.
sync_pending = sa.Table(
    "sync_pending",
    metadata,
    sa.Column("owner", sa.String(100), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)
_PENDING_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS sync_outbox_pending_insert AFTER INSERT ON sync_outbox
    WHEN NEW.state = 'pending' BEGIN
        INSERT INTO sync_pending (owner, count) VALUES (coalesce(NEW.owner, ''), 1)
        ON CONFLICT (owner) DO UPDATE SET count = count + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS sync_outbox_pending_delete AFTER DELETE ON sync_outbox
    WHEN OLD.state = 'pending' BEGIN
        UPDATE sync_pending SET count = count - 1 WHERE owner = coalesce(OLD.owner, '');
    END""",
    """CREATE TRIGGER IF NOT EXISTS sync_outbox_pending_update AFTER UPDATE OF state, owner ON sync_outbox
    WHEN OLD.state = 'pending' OR NEW.state = 'pending' BEGIN
        UPDATE sync_pending SET count = count - 1
        WHERE OLD.state = 'pending' AND owner = coalesce(OLD.owner, '');
        INSERT INTO sync_pending (owner, count) SELECT coalesce(NEW.owner, ''), 1 WHERE NEW.state = 'pending'
        ON CONFLICT (owner) DO UPDATE SET count = count + 1;
    END""",
)

# Events of the server this client could not read (a record it cannot parse, a page it cannot split):
# skipped so the rest of the project keeps arriving, and kept to tell the user and the administrator.
sync_unreadable = sa.Table(
    "sync_unreadable",
    metadata,
    sa.Column("project_id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("change_id", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)
RECORD_TABLES: dict[str, sa.Table] = {
    "asset": sync_asset,
    "comment": sync_comment,
    "task": sync_task,
    "playlist": sync_playlist,
}


def ensure_schema(connection: sa.Connection) -> None:
    """Create the tables, and bring those made by an older version up to date: SQLite adds a nullable
    column, or one with a default, in place, and indexes are created when missing."""
    metadata.create_all(connection, checkfirst=True)
    inspector = sa.inspect(connection)
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=connection.dialect)
            default = column.server_default
            if isinstance(default, sa.DefaultClause) and isinstance(default.arg, str):
                # Defaults of record columns are plain words ("pending", ""), quoted as SQL text.
                text = default.arg.replace("'", "''")
                kind = f"{kind} NOT NULL DEFAULT '{text}'"
            elif not column.nullable:
                continue
            connection.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}')
        for index in table.indexes:
            index.create(connection, checkfirst=True)
    for trigger in _PENDING_TRIGGERS:
        connection.exec_driver_sql(trigger)
    # Recounted once per opening: a catalog from before the triggers, or one edited by hand, starts right.
    connection.execute(sync_pending.delete())
    connection.execute(
        sync_pending.insert().from_select(
            ["owner", "count"],
            sa.select(sa.func.coalesce(sync_outbox.c.owner, ""), sa.func.count())
            .where(sync_outbox.c.state == "pending")
            .group_by(sa.func.coalesce(sync_outbox.c.owner, "")),
        )
    )
