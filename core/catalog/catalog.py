"""The local catalog: the client's offline truth.

Thread-safe: every call takes its own connection from the pool. Reads are safe from the UI thread (they are
index range scans of one page). Job products are written by the app's one serialised writer lane (or the
CLI); the artist's own edits (projects, notes, deletes) are single short transactions from the UI thread,
which SQLite's WAL interleaves with the writer. Statements are built in ``core.catalog.queries``; the grid's
pages and counts live in ``core.catalog.paging`` and tags in ``core.catalog.tags``, behind the methods here.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.catalog.curation import CurationStore
from core.catalog.database import create_catalog_engine, migrate
from core.catalog.errors import CatalogError as CatalogError  # re-exported: callers catch it here
from core.catalog.paging import AssetPager
from core.catalog.playlists import PlaylistStore
from core.catalog.queries import artifact_t, asset_t, kind_count_t, project_t, records_from_rows
from core.catalog.records import ArtifactRecord, AssetQuery, AssetRecord, NewAsset, ProjectRecord
from core.catalog.stacks import StackStore, stack_new_assets
from core.catalog.stores import JobStore, NotificationStore
from core.catalog.tags import TagStore

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

log = logging.getLogger(__name__)


class Catalog:
    def __init__(self, db_file: Path, *, engine: Engine | None = None) -> None:
        self.db_file = db_file
        self.engine = engine or create_catalog_engine(db_file)
        migrate(self.engine)
        self.jobs = JobStore(self.engine)
        self.notifications = NotificationStore(self.engine)
        self.curation = CurationStore(self.engine)
        self.stacks = StackStore(self.engine)
        self.playlists = PlaylistStore(self.engine)
        self._tags = TagStore(self.engine)
        self._pager = AssetPager(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # ---- projects -------------------------------------------------------------------------------

    def create_project(self, name: str, description: str = "") -> ProjectRecord:
        name = name.strip()
        if not name:
            raise CatalogError("A project needs a name")
        now = time.time()
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    insert(project_t).values(
                        name=name, description=description, created_at=now, updated_at=now
                    )
                ).inserted_primary_key
        except IntegrityError:
            raise CatalogError(f"A project named {name!r} already exists") from None
        assert new_id is not None
        return ProjectRecord(int(new_id[0]), name, description, now, 0)

    def ensure_project(self, name: str) -> ProjectRecord:
        existing = self.project_by_name(name)
        if existing is not None:
            return existing
        try:
            return self.create_project(name)
        except CatalogError:
            # Another process (a second ingest of the same folder) created it between the read and
            # the insert: the project exists now, which is all the caller asked for.
            created = self.project_by_name(name)
            if created is None:
                raise
            return created

    def project_by_name(self, name: str) -> ProjectRecord | None:
        return next((p for p in self.list_projects() if p.name == name.strip()), None)

    def project(self, project_id: int) -> ProjectRecord | None:
        return next((p for p in self.list_projects() if p.id == project_id), None)

    def list_projects(self) -> list[ProjectRecord]:
        counts = (
            select(kind_count_t.c.project_id, func.sum(kind_count_t.c.n).label("n"))
            .group_by(kind_count_t.c.project_id)
            .subquery()
        )
        query = (
            select(project_t, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.project_id == project_t.c.id)
            .order_by(project_t.c.name)
        )
        with self.engine.connect() as conn:
            return [
                ProjectRecord(r.id, r.name, r.description, r.created_at, int(r[-1]))
                for r in conn.execute(query)
            ]

    def rename_project(self, project_id: int, new_name: str) -> None:
        new_name = new_name.strip()
        if not new_name:
            raise CatalogError("A project needs a name")
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(project_t)
                    .where(project_t.c.id == project_id)
                    .values(name=new_name, updated_at=time.time())
                )
        except IntegrityError:
            raise CatalogError(f"A project named {new_name!r} already exists") from None

    def set_project_description(self, project_id: int, description: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(project_t)
                .where(project_t.c.id == project_id)
                .values(description=description, updated_at=time.time())
            )

    def delete_project(self, project_id: int) -> list[AssetRecord]:
        """Remove a project and its records. Returns its copied-in assets so files can be removed."""
        copied = self._assets_where(and_(asset_t.c.project_id == project_id, asset_t.c.copied))
        with self.engine.begin() as conn:
            conn.execute(delete(project_t).where(project_t.c.id == project_id))
        return copied

    # ---- assets: writes -------------------------------------------------------------------------

    def existing_hashes(self, project_id: int, hashes: Iterable[str]) -> dict[str, int]:
        """Which of these content hashes the project already holds (hash -> asset id)."""
        wanted = list(set(hashes))
        found: dict[str, int] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = conn.execute(
                    select(asset_t.c.content_hash, asset_t.c.id).where(
                        asset_t.c.project_id == project_id, asset_t.c.content_hash.in_(chunk)
                    )
                )
                found.update({r.content_hash: r.id for r in rows})
        return found

    def add_assets(self, assets: Sequence[NewAsset]) -> dict[str, int]:
        """Bulk insert (Core executemany). Duplicates within a project are skipped.

        Returns content hash -> asset id for every row inserted by this call.
        """
        if not assets:
            return {}
        with self.engine.begin() as conn:
            return _insert_assets(conn, assets)

    def replace_asset(self, asset_id: int, assets: Sequence[NewAsset]) -> dict[str, int]:
        """Remove one asset and register ``assets`` in its place, in one transaction (a sequence split
        into its images never shows as both, or as neither). Returns content hash -> new asset id."""
        with self.engine.begin() as conn:
            conn.execute(delete(asset_t).where(asset_t.c.id == asset_id))
            return _insert_assets(conn, assets) if assets else {}

    def set_thumbnail(self, asset_id: int, thumbnail: str | None, status: str = "ready") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(asset_t)
                .where(asset_t.c.id == asset_id)
                .values(thumbnail=thumbnail, status=status, modified_at=time.time())
            )

    def set_asset_failed(self, asset_id: int, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(asset_t)
                .where(asset_t.c.id == asset_id)
                .values(status="failed", error=error, modified_at=time.time())
            )

    def update_metadata(self, asset_id: int, changes: dict[str, Any]) -> None:
        """Merge keys into an asset's metadata (scene cuts, focus box, ... from later steps)."""
        with self.engine.begin() as conn:
            current = conn.execute(select(asset_t.c.metadata_json).where(asset_t.c.id == asset_id)).scalar()
            if current is None:
                return
            merged = {**json.loads(current), **changes}
            conn.execute(
                update(asset_t)
                .where(asset_t.c.id == asset_id)
                .values(metadata_json=json.dumps(merged, default=str), modified_at=time.time())
            )

    def move_assets(self, moves: Mapping[int, tuple[str, dict[str, Any]]]) -> None:
        """Point assets at files that moved: asset id -> (new path, metadata naming the new place)."""
        with self.engine.begin() as conn:
            for asset_id, (path, metadata) in moves.items():
                conn.execute(
                    update(asset_t)
                    .where(asset_t.c.id == asset_id)
                    .values(
                        path=path, metadata_json=json.dumps(metadata, default=str), modified_at=time.time()
                    )
                )

    def set_notes(self, asset_id: int, notes: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(asset_t).where(asset_t.c.id == asset_id).values(notes=notes))

    def delete_assets(self, asset_ids: Sequence[int]) -> list[AssetRecord]:
        """Remove records. Returns the removed records so the caller can delete copied-in files."""
        removed = self.get_assets(asset_ids)
        with self.engine.begin() as conn:
            for start in range(0, len(asset_ids), 500):
                chunk = list(asset_ids[start : start + 500])
                conn.execute(delete(asset_t).where(asset_t.c.id.in_(chunk)))
        return removed

    def count_copied(self, project_id: int) -> int:
        """How many of a project's assets were copied into the library (deleted with the project)."""
        query = select(func.count()).where(asset_t.c.project_id == project_id, asset_t.c.copied)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    # ---- tags and categories (core.catalog.tags) ---------------------------------------------------

    def set_user_tags(self, asset_id: int, names: Iterable[str]) -> None:
        self._tags.set_user_tags(asset_id, names)

    def reject_tag(self, asset_id: int, name: str) -> None:
        self._tags.reject_tag(asset_id, name)

    def accept_tag(self, asset_id: int, name: str, *, category: bool = True) -> None:
        self._tags.accept_tag(asset_id, name, category=category)

    def set_ai_categories(self, asset_id: int, categories: Sequence[tuple[str, float]]) -> None:
        self._tags.set_ai_categories(asset_id, categories)

    def tag_counts(self, project_id: int, *, categories_only: bool = False) -> list[tuple[str, int]]:
        return self._tags.tag_counts(project_id, categories_only=categories_only)

    # ---- artifacts ------------------------------------------------------------------------------

    def add_artifact(
        self,
        asset_id: int,
        kind: str,
        path: str,
        *,
        size: int | None = None,
        backend: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Record a product of a job; replaces an older artifact of the same kind and size."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(artifact_t).where(
                    artifact_t.c.asset_id == asset_id,
                    artifact_t.c.kind == kind,
                    artifact_t.c.size.is_(size) if size is None else artifact_t.c.size == size,
                )
            )
            result = conn.execute(
                insert(artifact_t).values(
                    asset_id=asset_id,
                    kind=kind,
                    path=path,
                    size=size,
                    backend=backend,
                    created_at=time.time(),
                    meta_json=json.dumps(meta or {}, default=str),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def artifacts(self, asset_id: int, kind: str | None = None) -> list[ArtifactRecord]:
        query = select(artifact_t).where(artifact_t.c.asset_id == asset_id)
        if kind is not None:
            query = query.where(artifact_t.c.kind == kind)
        with self.engine.connect() as conn:
            return [
                ArtifactRecord(
                    r.id,
                    r.asset_id,
                    r.kind,
                    r.path,
                    r.size,
                    r.backend,
                    r.created_at,
                    json.loads(r.meta_json),
                )
                for r in conn.execute(query.order_by(artifact_t.c.created_at))
            ]

    # ---- assets: reads --------------------------------------------------------------------------

    def get_asset(self, asset_id: int) -> AssetRecord | None:
        found = self.get_assets([asset_id])
        return found[0] if found else None

    def get_assets(self, asset_ids: Sequence[int]) -> list[AssetRecord]:
        if not asset_ids:
            return []
        by_id: dict[int, AssetRecord] = {}
        for start in range(0, len(asset_ids), 500):
            chunk = list(asset_ids[start : start + 500])
            for record in self._assets_where(asset_t.c.id.in_(chunk)):
                by_id[record.id] = record
        return [by_id[i] for i in asset_ids if i in by_id]

    def _assets_where(self, condition: Any) -> list[AssetRecord]:
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(asset_t).where(condition)))
            return records_from_rows(conn, rows)

    # ---- assets: pages and counts (core.catalog.paging) ---------------------------------------------

    def page_assets(
        self, query: AssetQuery, after: AssetRecord | None = None, limit: int = 200
    ) -> list[AssetRecord]:
        return self._pager.page_assets(query, after, limit)

    def page_at(self, query: AssetQuery, offset: int, limit: int = 200) -> list[AssetRecord]:
        return self._pager.page_at(query, offset, limit)

    def count_before(self, query: AssetQuery, key: Sequence[Any]) -> int:
        return self._pager.count_before(query, key)

    def count_assets(self, query: AssetQuery, *, cap: int | None = None) -> int:
        return self._pager.count_assets(query, cap=cap)

    def kind_counts(self, project_id: int) -> dict[str, int]:
        return self._pager.kind_counts(project_id)

    def iter_assets(self, query: AssetQuery, batch: int = 1000) -> Iterable[AssetRecord]:
        return self._pager.iter_assets(query, batch)


def _insert_assets(conn: Any, assets: Sequence[NewAsset]) -> dict[str, int]:
    """Insert asset rows on ``conn``; rows whose content the project already holds are skipped.

    RETURNING names exactly the rows this statement inserted: another process ingesting the same
    files at the same time gets its rows ignored here, and reports them as duplicates.
    """
    now = time.time()
    rows = [
        {
            "project_id": a.project_id,
            "name": a.name,
            "path": a.path,
            "kind": a.kind,
            "content_hash": a.content_hash,
            "size_bytes": a.size_bytes,
            "status": "pending",
            "error": None,
            "metadata_json": json.dumps(a.metadata, default=str),
            "thumbnail": None,
            "copied": a.copied,
            "frame_first": a.frame_first,
            "frame_last": a.frame_last,
            "tags_text": "",
            "notes": "",
            "created_at": now,
            "modified_at": now,
        }
        for a in assets
    ]
    statement = insert(asset_t).prefix_with("OR IGNORE").returning(asset_t.c.content_hash, asset_t.c.id)
    inserted = {r.content_hash: r.id for r in conn.execute(statement, rows)}
    stack_new_assets(conn, inserted.values())  # versions by name: shot_v003 joins shot_v001's stack
    return inserted
