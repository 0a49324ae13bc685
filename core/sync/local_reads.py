"""Reading the ``sync_*`` tables: synced records as views, in the order the UI lists them.

``LocalStore`` is built on this; reads take no lock (SQLite's WAL lets them run beside its writer).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import sqlalchemy as sa

from core.sync.local_records import (
    CommentView,
    NotificationView,
    PlaylistView,
    TaskView,
    comment_view,
    playlist_view,
    task_view,
)
from core.sync.local_tables import (
    sync_asset,
    sync_comment,
    sync_member,
    sync_notification,
    sync_playlist,
    sync_project,
    sync_task,
    sync_user,
)
from core.sync.protocol import ProjectInfo, UserInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

# Fixed namespace: the same (project, content hash) gives the same asset id on every client.
ASSET_NAMESPACE = uuid.UUID("5b0e7f7e-3c1a-4d0e-9a57-2f1f6f4c8a10")


def sync_asset_id(project_id: int, content_hash: str) -> str:
    """The id a file's content is published under in a server project, the same on every client."""
    return str(uuid.uuid5(ASSET_NAMESPACE, f"{project_id}:{content_hash}"))


def find_asset_in(connection: Connection, project_id: int, content_hash: str) -> str | None:
    """``LocalReads.find_asset`` inside the caller's transaction."""
    if not content_hash:
        return None
    query = (
        sa.select(sync_asset.c.id)
        .where(sync_asset.c.project_id == project_id, sync_asset.c.content_hash == content_hash)
        .order_by(sync_asset.c.first_seq.is_(None), sync_asset.c.first_seq, sync_asset.c.local_order)
        .limit(1)
    )
    found = connection.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


class LocalReads:
    engine: Engine

    def projects(self, *, include_deleted: bool = False) -> list[ProjectInfo]:
        """The server projects this user belongs to, as of the last sign-in; deleted ones only when asked."""
        query = sa.select(sync_project).order_by(sync_project.c.id)
        if not include_deleted:
            query = query.where(sync_project.c.deleted.is_(False))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            ProjectInfo(id=r.id, name=r.name, head_seq=r.head_seq, owner=r.owner, deleted=bool(r.deleted))
            for r in rows
        ]

    def users(self, project_id: int | None = None) -> list[UserInfo]:
        query = sa.select(sync_user).order_by(sync_user.c.id)
        if project_id is not None:
            query = query.join(sync_member, sync_member.c.user_id == sync_user.c.id).where(
                sync_member.c.project_id == project_id
            )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [UserInfo(id=r.id, name=r.name, display_name=r.display_name, role=r.role) for r in rows]

    # -- reads ---------------------------------------------------------------------------------
    def find_asset(self, project_id: int, content_hash: str) -> str | None:
        """The synced asset with this content in the project, oldest first (local or from others):
        an asset someone published under another id is found too."""
        with self.engine.connect() as connection:
            return find_asset_in(connection, project_id, content_hash)

    def asset_key(self, project_id: int, content_hash: str) -> str:
        """The id comments of this content are (or will be) filed under: no write, for listing."""
        return self.find_asset(project_id, content_hash) or sync_asset_id(project_id, content_hash)

    def asset_content_hash(self, asset_id: str) -> tuple[int, str] | None:
        """(project, content hash) of a synced asset, to find the catalog asset it stands for."""
        query = sa.select(sync_asset.c.project_id, sync_asset.c.content_hash).where(
            sync_asset.c.id == asset_id
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else (int(row[0]), str(row[1]))

    def asset_review(self, asset_id: str) -> tuple[str, str] | None:
        """(review status, reason) of a synced asset as this client shows it."""
        query = sa.select(sync_asset.c.review_status, sync_asset.c.review_reason).where(
            sync_asset.c.id == asset_id
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else (str(row[0]), str(row[1]))

    def review_statuses(self, project_ids: list[int]) -> dict[str, str]:
        """Content hash -> review status of the synced assets of these projects, for views that show
        every asset at once and must not query per item."""
        query = sa.select(sync_asset.c.content_hash, sync_asset.c.review_status).where(
            sync_asset.c.project_id.in_(project_ids), sync_asset.c.content_hash != ""
        )
        with self.engine.connect() as connection:
            return {str(row[0]): str(row[1]) for row in connection.execute(query)}

    def asset_name(self, asset_id: str) -> str:
        with self.engine.connect() as connection:
            name = connection.execute(
                sa.select(sync_asset.c.name).where(sync_asset.c.id == asset_id)
            ).scalar_one_or_none()
        return "" if name is None else str(name)

    def comment(self, comment_id: str) -> CommentView:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(sync_comment).where(sync_comment.c.id == comment_id)
            ).one_or_none()
        if row is None:
            raise KeyError(f"No comment {comment_id}")
        return comment_view(row)

    def list_comments(self, asset_id: str, include_deleted: bool = False) -> list[CommentView]:
        """Server order first (by sequence), then this client's not-yet-sent comments."""
        query = sa.select(sync_comment).where(sync_comment.c.asset_id == asset_id)
        if not include_deleted:
            query = query.where(sync_comment.c.deleted == sa.false())
        query = query.order_by(
            sync_comment.c.first_seq.is_(None), sync_comment.c.first_seq, sync_comment.c.local_order
        )
        with self.engine.connect() as connection:
            return [comment_view(row) for row in connection.execute(query)]

    def task(self, task_id: str) -> TaskView:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(sync_task).where(sync_task.c.id == task_id)).one_or_none()
        if row is None:
            raise KeyError(f"No task {task_id}")
        return task_view(row)

    def list_tasks(self, project_id: int, assignee: int | None = None) -> list[TaskView]:
        query = sa.select(sync_task).where(sync_task.c.project_id == project_id)
        if assignee is not None:
            query = query.where(sync_task.c.assignee == assignee)
        query = query.order_by(sync_task.c.created_at, sync_task.c.id)
        with self.engine.connect() as connection:
            return [task_view(row) for row in connection.execute(query)]

    def playlist(self, playlist_id: str) -> PlaylistView:
        with self.engine.connect() as connection:
            row = connection.execute(
                sa.select(sync_playlist).where(sync_playlist.c.id == playlist_id)
            ).one_or_none()
        if row is None:
            raise KeyError(f"No playlist {playlist_id}")
        return playlist_view(row)

    def list_playlists(self, project_id: int, include_deleted: bool = False) -> list[PlaylistView]:
        """A project's playlists by name; a deleted one is a tombstone, listed only when asked."""
        query = sa.select(sync_playlist).where(sync_playlist.c.project_id == project_id)
        if not include_deleted:
            query = query.where(sync_playlist.c.deleted == sa.false())
        query = query.order_by(sync_playlist.c.name, sync_playlist.c.id)
        with self.engine.connect() as connection:
            return [playlist_view(row) for row in connection.execute(query)]

    def notifications(self, unread_only: bool = False) -> list[NotificationView]:
        query = sa.select(sync_notification).order_by(sync_notification.c.id)
        if unread_only:
            query = query.where(sync_notification.c.read == sa.false())
        with self.engine.connect() as connection:
            return [NotificationView(**row._asdict()) for row in connection.execute(query)]
