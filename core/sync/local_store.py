"""The client's offline truth for synced records, kept in the local catalog SQLite file.

Tables are prefixed ``sync_`` and live on their own MetaData. What a row shows is always
``last server snapshot`` + ``pending outbox changes`` applied in order: a local write changes the row and
queues the change in one transaction; a remote event replaces the snapshot and re-applies whatever is
still pending; a rejected change is dropped and the row rebuilt, so the UI never keeps a value the
server refused. The cursor of a project moves in the same transaction as the events it covers.

Every local write of comments, tasks and assets goes through this store, whether or not the server is
reachable (``core.sync.local_writes``, which this store is built on); the role rules (``core.sync.roles``)
are checked there, before a change is queued. Listeners hear of each write once it is committed: the
running ``SyncClient`` wakes its outbox flush, the Qt bridge tells the UI.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.sync import local_outbox
from core.sync.local_events import apply_events, read_cursor
from core.sync.local_outbox import owner_of
from core.sync.local_private import private_project
from core.sync.local_reads import sync_asset_id
from core.sync.local_records import (
    AppliedEvents,
    CommentView,
    GapError,
    HeldChanges,
    NotificationView,
    OutboxEntry,
    PlaylistView,
    SyncNotReadyError,
    TaskView,
    UnreadableEvent,
)
from core.sync.local_tables import (
    RECORD_TABLES,
    ensure_schema,
    metadata,
    sync_asset,
    sync_comment,
    sync_member,
    sync_meta,
    sync_notification,
    sync_outbox,
    sync_pending,
    sync_project,
    sync_task,
    sync_unreadable,
    sync_user,
)
from core.sync.local_writes import LocalWrites
from core.sync.roles import change_refusal

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine

    from core.sync.protocol import (
        Event,
        ProjectInfo,
        UserInfo,
    )

log = logging.getLogger(__name__)

# Re-exported: callers import the store's data types and tables from here.
__all__ = [
    "AppliedEvents",
    "CommentView",
    "GapError",
    "HeldChanges",
    "LocalStore",
    "NotificationView",
    "OutboxEntry",
    "PlaylistView",
    "SyncNotReadyError",
    "TaskView",
    "UnreadableEvent",
    "metadata",
    "private_project",
    "sync_asset",
    "sync_asset_id",
    "sync_comment",
    "sync_notification",
    "sync_outbox",
    "sync_task",
]


def _tune(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # 16 MiB of page cache (the default is 2 MiB): records and outbox entries are keyed by random UUIDs,
    # so a flush touches pages all over a large catalog's indexes.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()


class LocalStore(LocalWrites):
    """Thread-safe (one write lock) access to the ``sync_*`` tables of the local catalog file."""

    def __init__(self, catalog_file: Path | str | None = None, *, engine: Engine | None = None) -> None:
        if engine is None:
            if catalog_file is None:
                raise ValueError("LocalStore needs a catalog file or an engine")
            engine = sa.create_engine(
                f"sqlite:///{Path(catalog_file)}",
                connect_args={"check_same_thread": False, "timeout": 10.0},
            )
            sa_event.listen(engine, "connect", _tune)
        self.engine = engine
        self._lock = threading.RLock()
        self._listeners: tuple[Callable[[str], None], ...] = ()
        with self._lock, engine.begin() as connection:
            ensure_schema(connection)

    def close(self) -> None:
        self.engine.dispose()

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(record_kind)`` after every committed local write, on the writing thread."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

    def remove_listener(self, listener: Callable[[str], None]) -> None:
        with self._lock:
            self._listeners = tuple(known for known in self._listeners if known != listener)

    # -- identity and directory ----------------------------------------------------------------
    def _set_meta(self, connection: Connection, key: str, value: str) -> None:
        statement = sqlite_insert(sync_meta).values(key=key, value=value)
        connection.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))

    def save_session(
        self, user: UserInfo, projects: list[ProjectInfo], server_url: str, server_id: str = ""
    ) -> HeldChanges:
        """Remember who signed in where, and their projects. A server is known by its own id, not by
        the address it was reached at. Another user or another server: what came from the previous
        server goes, but unsent changes never do: they stay with their owner (held) and come back
        when that sign-in returns. Returns the changes now held, for the user to decide about."""
        with self._lock, self.engine.begin() as connection:
            previous_user, previous_server = (
                self._meta(connection, "user_id"),
                self._meta(connection, "server_id"),
            )
            owner = owner_of(server_id, user.id)
            if previous_user is not None:
                previous = owner_of(previous_server, previous_user)
                # Entries written before changes had owners belong to whoever was signed in.
                connection.execute(
                    sync_outbox.update().where(sync_outbox.c.owner.is_(None)).values(owner=previous)
                )
                if not previous_server and previous_user == str(user.id):
                    # First contact since servers had ids: the same account, so the same server.
                    connection.execute(
                        sync_outbox.update().where(sync_outbox.c.owner == previous).values(owner=owner)
                    )
                elif previous != owner:
                    self._forget_server_data(connection)
                    local_outbox.show_owned(connection, user.id, owner)
            self._set_meta(connection, "user_id", str(user.id))
            self._set_meta(connection, "server_id", server_id)
            self._set_meta(connection, "server_url", server_url)
            self._upsert_users(connection, [user])
            known = {p.id for p in projects}
            connection.execute(sync_project.delete().where(sync_project.c.id.not_in(known)))
            for project in projects:
                known_fields = {
                    "name": project.name,
                    "head_seq": project.head_seq,
                    "owner": project.owner,
                    "deleted": project.deleted,
                }
                statement = sqlite_insert(sync_project).values(id=project.id, **known_fields)
                connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=known_fields))
            return local_outbox.held(connection, owner)

    def _forget_server_data(self, connection: Connection) -> None:
        """Everything that came from a server; the outbox (every sign-in's changes) and the private
        notes of unlinked projects stay."""
        for table in reversed(metadata.sorted_tables):
            if table in RECORD_TABLES.values():
                connection.execute(table.delete().where(table.c.project_id >= 0))
            elif table not in (sync_outbox, sync_pending):
                connection.execute(table.delete())

    def _upsert_users(self, connection: Connection, members: list[UserInfo]) -> None:
        if not members:
            return
        # One executemany: a studio project lists hundreds of members on every subscribe.
        statement = sqlite_insert(sync_user)
        statement = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={name: statement.excluded[name] for name in ("name", "display_name", "role")},
        )
        connection.execute(
            statement,
            [{"id": u.id, "name": u.name, "display_name": u.display_name, "role": u.role} for u in members],
        )

    def save_members(self, project_id: int, members: list[UserInfo]) -> None:
        with self._lock, self.engine.begin() as connection:
            self._upsert_users(connection, members)
            connection.execute(sync_member.delete().where(sync_member.c.project_id == project_id))
            if members:
                connection.execute(
                    sync_member.insert(),
                    [{"project_id": project_id, "user_id": m.id} for m in members],
                )

    def current_user_id(self) -> int | None:
        with self.engine.connect() as connection:
            value = self._meta(connection, "user_id")
        return None if value is None else int(value)

    def author_id(self) -> int:
        """Who this machine's notes are written by: the signed-in user, or ``LOCAL_AUTHOR`` before
        anyone signed in (private notes need no account)."""
        with self.engine.connect() as connection:
            return self._author(connection)

    def may(self, change_type: str) -> bool:
        """Whether my role allows changes of ``change_type`` (a protocol change type, "create_task")."""
        with self.engine.connect() as connection:
            me = self._meta(connection, "user_id")
            role = self._role(connection, int(me)) if me is not None else None
        return change_refusal(role, change_type) is None

    # -- outbox (``core.sync.local_outbox``) ---------------------------------------------------
    def pending_changes(self, after_position: int = 0, limit: int = 100) -> list[OutboxEntry]:
        """The signed-in user's unsent changes, in the order they were written."""
        with self.engine.connect() as connection:
            _me, owner = self._identity(connection)
            return local_outbox.pending_changes(connection, owner, after_position, limit)

    def pending_count(self) -> int:
        with self.engine.connect() as connection:
            if self._meta(connection, "user_id") is None:
                return 0
            return local_outbox.pending_count(connection, self._identity(connection)[1])

    def rejected_changes(self) -> list[tuple[str, str, str, str]]:
        """(change id, record id, error code, message) of changes the server refused."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(
                    sync_outbox.c.change_id,
                    sync_outbox.c.record_id,
                    sync_outbox.c.error_code,
                    sync_outbox.c.error_message,
                ).where(sync_outbox.c.state == "rejected")
            ).all()
        return [(r[0], r[1], r[2] or "", r[3] or "") for r in rows]

    def mark_acked(self, acks: list[tuple[str, int]]) -> None:
        """The server accepted these changes ((change id, seq) each), in one transaction. An entry
        stays (state ``acked``, still shown on the row) until its event arrives with the server's
        snapshot, so the row never flickers back."""
        with self._lock, self.engine.begin() as connection:
            for change_id, seq in acks:
                kind = connection.execute(
                    sa.select(sync_outbox.c.record_kind).where(sync_outbox.c.change_id == change_id)
                ).scalar_one_or_none()
                table = RECORD_TABLES[kind] if kind is not None else None
                local_outbox.mark_acked(connection, change_id, seq, table)

    def mark_rejected(self, change_id: str, code: str, message: str) -> OutboxEntry | None:
        with self._lock, self.engine.begin() as connection:
            me, owner = self._identity(connection)
            return local_outbox.mark_rejected(connection, change_id, code, message, me, owner)

    def held_changes(self) -> HeldChanges:
        """Unsent changes of other sign-ins, kept until their owner returns or the user decides."""
        with self.engine.connect() as connection:
            return local_outbox.held(connection, self._identity(connection)[1])

    def send_held_as_me(self) -> int:
        """The user's choice: send the held changes as the signed-in user."""
        with self._lock, self.engine.begin() as connection:
            me, owner = self._identity(connection)
            adopted, kinds = local_outbox.adopt_held(connection, me, owner)
        for kind in sorted(kinds):
            self._tell_listeners(kind)
        return adopted

    def discard_held(self) -> int:
        """The user's choice: drop the held changes."""
        with self._lock, self.engine.begin() as connection:
            return local_outbox.discard_held(connection, self._identity(connection)[1])

    def resend_after_rollback(self, project_id: int, head: int) -> int:
        """The same server is behind this client's cursor (restored from a backup): send again what
        it lost of my accepted changes. 0 when the server is not behind."""
        with self._lock, self.engine.begin() as connection:
            if head >= read_cursor(connection, project_id):
                return 0
            me, owner = self._identity(connection)
            return local_outbox.resend_after_rollback(connection, project_id, head, me, owner)

    def prune_journal(self, keep_days: float) -> int:
        """Forget accepted changes whose event arrived and that were written over ``keep_days`` ago:
        a server restored from a backup older than that cannot be made whole from this client."""
        cutoff = (datetime.now(UTC) - timedelta(days=keep_days)).isoformat(timespec="milliseconds")
        with self._lock, self.engine.begin() as connection:
            return local_outbox.prune_journal(connection, cutoff)

    def unreadable_events(self) -> list[UnreadableEvent]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(sync_unreadable).order_by(sync_unreadable.c.project_id, sync_unreadable.c.seq)
            ).all()
        return [UnreadableEvent(r.project_id, r.seq, r.change_id, r.reason) for r in rows]

    # -- remote events -------------------------------------------------------------------------
    def cursor(self, project_id: int) -> int:
        with self.engine.connect() as connection:
            return read_cursor(connection, project_id)

    def apply_events(
        self, project_id: int, events: list[Event], unreadable: list[UnreadableEvent] | None = None
    ) -> AppliedEvents:
        """Store events idempotently (older than the cursor: skipped) and advance the cursor; events
        the client could not read take their place in the sequence and are recorded."""
        with self._lock, self.engine.begin() as connection:
            me, owner = self._identity(connection)
            return apply_events(connection, project_id, events, me, owner, unreadable)
