"""The client's offline truth for synced records, kept in the local catalog SQLite file.

Tables are prefixed ``sync_`` and live on their own MetaData. What a row shows is always
``last server snapshot`` + ``pending outbox changes`` applied in order: a local write changes the row and
queues the change in one transaction; a remote event replaces the snapshot and re-applies whatever is
still pending; a rejected change is dropped and the row rebuilt, so the UI never keeps a value the
server refused. The cursor of a project moves in the same transaction as the events it covers.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.sync.local_events import apply_events, read_cursor, rebuild
from core.sync.local_records import (
    AppliedEvents,
    CommentView,
    GapError,
    NotificationView,
    OutboxEntry,
    SyncNotReadyError,
    TaskView,
    load_json,
)
from core.sync.local_tables import (
    RECORD_TABLES,
    metadata,
    sync_asset,
    sync_comment,
    sync_cursor,
    sync_member,
    sync_meta,
    sync_notification,
    sync_outbox,
    sync_project,
    sync_task,
    sync_user,
)
from core.sync.protocol import (
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

# Re-exported: callers import the store's data types and tables from here.
__all__ = [
    "AppliedEvents",
    "CommentView",
    "GapError",
    "LocalStore",
    "NotificationView",
    "OutboxEntry",
    "SyncNotReadyError",
    "TaskView",
    "metadata",
    "sync_asset",
    "sync_comment",
    "sync_notification",
    "sync_outbox",
    "sync_task",
]


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
            rebuild(connection, kind, record_id, int(me))

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
            annotation=load_json(row.annotation),
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
            table = RECORD_TABLES[row.record_kind]
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
            rebuild(connection, row.record_kind, row.record_id, int(me or 0))
        return OutboxEntry(
            row.position, row.change_id, row.project_id, row.record_kind, row.record_id, row.message
        )

    # -- remote events -------------------------------------------------------------------------
    def cursor(self, project_id: int) -> int:
        with self.engine.connect() as connection:
            return read_cursor(connection, project_id)

    def reset_cursor(self, project_id: int) -> None:
        with self._lock, self.engine.begin() as connection:
            connection.execute(sync_cursor.delete().where(sync_cursor.c.project_id == project_id))

    def apply_events(self, project_id: int, events: list[Event]) -> AppliedEvents:
        """Store events idempotently (older than the cursor: skipped) and advance the cursor."""
        with self._lock, self.engine.begin() as connection:
            me = int(self._meta(connection, "user_id") or 0)
            return apply_events(connection, project_id, events, me)
