"""Local writes, offline first: every comment, task, sign-off, playlist and shared asset the user makes.

A write checks the role rules (``core.sync.roles``), queues its change in the outbox and rebuilds the row
it touches in one transaction, then tells the listeners (``LocalStore.add_listener``). ``LocalStore`` is
built on this; it adds the session, the outbox's life after a write and the server's events.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import ValidationError

from core.sync import local_outbox, local_private
from core.sync.local_events import rebuild
from core.sync.local_outbox import owner_of
from core.sync.local_private import LOCAL_AUTHOR, PRIVATE_OWNER, is_private, show_private
from core.sync.local_reads import LocalReads, sync_asset_id
from core.sync.local_records import (
    CommentView,
    PlaylistView,
    SyncNotReadyError,
    TaskView,
)
from core.sync.local_review import linked_task_moves
from core.sync.local_tables import (
    sync_comment,
    sync_meta,
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
    SavePlaylistChange,
    SetReviewChange,
    TaskPatch,
    UpdateTaskChange,
    UpsertAssetChange,
)
from core.sync.roles import change_refusal, playlist_refusal

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from sqlalchemy.engine import Connection, Engine


log = logging.getLogger(__name__)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _new_id() -> str:
    return str(uuid.uuid4())


class LocalWrites(LocalReads):
    """The user's own changes; needs the engine, the write lock and the listeners of ``LocalStore``."""

    engine: Engine
    _lock: threading.RLock
    _listeners: tuple[Callable[[str], None], ...]

    def _meta(self, connection: Connection, key: str) -> str | None:
        value = connection.execute(
            sa.select(sync_meta.c.value).where(sync_meta.c.key == key)
        ).scalar_one_or_none()
        return None if value is None else str(value)

    def _identity(self, connection: Connection) -> tuple[int, str]:
        """(my user id, the owner my changes are written under); raises before the first sign-in."""
        me = self._meta(connection, "user_id")
        if me is None:
            raise SyncNotReadyError("Sign in to the server once before working offline")
        return int(me), owner_of(self._meta(connection, "server_id"), me)

    def _author(self, connection: Connection) -> int:
        me = self._meta(connection, "user_id")
        return LOCAL_AUTHOR if me is None else int(me)

    def _role(self, connection: Connection, user_id: int) -> str | None:
        role = connection.execute(
            sa.select(sync_user.c.role).where(sync_user.c.id == user_id)
        ).scalar_one_or_none()
        return None if role is None else str(role)

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
                local_outbox.enqueue(connection, each, each_kind, each_id, owner, now_iso())
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
