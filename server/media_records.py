"""The media store's index in the database: which files exist, which projects reference them, quotas.

A publication is recorded in one transaction that checks the quota with the project's usage read
inside it, so two uploads finishing together cannot both slip under the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from core.sync.media_protocol import MediaItem
from server.admin import AdminError, utc_now_iso
from server.db import media_blobs, media_quotas, media_refs, memberships, projects
from server.store import DomainError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    chunk_bytes: int


def _usage(connection: Connection, project_id: int) -> int:
    used = connection.execute(
        sa.select(sa.func.coalesce(sa.func.sum(media_blobs.c.size), 0))
        .join(media_refs, media_refs.c.sha256 == media_blobs.c.sha256)
        .where(media_refs.c.project_id == project_id)
    ).scalar_one()
    return int(used)


def _quota(connection: Connection, project_id: int, default: int) -> int:
    found = connection.execute(
        sa.select(media_quotas.c.quota_bytes).where(media_quotas.c.project_id == project_id)
    ).scalar_one_or_none()
    return default if found is None else int(found)


def usage_and_quota(engine: Engine, project_id: int, default_quota: int) -> tuple[int, int]:
    with engine.connect() as connection:
        return _usage(connection, project_id), _quota(connection, project_id, default_quota)


def is_member(engine: Engine, user_id: int, project_id: int) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(memberships.c.user_id).where(
                memberships.c.project_id == project_id, memberships.c.user_id == user_id
            )
        ).first()
    return found is not None


def referenced(engine: Engine, project_id: int, sha256: str) -> BlobInfo | None:
    """The file, when ``project_id`` references it (a project sees only what was published to it)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(media_blobs)
            .join(media_refs, media_refs.c.sha256 == media_blobs.c.sha256)
            .where(media_refs.c.project_id == project_id, media_refs.c.sha256 == sha256)
        ).one_or_none()
    return None if row is None else BlobInfo(row.sha256, int(row.size), int(row.chunk_bytes))


def quota_refusal(used: int, quota: int, adding: int) -> DomainError | None:
    if used + adding <= quota:
        return None
    return DomainError(
        "quota_exceeded",
        f"This file ({_mib(adding)}) would take the project past its media quota: {_mib(used)} of "
        f"{_mib(quota)} used. Ask an administrator to raise it or remove media.",
    )


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def record_publication(
    engine: Engine, project_id: int, user_id: int, blob: BlobInfo, name: str, default_quota: int
) -> tuple[int, int]:
    """Reference ``blob`` from the project (registering it once); returns (usage, quota) after.
    Refuses with ``quota_exceeded`` before writing anything when the project would go past its quota."""
    with engine.begin() as connection:
        already = connection.execute(
            sa.select(media_refs.c.sha256).where(
                media_refs.c.project_id == project_id, media_refs.c.sha256 == blob.sha256
            )
        ).first()
        used, quota = _usage(connection, project_id), _quota(connection, project_id, default_quota)
        if already is not None:
            return used, quota
        problem = quota_refusal(used, quota, blob.size)
        if problem is not None:
            raise problem
        known = connection.execute(
            sa.select(media_blobs.c.sha256).where(media_blobs.c.sha256 == blob.sha256)
        ).first()
        now = utc_now_iso()
        if known is None:
            connection.execute(
                media_blobs.insert().values(
                    sha256=blob.sha256, size=blob.size, chunk_bytes=blob.chunk_bytes, created_at=now
                )
            )
        connection.execute(
            media_refs.insert().values(
                project_id=project_id, sha256=blob.sha256, name=name, published_by=user_id, published_at=now
            )
        )
    return used + blob.size, quota


def known_blob(engine: Engine, sha256: str) -> BlobInfo | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(media_blobs).where(media_blobs.c.sha256 == sha256)).one_or_none()
    return None if row is None else BlobInfo(row.sha256, int(row.size), int(row.chunk_bytes))


def list_media(engine: Engine, project_id: int) -> list[MediaItem]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(media_refs, media_blobs.c.size)
            .join(media_blobs, media_blobs.c.sha256 == media_refs.c.sha256)
            .where(media_refs.c.project_id == project_id)
            .order_by(media_refs.c.published_at, media_refs.c.sha256)
        ).all()
    return [
        MediaItem(
            sha256=r.sha256,
            size=int(r.size),
            name=r.name,
            published_by=r.published_by,
            published_at=r.published_at,
        )
        for r in rows
    ]


def set_quota(engine: Engine, project: str, quota_bytes: int | None) -> None:
    """``stratopipe-server project quota``: a project's own quota, or None for the server's default."""
    with engine.begin() as connection:
        project_id = connection.execute(
            sa.select(projects.c.id).where(projects.c.name == project)
        ).scalar_one_or_none()
        if project_id is None:
            raise AdminError(f"No project named {project!r}")
        connection.execute(media_quotas.delete().where(media_quotas.c.project_id == project_id))
        if quota_bytes is not None:
            connection.execute(media_quotas.insert().values(project_id=project_id, quota_bytes=quota_bytes))
