"""The artist's own curation: star ratings, colour labels, batch tags and notes, and saved searches.

Every batch edit is one transaction of ``executemany`` statements, however many assets are selected:
rating 10,000 assets either lands whole or not at all, and costs one commit (one WAL fsync), not 10,000.
Ratings and labels come back on the ``AssetRecord`` (the grid's page query reads them with the row), so
the UI never asks for them separately.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from core.catalog.errors import CatalogError
from core.catalog.queries import asset_t, saved_search_t, tag_t
from core.catalog.records import MAX_RATING, AssetQuery, ColourLabel, SavedSearch, SortKey

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Engine

# The query fields a saved search keeps; the project is the saved search's own.
_SAVED_FIELDS = ("search", "kind", "tag", "min_rating", "label", "sort", "descending")

# tags_text (the search index's copy of an asset's tags) re-read from the tag table, for one asset.
_REFRESH_TAGS_TEXT = text(
    "UPDATE asset SET modified_at = :now, tags_text = (SELECT coalesce(group_concat(name, ' '), '') "
    "FROM (SELECT name FROM tag WHERE asset_id = :asset_id AND NOT rejected ORDER BY name)) "
    "WHERE id = :asset_id"
)
_APPEND_NOTE = text(
    "UPDATE asset SET modified_at = :now, "
    "notes = CASE WHEN notes = '' THEN :note ELSE notes || char(10) || :note END WHERE id = :asset_id"
)


class CurationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # ---- batch edits -----------------------------------------------------------------------------

    def set_rating(self, asset_ids: Sequence[int], rating: int) -> None:
        if not 0 <= rating <= MAX_RATING:
            raise CatalogError(f"A rating is 0 to {MAX_RATING} stars, not {rating}")
        self._set_column(asset_ids, rating=rating)

    def set_label(self, asset_ids: Sequence[int], label: ColourLabel) -> None:
        self._set_column(asset_ids, label=str(ColourLabel(label)))

    def _set_column(self, asset_ids: Sequence[int], **values: Any) -> None:
        if not asset_ids:
            return
        statement = (
            update(asset_t)
            .where(asset_t.c.id == bindparam("asset_id"))
            .values(**values, modified_at=time.time())
        )
        with self._engine.begin() as conn:
            conn.execute(statement, [{"asset_id": i} for i in asset_ids])
            if "rating" in values:  # rating order's jump checkpoints (migration 0008): once, not per row
                conn.execute(text("UPDATE asset_order_generation SET n = n + 1 WHERE id = 1"))

    def add_tags(self, asset_ids: Sequence[int], names: Sequence[str]) -> None:
        """Give every asset these tags as the user's own. An AI category of that name becomes the
        user's (confirmed), one the user had rejected comes back: they asked for it by name."""
        wanted = sorted({n.strip() for n in names if n.strip()})
        if not asset_ids or not wanted:
            return
        rows = [
            {"asset_id": a, "name": n, "source": "user", "confidence": None, "is_category": False,
             "rejected": False}
            for a in asset_ids
            for n in wanted
        ]  # fmt: skip
        statement = sqlite_insert(tag_t)
        statement = statement.on_conflict_do_update(
            index_elements=[tag_t.c.asset_id, tag_t.c.name], set_={"rejected": False, "source": "user"}
        )
        now = time.time()
        with self._engine.begin() as conn:
            conn.execute(statement, rows)
            conn.execute(_REFRESH_TAGS_TEXT, [{"asset_id": a, "now": now} for a in asset_ids])

    def append_note(self, asset_ids: Sequence[int], note: str) -> None:
        """Add ``note`` as a new line under each asset's notes (never replacing what is there)."""
        note = note.strip()
        if not asset_ids or not note:
            return
        now = time.time()
        with self._engine.begin() as conn:
            conn.execute(_APPEND_NOTE, [{"asset_id": a, "note": note, "now": now} for a in asset_ids])

    # ---- saved searches --------------------------------------------------------------------------

    def save_search(self, project_id: int, name: str, query: AssetQuery) -> SavedSearch:
        """Store ``query`` under ``name`` in the project; saving under an existing name replaces it."""
        name = _search_name(name)
        values = {"query_json": json.dumps(_query_json(query)), "created_at": time.time()}
        statement = (
            sqlite_insert(saved_search_t)
            .values(project_id=project_id, name=name, **values)
            .on_conflict_do_update(index_elements=["project_id", "name"], set_=values)
            .returning(saved_search_t.c.id)
        )
        with self._engine.begin() as conn:
            search_id = int(conn.execute(statement).scalar_one())
        return SavedSearch(search_id, name, _query_from_json(project_id, _query_json(query)))

    def saved_searches(self, project_id: int) -> list[SavedSearch]:
        statement = (
            select(saved_search_t)
            .where(saved_search_t.c.project_id == project_id)
            .order_by(saved_search_t.c.name)
        )
        with self._engine.connect() as conn:
            return [
                SavedSearch(r.id, r.name, _query_from_json(project_id, json.loads(r.query_json)))
                for r in conn.execute(statement)
            ]

    def rename_search(self, search_id: int, name: str) -> None:
        name = _search_name(name)
        try:
            with self._engine.begin() as conn:
                conn.execute(update(saved_search_t).where(saved_search_t.c.id == search_id).values(name=name))
        except IntegrityError:
            raise CatalogError(f"A saved search named {name!r} already exists") from None

    def delete_search(self, search_id: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(saved_search_t).where(saved_search_t.c.id == search_id))


def _search_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise CatalogError("A saved search needs a name")
    return name


def _query_json(query: AssetQuery) -> dict[str, Any]:
    return {field: getattr(query, field) for field in _SAVED_FIELDS}


def _query_from_json(project_id: int, stored: dict[str, Any]) -> AssetQuery:
    """The saved query, tolerant of fields a later version added or dropped (JSON is not migrated)."""
    known = {k: v for k, v in stored.items() if k in _SAVED_FIELDS}
    label = known.get("label")
    known["label"] = ColourLabel(label) if label is not None else None
    known["sort"] = SortKey(known.get("sort", SortKey.NAME))
    return AssetQuery(project_id=project_id, **known)
