"""The catalog's asset queries as SQL statements: filters, keyset pages in every order, relevance tiers.

Pure statement building (no connection): ``Catalog`` runs them. Every order ends in the id, so it is
total and a page starts exactly where the last one ended, at any depth.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, column, func, literal, select, table, text, tuple_

from core.catalog.records import AssetQuery, AssetRecord, ColourLabel, SortKey, TagRecord
from core.catalog.tables import Artifact, Asset, AssetKindCount, Project, SavedSearch, Tag, TagCount
from core.media.kinds import AssetKind

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from core.catalog.search import SearchMatch

project_t = Project.__table__  # type: ignore[attr-defined]
asset_t = Asset.__table__  # type: ignore[attr-defined]
tag_t = Tag.__table__  # type: ignore[attr-defined]
artifact_t = Artifact.__table__  # type: ignore[attr-defined]
kind_count_t = AssetKindCount.__table__  # type: ignore[attr-defined]
tag_count_t = TagCount.__table__  # type: ignore[attr-defined]
saved_search_t = SavedSearch.__table__  # type: ignore[attr-defined]

SORT_COLUMNS = {
    SortKey.NAME: [asset_t.c.name],
    SortKey.CREATED: [asset_t.c.created_at],
    SortKey.SIZE: [asset_t.c.size_bytes],
    SortKey.KIND: [asset_t.c.kind, asset_t.c.name],
    SortKey.RATING: [asset_t.c.rating],
}
# sort column -> the AssetRecord field holding its value (the keyset cursor is the last record shown)
RECORD_FIELDS = {
    "name": "name",
    "created_at": "created_at",
    "size_bytes": "size_bytes",
    "kind": "kind",
    "rating": "rating",
    "id": "id",
}
# Up to this many matches, a sorted search sorts them; beyond, core.catalog.search_plan chooses per page.
FEW_MATCHES = 5_000


def sort_columns(query: AssetQuery) -> list[Any]:
    """The query's order as columns, ending in the id (a search by relevance pages in name order here)."""
    key = SortKey.NAME if query.sort == SortKey.RELEVANCE else query.sort
    return [*SORT_COLUMNS[key], asset_t.c.id]


def _past(query: AssetQuery, key: Sequence[Any], *, strictly_after: bool) -> Any:
    """The keyset term: rows strictly after (or, for a count, strictly before) ``key`` in the query's
    order. ``key`` may be shorter than the order (a jump gives the leading value only)."""
    columns = sort_columns(query)[: len(key)]
    keyset = tuple_(*columns)
    bound = tuple_(*[literal(value) for value in key])
    return keyset < bound if query.descending == strictly_after else keyset > bound


def sorted_page(
    query: AssetQuery, match: SearchMatch | None, after: AssetRecord | None, *, few_matches: bool
) -> Any:
    key = SortKey.NAME if query.sort == SortKey.RELEVANCE else query.sort
    columns = sort_columns(query)
    # A rare word: sorting its few matches beats walking the project's sort index to find them, which
    # SQLite would do for the ORDER BY (and which costs a scan of the project when the word is rare).
    walk_index = match is None or not few_matches
    searches = match.parts() if match is not None else []
    statement = select(asset_t).where(
        *filters_for(query, searches, project_index=walk_index, order=key if walk_index else None)
    )
    if after is not None:
        after_key = [getattr(after, RECORD_FIELDS[c.name]) for c in columns]
        statement = statement.where(_past(query, after_key, strictly_after=True))
    return statement.order_by(*[c.desc() if query.descending else c.asc() for c in columns])


def count_before(query: AssetQuery, searches: Sequence[tuple[str, str]], key: Sequence[Any]) -> Any:
    """How many matches come before ``key`` in the query's (sorted) order: a range count on the order's
    index, which never reads an asset row, so finding row 500,000 costs a count, not 2,500 pages."""
    order = SortKey.NAME if query.sort == SortKey.RELEVANCE else query.sort
    inner = select(asset_t.c.id).where(
        *filters_for(query, searches, order=order), _past(query, key, strictly_after=False)
    )
    return select(func.count()).select_from(inner.subquery())


def relevance_pages(
    query: AssetQuery,
    match: SearchMatch,
    after: AssetRecord | None,
    matches_first_tier: Callable[[str, str], bool],
    window: tuple[int, int] | None = None,
) -> list[Any]:
    """Assets whose name matches come first, then those matching elsewhere (path, tags, notes);
    newest first within each tier. ``window``: only ids in this range (``search_plan.relevance_rows``).

    Both tiers stream from the index in rowid order, so the first page of a word in 100,000 names
    costs what a rare word costs; a bm25 order would score every match before returning one.
    ``matches_first_tier(fts_table, expression)`` says whether ``after`` (the last record shown) is in
    the first tier, so the next page knows which tier it continues.
    """
    (driver, expression), *others = match.parts()
    tiers = [f"name : ({expression})", f"({expression}) NOT (name : ({expression}))"]
    if query.descending:
        tiers.reverse()
    fts = table(driver, column("rowid"))
    if after is not None and not matches_first_tier(driver, tiers[0]):
        tiers = tiers[1:]
    filters = filters_for(query, [])
    span = f" AND rowid BETWEEN {int(window[0])} AND {int(window[1])}" if window is not None else ""
    for other, other_expression in others:
        # On the driver's rowid, the unary + keeps the test before the asset row is read (as
        # ``asset.id``, SQLite read each driver row's asset first: 70 ms for "sky 04") and keeps SQLite
        # from running one MATCH per listed id (an IN on a virtual table's rowid is offered to it).
        listed = f"SELECT rowid FROM {other} WHERE {other} MATCH :{other}{span}"
        filters.append(text(f"+{driver}.rowid IN ({listed})").bindparams(**{other: other_expression}))
    if window is not None:
        filters.append(fts.c.rowid.between(*window))
    statements = []
    for tier in tiers:
        statement = (
            select(asset_t)
            .select_from(asset_t.join(fts, fts.c.rowid == asset_t.c.id))
            .where(text(f"{driver} MATCH :tier").bindparams(tier=tier), *filters)
        )
        if after is not None and tier is tiers[0]:
            statement = statement.where(
                fts.c.rowid > after.id if query.descending else fts.c.rowid < after.id
            )
        statements.append(statement.order_by(fts.c.rowid.asc() if query.descending else fts.c.rowid.desc()))
    return statements


def filters_for(
    query: AssetQuery,
    searches: Sequence[tuple[str, str]],
    *,
    project_index: bool = True,
    order: SortKey | None = None,
) -> list[Any]:
    """WHERE terms for a query; ``searches`` are (FTS table, MATCH expression) pairs, all required.

    ``order``: the sort whose index a page walks; None (a count, a search) lets every filter use its index.
    """
    filters: list[Any] = []
    if query.project_id is not None and project_index:
        filters.append(asset_t.c.project_id == query.project_id)
    elif query.project_id is not None:
        # The unary + keeps SQLite off every index that starts with the project (see sorted_page).
        filters.append(text("+asset.project_id = :project_id").bindparams(project_id=query.project_id))
    if query.kind:
        filters.append(asset_t.c.kind == query.kind)
    # One tile per version stack (core.catalog.stacks); the unary + keeps SQLite on the sort's index.
    # The catalog sets all_versions when the project hides no version, so the common case keeps its
    # covering-index counts and offsets (the filter makes them read each row).
    if not query.all_versions:
        filters.append(text("+asset.stack_top"))
    if query.tag:
        filters.append(
            asset_t.c.id.in_(
                select(tag_t.c.asset_id).where(tag_t.c.name == query.tag, tag_t.c.rejected.is_(False))
            )
        )
    # Walking a sort index, a rating or label filter keeps to it (the unary + hides the filter's own
    # index) unless that index is also the order: taking it would mean sorting every match before the
    # first page (250 ms for "rating >= 4" by name at 1M assets, against 17 ms walking the name index).
    # A count of a label and a rating reads the label's index alone (it holds the rating, migration
    # 0008): 62,500 red assets looked up one by one for their rating cost 120 ms at 1M assets.
    if query.min_rating:
        own_index = order == SortKey.RATING or (order is None and query.label is None)
        rating = "asset.rating" if own_index else "+asset.rating"
        filters.append(text(f"{rating} >= :min_rating").bindparams(min_rating=query.min_rating))
    if query.label is not None:
        label = "+asset.label" if order not in (None, SortKey.NAME) else "asset.label"
        filters.append(text(f"{label} = :label").bindparams(label=str(query.label)))
    if query.recent_days is not None:
        filters.append(asset_t.c.created_at >= time.time() - query.recent_days * 86400)
    if query.content_hashes is not None:
        # One JSON parameter, not one per hash: the set may hold more hashes than SQLite takes variables.
        hashes = json.dumps(sorted(query.content_hashes))
        filters.append(
            text("asset.content_hash IN (SELECT value FROM json_each(:content_hashes))").bindparams(
                content_hashes=hashes
            )
        )
    for fts_table, expression in searches:
        matching = text(f"{fts_table} MATCH :{fts_table}").bindparams(**{fts_table: expression})
        filters.append(asset_t.c.id.in_(select(text("rowid")).select_from(text(fts_table)).where(matching)))
    return filters


def records_from_rows(conn: Any, rows: list[Row[Any]]) -> list[AssetRecord]:
    if not rows:
        return []
    tags: dict[int, list[TagRecord]] = {}
    ids = [r.id for r in rows]
    tag_rows = conn.execute(
        select(tag_t).where(tag_t.c.asset_id.in_(ids), tag_t.c.rejected.is_(False)).order_by(tag_t.c.name)
    )
    for t in tag_rows:
        tags.setdefault(t.asset_id, []).append(TagRecord(t.name, t.source, t.confidence, bool(t.is_category)))
    stack_sizes = _stack_sizes(conn, {(r.project_id, r.stack_key) for r in rows if r.stack_key is not None})
    return [
        AssetRecord(
            id=r.id,
            project_id=r.project_id,
            name=r.name,
            path=r.path,
            kind=AssetKind(r.kind),
            content_hash=r.content_hash,
            size_bytes=r.size_bytes,
            status=r.status,
            error=r.error,
            metadata=json.loads(r.metadata_json),
            thumbnail=r.thumbnail,
            copied=bool(r.copied),
            frame_first=r.frame_first,
            frame_last=r.frame_last,
            created_at=r.created_at,
            notes=r.notes,
            tags=tuple(tags.get(r.id, ())),
            rating=r.rating,
            label=ColourLabel(r.label),
            stack_key=r.stack_key,
            version=r.version,
            stack_size=stack_sizes.get((r.project_id, r.stack_key), 1),
        )
        for r in rows
    ]


def _stack_sizes(conn: Any, stacks: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Versions per stack for a page's stacked assets: one grouped range read of the stack index."""
    if not stacks:
        return {}
    rows = conn.execute(
        select(asset_t.c.project_id, asset_t.c.stack_key, func.count())
        .where(tuple_(asset_t.c.project_id, asset_t.c.stack_key).in_(sorted(stacks)))
        .group_by(asset_t.c.project_id, asset_t.c.stack_key)
    )
    return {(project_id, key): int(n) for project_id, key, n in rows}
