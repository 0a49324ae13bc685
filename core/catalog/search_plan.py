"""A search sorted by a column: walk the order's index, or sort the matches, chosen per page.

Two plans give the same rows. *Walking* the order's index and keeping the rows whose id the word index
holds costs the index entries walked before the page is full: a few when the matches are spread
through the order, 800,000 when a word's 100,000 matches cluster at its end ("robot_…" in name order),
which no match count can tell apart. *Sorting* the matches costs one lookup per match: few for a rare
word, 100,000 for a common one, read from ``ix_asset_sort_keys`` (migration 0008, keyed by id and
holding every sort column) rather than from the wide asset rows.

Per page, above ``FEW_MATCHES``:

1. a sample of the matches (the word index's first and last ``SAMPLE`` ids) sorted gives ``bound``, the
   key of the page's last row among them: the true page ends at or before it, whatever the others hold;
2. when fewer than ``WALK_BUDGET`` index entries lie between the page's start and ``bound`` (a capped
   range count of the order's index, no membership test), the page lies within a short walk: walk up
   to ``bound``. Otherwise the matches are far apart or far away in the order: sort them.
3. Without a bound (the sample holds too few rows past the page's start), walk ``PROBE_BUDGET`` entries
   and sort the matches past them for what that walk did not fill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, column, func, literal, select, table, text, tuple_

from core.catalog.queries import (
    FEW_MATCHES,
    RECORD_FIELDS,
    asset_t,
    filters_for,
    relevance_pages,
    sort_columns,
    sorted_page,
)
from core.catalog.records import AssetQuery, AssetRecord, SortKey

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy import Connection

    from core.catalog.search import SearchMatch

SAMPLE = 500  # matches read from each end of the word index for the bound
# Index entries a page may walk before sorting the matches is cheaper. Walking costs about a quarter of
# what sorting costs per row (measured at 1M assets: a probe of a listed id against a lookup in
# ix_asset_sort_keys), so a walk of 120,000 entries matches sorting ~30,000 matches.
WALK_BUDGET = 120_000
PROBE_BUDGET = 20_000  # the walk tried when the sample gives no bound (deep pages), before sorting
SORT_KEYS_INDEX = "ix_asset_sort_keys"
FIRST_WINDOW = 8_192  # ids per relevance window, doubling (see relevance_rows)

Key = tuple[Any, ...]


def few_matches(conn: Connection, match: SearchMatch) -> bool:
    """Whether the search's driving index holds at most FEW_MATCHES rows (a capped count)."""
    fts_table, expression = match.parts()[0]
    statement = text(
        f"SELECT count(*) FROM (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH :m LIMIT :cap)"
    )
    found = conn.execute(statement, {"m": expression, "cap": FEW_MATCHES + 1}).scalar() or 0
    return int(found) <= FEW_MATCHES


def sorted_search_rows(
    conn: Connection, query: AssetQuery, match: SearchMatch, after: AssetRecord | None, limit: int
) -> list[Row[Any]]:
    """One page of a search in a column's order (not relevance), strictly after ``after``."""
    if few_matches(conn, match):
        return list(conn.execute(sorted_page(query, match, after, few_matches=True).limit(limit)))
    start = _record_key(query, after)
    bound = _sample_bound(conn, query, match, start, limit)
    if bound is not None:
        if _entries_through(conn, query, start, bound, WALK_BUDGET) < WALK_BUDGET:
            return _walk(conn, query, match, after, bound, limit)
        return _sort(conn, query, match, start, limit)
    budget_end = _key_past(conn, query, start, PROBE_BUDGET)
    rows = _walk(conn, query, match, after, budget_end, limit)
    if len(rows) == limit or budget_end is None:
        return rows
    return rows + _sort(conn, query, match, budget_end, limit - len(rows))


def _record_key(query: AssetQuery, record: AssetRecord | None) -> Key | None:
    if record is None:
        return None
    return tuple(getattr(record, RECORD_FIELDS[c.name]) for c in sort_columns(query))


def _past(query: AssetQuery, key: Key) -> Any:
    keyset = tuple_(*sort_columns(query))
    bound = tuple_(*[literal(value) for value in key])
    return keyset < bound if query.descending else keyset > bound


def _through(query: AssetQuery, key: Key) -> Any:
    keyset = tuple_(*sort_columns(query))
    bound = tuple_(*[literal(value) for value in key])
    return keyset >= bound if query.descending else keyset <= bound


def _ordered(query: AssetQuery) -> list[Any]:
    return [c.desc() if query.descending else c.asc() for c in sort_columns(query)]


def _order(query: AssetQuery) -> SortKey:
    return SortKey.NAME if query.sort == SortKey.RELEVANCE else query.sort


def _matching_ids(fts_table: str, expression: str) -> Any:
    fts = table(fts_table, column("rowid"))
    return select(fts.c.rowid).where(
        text(f"{fts_table} MATCH :sort_driver").bindparams(sort_driver=expression)
    )


def _sample_bound(
    conn: Connection, query: AssetQuery, match: SearchMatch, start: Key | None, limit: int
) -> Key | None:
    """The key of the ``limit``-th row past ``start`` among the sampled matches, or None."""
    (driver, expression), *others = match.parts()
    ids = _matching_ids(driver, expression)
    fts_rowid = ids.selected_columns[0]
    first = ids.order_by(fts_rowid.asc()).limit(SAMPLE).subquery()
    last = ids.order_by(fts_rowid.desc()).limit(SAMPLE).subquery()
    sampled = select(first.c.rowid).union(select(last.c.rowid))
    statement = select(*sort_columns(query)).where(asset_t.c.id.in_(sampled), *filters_for(query, others))
    if start is not None:
        statement = statement.where(_past(query, start))
    found = _run_on_sort_keys(conn, statement.order_by(*_ordered(query)).offset(limit - 1).limit(1)).first()
    return tuple(found) if found is not None else None


def _entries_through(conn: Connection, query: AssetQuery, start: Key | None, end: Key, cap: int) -> int:
    """Index entries from past ``start`` through ``end`` in the query's order, search aside, up to
    ``cap`` (a range count of the order's index)."""
    ids = select(asset_t.c.id).where(*filters_for(query, [], order=_order(query)), _through(query, end))
    if start is not None:
        ids = ids.where(_past(query, start))
    return int(conn.execute(select(func.count()).select_from(ids.limit(cap).subquery())).scalar() or 0)


def _key_past(conn: Connection, query: AssetQuery, start: Key | None, entries: int) -> Key | None:
    """The key ``entries`` rows past ``start`` in the query's order, search aside (one index seek)."""
    statement = select(*sort_columns(query)).where(*filters_for(query, [], order=_order(query)))
    if start is not None:
        statement = statement.where(_past(query, start))
    found = conn.execute(statement.order_by(*_ordered(query)).offset(entries - 1).limit(1)).first()
    return tuple(found) if found is not None else None


def _walk(
    conn: Connection,
    query: AssetQuery,
    match: SearchMatch,
    after: AssetRecord | None,
    end: Key | None,
    limit: int,
) -> list[Row[Any]]:
    """Walk the order's index from ``after`` up to ``end`` (inclusive), keeping the matches."""
    statement = sorted_page(query, match, after, few_matches=False)
    if end is not None:
        statement = statement.where(_through(query, end))
    return list(conn.execute(statement.limit(limit)))


def _sort(
    conn: Connection, query: AssetQuery, match: SearchMatch, start: Key | None, limit: int
) -> list[Row[Any]]:
    """Sort the matches past ``start`` from the sort-keys index, then read the page's rows."""
    ids = select(asset_t.c.id).where(*filters_for(query, match.parts()))
    if start is not None:
        ids = ids.where(_past(query, start))
    page = [row[0] for row in _run_on_sort_keys(conn, ids.order_by(*_ordered(query)).limit(limit))]
    if not page:
        return []
    by_id = {row.id: row for row in conn.execute(select(asset_t).where(asset_t.c.id.in_(page)))}
    return [by_id[i] for i in page if i in by_id]


def _run_on_sort_keys(conn: Connection, statement: Any) -> Any:
    """Run ``statement`` reading ``asset`` through ``ix_asset_sort_keys``.

    SQLite looks an id up in the table itself (its cheapest plan on paper), which reads one wide row per
    match; the narrow index holds every column these statements need, so it is named (``INDEXED BY``).
    SQLAlchemy's SQLite compiler renders no table hints, hence the one edit of the compiled text."""
    compiled = statement.compile(dialect=conn.dialect)
    sql = str(compiled)
    plain = "\nFROM asset \n"
    if sql.count(plain) != 1:  # a filter that reads asset again: run it as written (same rows)
        return conn.execute(statement)
    sql = sql.replace(plain, f"\nFROM asset INDEXED BY {SORT_KEYS_INDEX} \n")
    params = compiled.construct_params()
    values: Sequence[Any] = tuple(params[name] for name in compiled.positiontup or ())
    return conn.exec_driver_sql(sql, tuple(values))


def relevance_rows(
    conn: Connection,
    query: AssetQuery,
    match: SearchMatch,
    after: AssetRecord | None,
    limit: int,
    matches_first_tier: Callable[[str, str], bool],
) -> list[Row[Any]]:
    """A relevance page for words in both indexes (``sky 04``: a substring and a short word prefix).

    Each tier streams the driving index newest first and keeps the ids the other index holds; as one
    statement, SQLite first lists every id of the other word (100,000 for ``04``) to test against. Here
    the tier runs over id windows instead, newest first, each twice the last: both indexes seek the
    window in their doclists, so the list holds only the window's ids, and the page stops in the first
    windows that fill it. Same rows, same order: the windows cut the tier's id order into ranges.
    """
    known: dict[str, bool] = {}

    def first_tier(fts_table: str, tier: str) -> bool:  # asked once, not once per window
        if "answer" not in known:
            known["answer"] = matches_first_tier(fts_table, tier)
        return known["answer"]

    top = int(conn.execute(select(func.max(asset_t.c.id))).scalar() or 0)
    newest_first = not query.descending
    rows: list[Row[Any]] = []
    for tier in range(len(relevance_pages(query, match, after, first_tier))):
        edge = top if newest_first else 1
        if after is not None and tier == 0:  # the tier the last page ended in goes on past it
            edge = after.id - 1 if newest_first else after.id + 1
        size = FIRST_WINDOW
        while 1 <= edge <= top:
            window = (max(1, edge - size + 1), edge) if newest_first else (edge, min(top, edge + size - 1))
            statement = relevance_pages(query, match, after, first_tier, window)[tier]
            rows += conn.execute(statement.limit(limit - len(rows)))
            if len(rows) >= limit:
                return rows
            edge = window[0] - 1 if newest_first else window[1] + 1
            size *= 2
    return rows
