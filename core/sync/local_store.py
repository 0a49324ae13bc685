"""The client's offline truth for synced records, kept in the local catalog SQLite file.

Tables are prefixed ``sync_`` and live on their own MetaData. What a row shows is always
``last server snapshot`` + ``pending outbox changes`` applied in order: a local write changes the row and
queues the change in one transaction; a remote event replaces the snapshot and re-applies whatever is
still pending; a rejected change is dropped and the row rebuilt, so the UI never keeps a value the
server refused. The cursor of a project moves in the same transaction as the events it covers.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.sync.protocol import (
    CHANGE,
    AddCommentChange,
    Change,
    CreateTaskChange,
    DeleteCommentChange,
    EditCommentChange,
    Event,
    FieldConflict,
    ProjectInfo,
    TaskPatch,
    UpdateTaskChange,
    UpsertAssetChange,
    UserInfo,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

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
_TABLES = {"asset": sync_asset, "comment": sync_comment, "task": sync_task}


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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _new_id() -> str:
    return str(uuid.uuid4())


def _tune(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


_DISPLAY_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(
        column.name
        for column in table.columns
        if column.name not in {"sync_state", "seq", "first_seq", "server_json", "local_order", "conflicts"}
    )
    for kind, table in _TABLES.items()
}
_JSON_COLUMNS = {"metadata", "annotation"}


def _row_values(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """Map a protocol record (``project``) to the table's display columns (``project_id``)."""
    values: dict[str, Any] = {}
    for name in _DISPLAY_COLUMNS[kind]:
        source = "project" if name == "project_id" else name
        value = record.get(source)
        if name in _JSON_COLUMNS:
            value = _dump(value) if name == "annotation" else json.dumps(value or {})
        values[name] = value
    if kind == "task" and record.get("due_date") is not None:
        values["due_date"] = str(record["due_date"])
    return values


class LocalStore:
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
        with self._lock:
            metadata.create_all(engine, checkfirst=True)

    def close(self) -> None:
        self.engine.dispose()

    # -- identity and directory ----------------------------------------------------------------
    def _meta(self, connection: Connection, key: str) -> str | None:
        value = connection.execute(
            sa.select(sync_meta.c.value).where(sync_meta.c.key == key)
        ).scalar_one_or_none()
        return None if value is None else str(value)

    def _set_meta(self, connection: Connection, key: str, value: str) -> None:
        statement = sqlite_insert(sync_meta).values(key=key, value=value)
        connection.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))

    def save_session(self, user: UserInfo, projects: list[ProjectInfo], server_url: str) -> None:
        """Remember who signed in and their projects; a different user or server starts afresh."""
        with self._lock, self.engine.begin() as connection:
            previous = (self._meta(connection, "user_id"), self._meta(connection, "server_url"))
            if previous[0] is not None and previous != (str(user.id), server_url):
                self._forget_everything(connection)
            self._set_meta(connection, "user_id", str(user.id))
            self._set_meta(connection, "server_url", server_url)
            self._upsert_users(connection, [user])
            known = {p.id for p in projects}
            connection.execute(sync_project.delete().where(sync_project.c.id.not_in(known)))
            for project in projects:
                statement = sqlite_insert(sync_project).values(
                    id=project.id, name=project.name, head_seq=project.head_seq
                )
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["id"],
                        set_={"name": project.name, "head_seq": project.head_seq},
                    )
                )

    def _forget_everything(self, connection: Connection) -> None:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())

    def _upsert_users(self, connection: Connection, members: list[UserInfo]) -> None:
        for user in members:
            values = {"name": user.name, "display_name": user.display_name, "role": user.role}
            statement = sqlite_insert(sync_user).values(id=user.id, **values)
            connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))

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

    def projects(self) -> list[ProjectInfo]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(sync_project).order_by(sync_project.c.id)).all()
        return [ProjectInfo(id=r.id, name=r.name, head_seq=r.head_seq) for r in rows]

    def users(self, project_id: int | None = None) -> list[UserInfo]:
        query = sa.select(sync_user).order_by(sync_user.c.id)
        if project_id is not None:
            query = query.join(sync_member, sync_member.c.user_id == sync_user.c.id).where(
                sync_member.c.project_id == project_id
            )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [UserInfo(id=r.id, name=r.name, display_name=r.display_name, role=r.role) for r in rows]

    # -- local writes (offline first) ----------------------------------------------------------
    def _queue(self, change: Change, kind: str, record_id: str) -> None:
        """Store the change in the outbox and rebuild the row it touches, in one transaction."""
        with self._lock, self.engine.begin() as connection:
            me = self._meta(connection, "user_id")
            if me is None:
                raise SyncNotReadyError("Sign in to the server once before working offline")
            connection.execute(
                sync_outbox.insert().values(
                    change_id=change.change_id,
                    project_id=change.project,
                    record_kind=kind,
                    record_id=record_id,
                    message=change.model_dump_json(exclude={"id"}),
                    created_at=_now(),
                )
            )
            self._rebuild(connection, kind, record_id, int(me))

    @staticmethod
    def _validated(model: type[Any], **values: Any) -> Any:
        try:
            return model(change_id=_new_id(), **values)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"Invalid {where}: {first['msg']}") from exc

    def publish_asset(
        self,
        project_id: int,
        name: str,
        kind: str,
        content_hash: str = "",
        metadata_: dict[str, Any] | None = None,
        thumbnail_b64: str | None = None,
        asset_id: str | None = None,
    ) -> str:
        asset_id = asset_id or _new_id()
        change = self._validated(
            UpsertAssetChange,
            project=project_id,
            asset_id=asset_id,
            name=name,
            kind=kind,
            content_hash=content_hash,
            metadata=metadata_ or {},
            thumbnail_b64=thumbnail_b64,
        )
        self._queue(change, "asset", asset_id)
        return asset_id

    def add_comment(
        self,
        project_id: int,
        asset_id: str,
        body: str,
        frame: int | None = None,
        annotation: Any = None,
    ) -> CommentView:
        comment_id = _new_id()
        change = self._validated(
            AddCommentChange,
            project=project_id,
            comment_id=comment_id,
            asset_id=asset_id,
            body=body,
            frame=frame,
            annotation=annotation,
        )
        self._queue(change, "comment", comment_id)
        return self.comment(comment_id)

    def _comment_project(self, comment_id: str) -> int:
        with self.engine.connect() as connection:
            project_id = connection.execute(
                sa.select(sync_comment.c.project_id).where(sync_comment.c.id == comment_id)
            ).scalar_one_or_none()
        if project_id is None:
            raise KeyError(f"No comment {comment_id}")
        return int(project_id)

    def edit_comment(self, comment_id: str, body: str, annotation: Any = None) -> CommentView:
        change = self._validated(
            EditCommentChange,
            project=self._comment_project(comment_id),
            comment_id=comment_id,
            body=body,
            annotation=annotation,
        )
        self._queue(change, "comment", comment_id)
        return self.comment(comment_id)

    def delete_comment(self, comment_id: str) -> None:
        change = self._validated(
            DeleteCommentChange, project=self._comment_project(comment_id), comment_id=comment_id
        )
        self._queue(change, "comment", comment_id)

    def create_task(
        self,
        project_id: int,
        title: str,
        description: str = "",
        assignee: int | None = None,
        status: str = "open",
        due_date: date | str | None = None,
        asset_id: str | None = None,
    ) -> TaskView:
        task_id = _new_id()
        change = self._validated(
            CreateTaskChange,
            project=project_id,
            task_id=task_id,
            title=title,
            description=description,
            assignee=assignee,
            status=status,
            due_date=due_date,
            asset_id=asset_id,
        )
        self._queue(change, "task", task_id)
        return self.task(task_id)

    def update_task(self, task_id: str, fields: dict[str, Any], base_version: int | None = None) -> TaskView:
        """Change task fields; ``base_version`` defaults to the server version this client has."""
        current = self.task(task_id)
        try:
            patch = TaskPatch.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            raise ValueError(f"Invalid task field {first['loc'][0]}: {first['msg']}") from exc
        change = self._validated(
            UpdateTaskChange,
            project=current.project_id,
            task_id=task_id,
            base_version=max(1, base_version if base_version is not None else current.version),
            fields=patch,
        )
        self._queue(change, "task", task_id)
        return self.task(task_id)

    # -- reads ---------------------------------------------------------------------------------
    def comment(self, comment_id: str) -> CommentView:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(sync_comment).where(sync_comment.c.id == comment_id)
            ).one_or_none()
        if row is None:
            raise KeyError(f"No comment {comment_id}")
        return self._comment_view(row)

    @staticmethod
    def _comment_view(row: Any) -> CommentView:
        return CommentView(
            id=row.id,
            project_id=row.project_id,
            asset_id=row.asset_id,
            author=row.author,
            body=row.body,
            frame=row.frame,
            annotation=_load(row.annotation),
            created_at=row.created_at,
            edited_at=row.edited_at,
            deleted=bool(row.deleted),
            version=row.version,
            sync_state=row.sync_state,
            seq=row.seq,
        )

    def list_comments(self, asset_id: str, include_deleted: bool = False) -> list[CommentView]:
        """Server order first (by sequence), then this client's not-yet-sent comments."""
        query = sa.select(sync_comment).where(sync_comment.c.asset_id == asset_id)
        if not include_deleted:
            query = query.where(sync_comment.c.deleted == sa.false())
        query = query.order_by(
            sync_comment.c.first_seq.is_(None), sync_comment.c.first_seq, sync_comment.c.local_order
        )
        with self.engine.connect() as connection:
            return [self._comment_view(row) for row in connection.execute(query)]

    def task(self, task_id: str) -> TaskView:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(sync_task).where(sync_task.c.id == task_id)).one_or_none()
        if row is None:
            raise KeyError(f"No task {task_id}")
        return self._task_view(row)

    @staticmethod
    def _task_view(row: Any) -> TaskView:
        conflicts = [FieldConflict.model_validate(c) for c in _load(row.conflicts) or []]
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

    def list_tasks(self, project_id: int, assignee: int | None = None) -> list[TaskView]:
        query = sa.select(sync_task).where(sync_task.c.project_id == project_id)
        if assignee is not None:
            query = query.where(sync_task.c.assignee == assignee)
        query = query.order_by(sync_task.c.created_at, sync_task.c.id)
        with self.engine.connect() as connection:
            return [self._task_view(row) for row in connection.execute(query)]

    def notifications(self, unread_only: bool = False) -> list[NotificationView]:
        query = sa.select(sync_notification).order_by(sync_notification.c.id)
        if unread_only:
            query = query.where(sync_notification.c.read == sa.false())
        with self.engine.connect() as connection:
            return [NotificationView(**row._asdict()) for row in connection.execute(query)]

    def mark_notifications_read(self, ids: list[int]) -> None:
        with self._lock, self.engine.begin() as connection:
            connection.execute(
                sync_notification.update().where(sync_notification.c.id.in_(ids)).values(read=True)
            )

    # -- outbox ----------------------------------------------------------------------------------
    def pending_changes(self, after_position: int = 0, limit: int = 100) -> list[OutboxEntry]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(sync_outbox)
                .where(sync_outbox.c.state == "pending", sync_outbox.c.position > after_position)
                .order_by(sync_outbox.c.position)
                .limit(limit)
            ).all()
        return [
            OutboxEntry(
                position=r.position,
                change_id=r.change_id,
                project_id=r.project_id,
                record_kind=r.record_kind,
                record_id=r.record_id,
                message=r.message,
            )
            for r in rows
        ]

    def pending_count(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    sa.select(sa.func.count()).where(sync_outbox.c.state == "pending")
                ).scalar_one()
            )

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

    def mark_acked(self, change_id: str, seq: int) -> OutboxEntry | None:
        """The server accepted the change. The entry stays (state ``acked``, still shown on the row)
        until its event arrives with the server's snapshot, so the row never flickers back."""
        with self._lock, self.engine.begin() as connection:
            row = connection.execute(
                sa.select(sync_outbox).where(sync_outbox.c.change_id == change_id)
            ).one_or_none()
            if row is None:
                return None
            connection.execute(
                sync_outbox.update().where(sync_outbox.c.change_id == change_id).values(state="acked")
            )
            table = _TABLES[row.record_kind]
            connection.execute(
                table.update().where(table.c.id == row.record_id, table.c.seq.is_(None)).values(seq=seq)
            )
        return OutboxEntry(
            row.position, row.change_id, row.project_id, row.record_kind, row.record_id, row.message
        )

    def mark_rejected(self, change_id: str, code: str, message: str) -> OutboxEntry | None:
        with self._lock, self.engine.begin() as connection:
            row = connection.execute(
                sa.select(sync_outbox).where(sync_outbox.c.change_id == change_id)
            ).one_or_none()
            if row is None:
                return None
            connection.execute(
                sync_outbox.update()
                .where(sync_outbox.c.change_id == change_id)
                .values(state="rejected", error_code=code, error_message=message)
            )
            me = self._meta(connection, "user_id")
            self._rebuild(connection, row.record_kind, row.record_id, int(me or 0))
        return OutboxEntry(
            row.position, row.change_id, row.project_id, row.record_kind, row.record_id, row.message
        )

    # -- remote events -------------------------------------------------------------------------
    def cursor(self, project_id: int) -> int:
        with self.engine.connect() as connection:
            value = connection.execute(
                sa.select(sync_cursor.c.last_seq).where(sync_cursor.c.project_id == project_id)
            ).scalar_one_or_none()
        return int(value or 0)

    def reset_cursor(self, project_id: int) -> None:
        with self._lock, self.engine.begin() as connection:
            connection.execute(sync_cursor.delete().where(sync_cursor.c.project_id == project_id))

    def apply_events(self, project_id: int, events: list[Event]) -> AppliedEvents:
        """Store events idempotently (older than the cursor: skipped) and advance the cursor."""
        with self._lock, self.engine.begin() as connection:
            cursor = int(
                connection.execute(
                    sa.select(sync_cursor.c.last_seq).where(sync_cursor.c.project_id == project_id)
                ).scalar_one_or_none()
                or 0
            )
            result = AppliedEvents(project_id=project_id, last_seq=cursor)
            fresh = [e for e in events if e.seq > cursor]
            if not fresh:
                return result
            expected = cursor + 1
            for event in fresh:
                if event.seq != expected:
                    raise GapError(f"Expected event {expected} of project {project_id}, got {event.seq}")
                expected += 1
            me = int(self._meta(connection, "user_id") or 0)
            outbox = connection.execute(
                sa.select(sync_outbox.c.record_kind, sync_outbox.c.record_id, sync_outbox.c.change_id).where(
                    sync_outbox.c.project_id == project_id
                )
            ).all()
            # Every outbox change id (a record may have several queued changes), and the records
            # that have any: those are rebuilt as snapshot + what is still pending.
            outbox_ids = {r.change_id for r in outbox}
            pending = {(r.record_kind, r.record_id) for r in outbox}
            fast: dict[str, list[dict[str, Any]]] = {}
            for event in fresh:
                key = (event.kind, str(event.record["id"]))
                if event.change_id in outbox_ids:
                    result.acked_change_ids.append(event.change_id)
                if key in pending:
                    self._store_snapshot(connection, event)
                    if event.change_id in outbox_ids:
                        connection.execute(
                            sync_outbox.delete().where(sync_outbox.c.change_id == event.change_id)
                        )
                    self._rebuild(connection, key[0], key[1], me)
                else:
                    values = _row_values(event.kind, event.record)
                    values.update(
                        sync_state="synced",
                        seq=event.seq,
                        first_seq=event.seq,
                        server_json=json.dumps(event.record),
                    )
                    if event.kind == "task":
                        values["conflicts"] = _dump([c.model_dump() for c in event.conflicts])
                    fast.setdefault(event.kind, []).append(values)
                result.changed.setdefault(event.kind, []).append(key[1])
                if event.conflicts and event.kind == "task":
                    result.conflicts.append((key[1], event))
                for target in event.notify:
                    if target.user == me and target.user != event.actor:
                        result.notifications.append(self._notify(connection, event, target.kind))
            for kind, rows in fast.items():
                self._bulk_upsert(connection, kind, rows)
            self._set_cursor(connection, project_id, fresh[-1].seq)
            result.last_seq = fresh[-1].seq
        return result

    @staticmethod
    def _bulk_upsert(connection: Connection, kind: str, rows: list[dict[str, Any]]) -> None:
        table = _TABLES[kind]
        statement = sqlite_insert(table)
        updates: dict[str, Any] = {name: statement.excluded[name] for name in rows[0] if name != "id"}
        updates["first_seq"] = sa.func.coalesce(table.c.first_seq, statement.excluded.seq)
        connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updates), rows)

    @staticmethod
    def _set_cursor(connection: Connection, project_id: int, seq: int) -> None:
        statement = sqlite_insert(sync_cursor).values(project_id=project_id, last_seq=seq)
        connection.execute(
            statement.on_conflict_do_update(index_elements=["project_id"], set_={"last_seq": seq})
        )

    def _notify(self, connection: Connection, event: Event, kind: str) -> NotificationView:
        values: dict[str, Any] = {
            "project_id": event.project,
            "seq": event.seq,
            "kind": kind,
            "actor": event.actor,
            "record_kind": event.kind,
            "record_id": str(event.record["id"]),
            "created_at": event.at,
            "read": False,
        }
        statement = sqlite_insert(sync_notification).values(**values).on_conflict_do_nothing()
        result = connection.execute(statement)
        return NotificationView(id=int(result.lastrowid or 0), **values)

    def _store_snapshot(self, connection: Connection, event: Event) -> None:
        table = _TABLES[event.kind]
        values = _row_values(event.kind, event.record)
        extra: dict[str, Any] = {"seq": event.seq, "server_json": json.dumps(event.record)}
        if event.kind == "task":
            extra["conflicts"] = _dump([c.model_dump() for c in event.conflicts])
        statement = sqlite_insert(table).values(**values, **extra, first_seq=event.seq, sync_state="synced")
        updates = {**extra, "first_seq": sa.func.coalesce(table.c.first_seq, event.seq)}
        connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updates))

    # -- the row = snapshot + pending changes ----------------------------------------------------
    def _rebuild(self, connection: Connection, kind: str, record_id: str, me: int) -> None:
        table = _TABLES[kind]
        row = connection.execute(
            sa.select(table.c.server_json, table.c.local_order).where(table.c.id == record_id)
        ).one_or_none()
        state: dict[str, Any] | None = _load(row.server_json) if row is not None else None
        entries = connection.execute(
            sa.select(sync_outbox.c.message, sync_outbox.c.state, sync_outbox.c.created_at)
            .where(sync_outbox.c.record_kind == kind, sync_outbox.c.record_id == record_id)
            .order_by(sync_outbox.c.position)
        ).all()
        pending = [e for e in entries if e.state in ("pending", "acked")]
        for entry in pending:
            state = _apply_local(state, CHANGE.validate_json(entry.message), me, entry.created_at)
        if state is None:
            if row is not None:
                connection.execute(
                    table.update().where(table.c.id == record_id).values(sync_state="rejected")
                )
            return
        values = _row_values(kind, state)
        values["sync_state"] = "pending" if pending else "synced"
        if row is None:
            order = connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(table.c.local_order), 0) + 1)
            ).scalar_one()
            connection.execute(table.insert().values(**values, local_order=order))
        else:
            connection.execute(table.update().where(table.c.id == record_id).values(**values))


def _apply_local(state: dict[str, Any] | None, change: Change, me: int, at: str) -> dict[str, Any] | None:
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
