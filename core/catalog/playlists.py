"""Playlists: named, ordered review sessions of one project's assets, played back to back.

Items are (playlist, asset, position); an asset may appear more than once (a shot reviewed again at
the end). Reordering rewrites the positions in one transaction, so a reader never sees two items in
one place. Deleting an asset removes its items (cascade); deleting a playlist removes all of its own.
Sharing with the project is a synced record of its own, by content hash
(``core.review.shared_playlists``, ``core.sync``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.catalog.errors import CatalogError
from core.catalog.queries import asset_t, records_from_rows
from core.catalog.tables import Playlist, PlaylistItem

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Engine

    from core.catalog.records import AssetRecord

playlist_t = Playlist.__table__  # type: ignore[attr-defined]
playlist_item_t = PlaylistItem.__table__  # type: ignore[attr-defined]

__all__ = ["PlaylistRecord", "PlaylistStore"]


@dataclass(frozen=True)
class PlaylistRecord:
    id: int
    project_id: int
    name: str
    item_count: int
    created_at: float
    updated_at: float


class PlaylistStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, project_id: int, name: str, asset_ids: Sequence[int] = ()) -> PlaylistRecord:
        name = name.strip()
        if not name:
            raise CatalogError("A playlist needs a name")
        now = time.time()
        try:
            with self._engine.begin() as conn:
                values = {"project_id": project_id, "name": name, "created_at": now, "updated_at": now}
                created = insert(playlist_t).values(**values).returning(playlist_t.c.id)
                playlist_id = int(conn.execute(created).scalar_one())
                self._check_assets(conn, project_id, asset_ids)
                _write_items(conn, playlist_id, asset_ids)
        except IntegrityError as exc:
            raise CatalogError(f"A playlist named {name!r} already exists in this project") from exc
        found = self.get(int(playlist_id))
        assert found is not None
        return found

    def get(self, playlist_id: int) -> PlaylistRecord | None:
        with self._engine.connect() as conn:
            rows = conn.execute(_listing().where(playlist_t.c.id == playlist_id)).all()
        return _record(rows[0]) if rows else None

    def by_name(self, project_id: int, name: str) -> PlaylistRecord | None:
        with self._engine.connect() as conn:
            rows = conn.execute(
                _listing().where(playlist_t.c.project_id == project_id, playlist_t.c.name == name)
            ).all()
        return _record(rows[0]) if rows else None

    def of_project(self, project_id: int) -> list[PlaylistRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                _listing().where(playlist_t.c.project_id == project_id).order_by(playlist_t.c.name)
            ).all()
        return [_record(row) for row in rows]

    def items(self, playlist_id: int) -> list[AssetRecord]:
        """The playlist's assets in play order (an asset listed twice appears twice)."""
        with self._engine.connect() as conn:
            order = [
                row.asset_id
                for row in conn.execute(
                    select(playlist_item_t.c.asset_id)
                    .where(playlist_item_t.c.playlist_id == playlist_id)
                    .order_by(playlist_item_t.c.position, playlist_item_t.c.id)
                )
            ]
            if not order:
                return []
            rows = list(conn.execute(select(asset_t).where(asset_t.c.id.in_(set(order)))).all())
            by_id = {record.id: record for record in records_from_rows(conn, rows)}
        return [by_id[asset_id] for asset_id in order if asset_id in by_id]

    def set_items(self, playlist_id: int, asset_ids: Sequence[int]) -> None:
        """Replace the items with ``asset_ids`` in this order (add, remove and reorder are all this)."""
        with self._engine.begin() as conn:
            project_id = conn.execute(
                select(playlist_t.c.project_id).where(playlist_t.c.id == playlist_id)
            ).scalar()
            if project_id is None:
                raise CatalogError("That playlist no longer exists")
            self._check_assets(conn, int(project_id), asset_ids)
            conn.execute(delete(playlist_item_t).where(playlist_item_t.c.playlist_id == playlist_id))
            _write_items(conn, playlist_id, asset_ids)
            conn.execute(
                update(playlist_t).where(playlist_t.c.id == playlist_id).values(updated_at=time.time())
            )

    def add_items(self, playlist_id: int, asset_ids: Sequence[int]) -> None:
        current = [record.id for record in self.items(playlist_id)]
        self.set_items(playlist_id, [*current, *asset_ids])

    def rename(self, playlist_id: int, name: str) -> None:
        name = name.strip()
        if not name:
            raise CatalogError("A playlist needs a name")
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    update(playlist_t)
                    .where(playlist_t.c.id == playlist_id)
                    .values(name=name, updated_at=time.time())
                )
        except IntegrityError as exc:
            raise CatalogError(f"A playlist named {name!r} already exists in this project") from exc

    def delete(self, playlist_id: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(playlist_t).where(playlist_t.c.id == playlist_id))

    @staticmethod
    def _check_assets(conn: Any, project_id: int, asset_ids: Sequence[int]) -> None:
        if not asset_ids:
            return
        found = conn.execute(
            select(func.count()).where(asset_t.c.id.in_(set(asset_ids)), asset_t.c.project_id == project_id)
        ).scalar()
        if int(found or 0) != len(set(asset_ids)):
            raise CatalogError("A playlist holds assets of its own project only")


def _write_items(conn: Any, playlist_id: int, asset_ids: Sequence[int]) -> None:
    if asset_ids:
        conn.execute(
            insert(playlist_item_t),
            [
                {"playlist_id": playlist_id, "asset_id": asset_id, "position": position}
                for position, asset_id in enumerate(asset_ids)
            ],
        )


def _listing() -> Any:
    count = (
        select(func.count())
        .where(playlist_item_t.c.playlist_id == playlist_t.c.id)
        .correlate(playlist_t)
        .scalar_subquery()
    )
    return select(playlist_t, count.label("item_count"))


def _record(row: Any) -> PlaylistRecord:
    return PlaylistRecord(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        item_count=int(row.item_count),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
