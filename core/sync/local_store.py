"""The client's offline truth for synced records, kept in the local catalog SQLite file.

Tables are prefixed ``sync_`` and live on their own MetaData. What a row shows is always
``last server snapshot`` + ``pending outbox changes`` applied in order: a local write changes the row and
queues the change in one transaction; a remote event replaces the snapshot and re-applies whatever is
still pending; a rejected change is dropped and the row rebuilt, so the UI never keeps a value the
server refused. The cursor of a project moves in the same transaction as the events it covers.

Every local write of comments, tasks and assets goes through this store, whether or not the server is
reachable; the role rules (``core.sync.roles``) are checked here, before a change is queued. Listeners
hear of each write once it is committed: the running ``SyncClient`` wakes its outbox flush, the Qt
bridge tells the UI.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.sync import local_outbox, local_private
from core.sync.local_events import apply_events, read_cursor, rebuild
from core.sync.local_outbox import owner_of
from core.sync.local_private import LOCAL_AUTHOR, PRIVATE_OWNER, is_private, private_project, show_private
from core.sync.local_reads import LocalReads, sync_asset_id
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
from core.sync.local_review import linked_task_moves
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
from core.sync.protocol import (
    AddCommentChange,
    Change,
    CreateTaskChange,
    DeleteAssetChange,
    DeleteCommentChange,
    DeletePlaylistChange,
    DeleteTaskChange,
    EditCommentChange,
    Event,
    ProjectInfo,
    SavePlaylistChange,
    SetReviewChange,
    TaskPatch,
    UpdateTaskChange,
    UpsertAssetChange,
    UserInfo,
)
from core.sync.roles import change_refusal, playlist_refusal

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine

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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _new_id() -> str:
    return str(uuid.uuid4())


def _tune(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # 16 MiB of page cache (the default is 2 MiB): records and outbox entries are keyed by random UUIDs,
    # so a flush touches pages all over a large catalog's indexes.
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()


class LocalStore(LocalReads):
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
    def _meta(self, connection: Connection, key: str) -> str | None:
        value = connection.execute(
            sa.select(sync_meta.c.value).where(sync_meta.c.key == key)
        ).scalar_one_or_none()
        return None if value is None else str(value)

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
                known_fields = {"name": project.name, "head_seq": project.head_seq, "owner": project.owner}
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

    def _identity(self, connection: Connection) -> tuple[int, str]:
        """(my user id, the owner my changes are written under); raises before the first sign-in."""
        me = self._meta(connection, "user_id")
        if me is None:
            raise SyncNotReadyError("Sign in to the server once before working offline")
        return int(me), owner_of(self._meta(connection, "server_id"), me)

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

    def _author(self, connection: Connection) -> int:
        me = self._meta(connection, "user_id")
        return LOCAL_AUTHOR if me is None else int(me)

    def _role(self, connection: Connection, user_id: int) -> str | None:
        role = connection.execute(
            sa.select(sync_user.c.role).where(sync_user.c.id == user_id)
        ).scalar_one_or_none()
        return None if role is None else str(role)

    def may(self, change_type: str) -> bool:
        """Whether my role allows changes of ``change_type`` (a protocol change type, "create_task")."""
        with self.engine.connect() as connection:
            me = self._meta(connection, "user_id")
            role = self._role(connection, int(me)) if me is not None else None
        return change_refusal(role, change_type) is None

    # -- local writes (offline first) ----------------------------------------------------------
    def _queue(
        self,
        change: Change,
        kind: str,
        record_id: str,
        follow_ups: Callable[[Connection], list[UpdateTaskChange]] | None = None,
    ) -> None:
        """Store the change in the outbox and rebuild the row it touches, in one transaction; then
        tell the listeners. ``follow_ups`` are task changes that go with it, read in that transaction
        (a sign-off's linked tasks). A change in a private project (``core.sync.local_private``) needs
        no sign-in and no role: it stays on this machine, and the server judges it once it is shared."""
        private = is_private(change.project)
        with self._lock, self.engine.begin() as connection:
            if private:
                me, owner = self._author(connection), PRIVATE_OWNER
            else:
                me, owner = self._identity(connection)
                refusal = change_refusal(self._role(connection, me), change.type)
                if refusal is not None:
                    raise PermissionError(refusal)
            queued: list[tuple[Change, str, str]] = [(change, kind, record_id)]
            if follow_ups is not None:
                queued += [(task, "task", task.task_id) for task in follow_ups(connection)]
            for each, each_kind, each_id in queued:
                local_outbox.enqueue(connection, each, each_kind, each_id, owner, _now())
                if private:
                    show_private(connection, each_kind, each_id, me)
                else:
                    rebuild(connection, each_kind, each_id, me, owner)
        for told in sorted({each_kind for _each, each_kind, _id in queued}):
            self._tell_listeners(told)

    def _tell_listeners(self, kind: str) -> None:
        for listener in self._listeners:
            try:
                listener(kind)
            except Exception:  # the write is committed; a listener's failure must not undo it for the UI
                log.exception("event=local_change_listener_failed kind=%s", kind)

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

    def ensure_asset(
        self,
        project_id: int,
        name: str,
        kind: str,
        content_hash: str,
        metadata_: dict[str, Any] | None = None,
        thumbnail_b64: str | None = None,
    ) -> str:
        """The synced asset for this content, published first (under ``sync_asset_id``) unless it is."""
        existing = self.find_asset(project_id, content_hash)
        if existing is not None:
            return existing
        try:
            return self.publish_asset(
                project_id,
                name[:200],
                kind[:32],
                content_hash,
                metadata_,
                thumbnail_b64,
                sync_asset_id(project_id, content_hash),
            )
        except PermissionError as exc:  # said for what the user was doing: commenting on this asset
            raise PermissionError(
                "This asset is not shared on the server yet; an artist has to share it before "
                "clients can comment on it."
            ) from exc

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

    def delete_task(self, task_id: str) -> None:
        """Queue the task's deletion; it stays shown (pending) until the server's tombstone removes it."""
        change = self._validated(DeleteTaskChange, project=self.task(task_id).project_id, task_id=task_id)
        self._queue(change, "task", task_id)

    def delete_asset(self, asset_id: str) -> None:
        """Queue the shared asset's deletion (with its notes and tasks) from its server project; the
        catalog entry and the file stay on this machine."""
        found = self.asset_content_hash(asset_id)
        if found is None:
            raise KeyError(f"No asset {asset_id}")
        change = self._validated(DeleteAssetChange, project=found[0], asset_id=asset_id)
        self._queue(change, "asset", asset_id)

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

    def set_review(self, asset_id: str, status: str, reason: str = "") -> None:
        """Sign off the asset's content as this client has it (approved, changes requested with a
        reason, or back to pending); the linked tasks move with it (``core.sync.local_review``)."""
        found = self.asset_content_hash(asset_id)
        if found is None:
            raise KeyError(f"No asset {asset_id}")
        project_id, content_hash = found
        if is_private(project_id):
            raise PermissionError("Link the project to a server to sign off its assets")
        change = self._validated(
            SetReviewChange,
            project=project_id,
            asset_id=asset_id,
            content_hash=content_hash,
            status=status,
            reason=reason,
        )
        self._queue(change, "asset", asset_id, partial(linked_task_moves, review=change, new_id=_new_id))

    def save_playlist(
        self, project_id: int, name: str, items: list[str], playlist_id: str | None = None
    ) -> PlaylistView:
        """Create a playlist (no ``playlist_id``) or replace one's name and items (content hashes, in
        play order). Someone else's playlist is refused here as the server would refuse it."""
        if playlist_id is not None:
            self._check_playlist_owner(playlist_id)
        playlist_id = playlist_id or _new_id()
        change = self._validated(
            SavePlaylistChange, project=project_id, playlist_id=playlist_id, name=name.strip(), items=items
        )
        self._queue(change, "playlist", playlist_id)
        return self.playlist(playlist_id)

    def delete_playlist(self, playlist_id: str) -> None:
        """Delete a playlist: a tombstone, so the deletion reaches every client."""
        current = self._check_playlist_owner(playlist_id)
        change = self._validated(DeletePlaylistChange, project=current.project_id, playlist_id=playlist_id)
        self._queue(change, "playlist", playlist_id)

    def _check_playlist_owner(self, playlist_id: str) -> PlaylistView:
        current = self.playlist(playlist_id)
        if current.deleted:
            raise KeyError(f"Playlist {current.name!r} was deleted")
        if not is_private(current.project_id):
            with self.engine.connect() as connection:
                me = self._author(connection)
                refusal = playlist_refusal(self._role(connection, me), current.author == me)
            if refusal is not None:
                raise PermissionError(refusal)
        return current

    def share_private_notes(self, local_project_id: int, server_project_id: int) -> int:
        """The local project is now linked to ``server_project_id``: its private notes enter the
        signed-in user's outbox, once (a second call finds none). Returns how many changes."""
        with self._lock, self.engine.begin() as connection:
            me, owner = self._identity(connection)
            shared, kinds = local_private.share(connection, local_project_id, server_project_id, me, owner)
        for kind in sorted(kinds):
            self._tell_listeners(kind)
        return shared

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
