"""Version stacks in the catalog: assets that are versions of one shot shown as one grid tile.

Each asset has a ``stack_key`` and ``version`` (NULL for an asset that is no one's version) and a
``stack_top`` flag: 1 for the newest version of its stack and for every unstacked asset. The grid pages
only ``stack_top`` rows (``queries.filters_for``), and the per-kind counters (migration 0007's
triggers) count only them, so a stack of twelve versions is one tile and one in the count. Versions are
found by name at insert (``core.review.versions``) or stacked and split by hand.

The top is recomputed for just the stacks a write touched, inside that write's transaction, so a
reader never sees a stack with no top or two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, text, update

from core.catalog.errors import CatalogError
from core.catalog.queries import asset_t, records_from_rows
from core.review.versions import manual_stack_key, parse_version

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy import Engine

    from core.catalog.records import AssetRecord

_ID_CHUNK = 900

# Newest first: the highest version, then the latest ingested (two files both named _v003).
_REFRESH_TOPS = text(
    "UPDATE asset SET stack_top = (id = (SELECT a2.id FROM asset a2 WHERE a2.project_id = asset.project_id "
    "AND a2.stack_key = asset.stack_key ORDER BY a2.version DESC, a2.id DESC LIMIT 1)) "
    "WHERE project_id = :project_id AND stack_key = :stack_key"
)


def stack_new_assets(conn: Any, asset_ids: Iterable[int]) -> None:
    """Give just-inserted assets the stack their names say, and refresh those stacks' tops."""
    ids = list(asset_ids)
    if not ids:
        return
    columns = (asset_t.c.id, asset_t.c.project_id, asset_t.c.name, asset_t.c.kind)
    rows = []
    for start in range(0, len(ids), _ID_CHUNK):  # a bulk insert may return more ids than SQLite binds
        chunk = ids[start : start + _ID_CHUNK]
        rows += conn.execute(select(*columns).where(asset_t.c.id.in_(chunk))).all()
    changes = []
    for row in rows:
        parsed = parse_version(row.name, row.kind)
        if parsed is not None:
            changes.append({"b_id": row.id, "stack_key": parsed.stack_key, "version": parsed.version})
    if not changes:
        return
    conn.execute(
        update(asset_t).where(asset_t.c.id == bindparam("b_id")),
        changes,
    )
    projects = {row.id: row.project_id for row in rows}
    refresh_tops(conn, {(projects[c["b_id"]], c["stack_key"]) for c in changes})


def refresh_tops(conn: Any, stacks: Iterable[tuple[int, str]]) -> None:
    for project_id, stack_key in sorted(stacks):
        conn.execute(_REFRESH_TOPS, {"project_id": project_id, "stack_key": stack_key})


class StackStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def versions_of(self, asset_id: int) -> list[AssetRecord]:
        """Every version in ``asset_id``'s stack, oldest first (just the asset when it is unstacked)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(asset_t.c.project_id, asset_t.c.stack_key).where(asset_t.c.id == asset_id)
            ).first()
            if row is None:
                return []
            if row.stack_key is None:
                rows = list(conn.execute(select(asset_t).where(asset_t.c.id == asset_id)))
            else:
                rows = list(
                    conn.execute(
                        select(asset_t)
                        .where(asset_t.c.project_id == row.project_id, asset_t.c.stack_key == row.stack_key)
                        .order_by(asset_t.c.version, asset_t.c.id)
                    )
                )
            return records_from_rows(conn, rows)

    def stack_as_versions(self, asset_ids: Sequence[int]) -> str:
        """Stack these assets by hand, versions in the order given (v1 first). Returns the stack key.

        Assets already in other stacks leave them (those stacks get a new top)."""
        ids = list(dict.fromkeys(asset_ids))
        if len(ids) < 2:
            raise CatalogError("A stack needs at least two assets")
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(asset_t.c.id, asset_t.c.project_id, asset_t.c.stack_key).where(asset_t.c.id.in_(ids))
            ).all()
            projects = {row.project_id for row in rows}
            if len(rows) != len(ids) or len(projects) != 1:
                raise CatalogError("Only assets of one project can be stacked")
            project_id = projects.pop()
            key = manual_stack_key(min(ids))
            old = {(project_id, row.stack_key) for row in rows if row.stack_key is not None}
            conn.execute(
                update(asset_t).where(asset_t.c.id == bindparam("b_id")),
                [{"b_id": asset_id, "stack_key": key, "version": n} for n, asset_id in enumerate(ids, 1)],
            )
            refresh_tops(conn, {*old, (project_id, key)})
        return key

    def split_stack(self, asset_id: int) -> list[int]:
        """Unstack every version of ``asset_id``'s stack: each becomes its own tile again. Returns their ids.

        A name-made stack would come back on the next ingest of a new version; splitting it by hand
        marks its assets as "no stack" until the user stacks them again."""
        with self._engine.begin() as conn:
            row = conn.execute(
                select(asset_t.c.project_id, asset_t.c.stack_key).where(asset_t.c.id == asset_id)
            ).first()
            if row is None or row.stack_key is None:
                return [asset_id] if row is not None else []
            members = [
                r.id
                for r in conn.execute(
                    select(asset_t.c.id).where(
                        asset_t.c.project_id == row.project_id, asset_t.c.stack_key == row.stack_key
                    )
                )
            ]
            conn.execute(
                update(asset_t)
                .where(asset_t.c.id.in_(members))
                .values(stack_key=None, version=None, stack_top=True)
            )
        return members

    def stack_sizes(self, project_id: int, stack_keys: Iterable[str]) -> dict[str, int]:
        keys = sorted(set(stack_keys))
        if not keys:
            return {}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(asset_t.c.stack_key, func.count())
                .where(asset_t.c.project_id == project_id, asset_t.c.stack_key.in_(keys))
                .group_by(asset_t.c.stack_key)
            )
            return {key: int(n) for key, n in rows}
