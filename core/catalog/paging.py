"""Paging and counting the grid's assets: keyset pages, jumps to a row, and counts, at any catalog size.

Every order ends in the id, so it is total and a page starts exactly where the last one ended. Jumps into
a big project view use the order's sampled checkpoints (``core.catalog.checkpoints``); counts of a whole
project or kind come from trigger-kept counters. Statements are built in ``core.catalog.queries`` and
``core.catalog.search_plan``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, func, select, text

from core.catalog.checkpoints import OrderCheckpoints
from core.catalog.queries import (
    asset_t,
    count_before,
    filters_for,
    kind_count_t,
    records_from_rows,
    relevance_pages,
    sorted_page,
)
from core.catalog.records import AssetQuery, AssetRecord, SortKey
from core.catalog.search import SearchMatch, search_match
from core.catalog.search_plan import few_matches, relevance_rows, sorted_search_rows

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sqlalchemy import Engine


class AssetPager:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._checkpoints = OrderCheckpoints()  # jumps into big views (page_at, count_before)

    def kind_counts(self, project_id: int) -> dict[str, int]:
        query = select(kind_count_t.c.kind, kind_count_t.c.n).where(
            kind_count_t.c.project_id == project_id, kind_count_t.c.n > 0
        )
        with self._engine.connect() as conn:
            return {r[0]: int(r[1]) for r in conn.execute(query)}

    def page_assets(
        self, query: AssetQuery, after: AssetRecord | None = None, limit: int = 200
    ) -> list[AssetRecord]:
        """One page of the grid, strictly after ``after`` in the query's order (keyset paging).

        Every order ends in the id, so it is total and the next page starts exactly where the last one
        ended, at any depth. A search by relevance reads its index newest first, tier by tier.
        """
        rows: list[Row[Any]] = []
        query = self._tiles(query)
        match = search_match(query.search)
        with self._engine.connect() as conn:
            if match is not None and query.sort != SortKey.RELEVANCE:  # walk or sort, per page
                return records_from_rows(conn, sorted_search_rows(conn, query, match, after, limit))
            if match is not None and len(match.parts()) > 1:  # both indexes: by id windows
                first_tier = self._first_tier_test(after)
                return records_from_rows(conn, relevance_rows(conn, query, match, after, limit, first_tier))
            for statement in self._page_statements(query, after):
                rows += conn.execute(statement.limit(limit - len(rows)))
                if len(rows) >= limit:
                    break
            return records_from_rows(conn, rows)

    def page_at(self, query: AssetQuery, offset: int, limit: int = 200) -> list[AssetRecord]:
        """The page starting at row ``offset`` of the query's order, for a view that jumped there.

        The row before it is found by id alone (``_id_at``), then a keyset page follows it, so the page
        is exactly what paging from the top would have shown.
        """
        if offset <= 0:
            return self.page_assets(query, None, limit)
        query = self._tiles(query)
        before = self._id_at(query, offset - 1)
        record = self._asset(before) if before is not None else None
        return self.page_assets(query, record, limit) if record is not None else []

    def _id_at(self, query: AssetQuery, row: int) -> int | None:
        """The id at ``row``: from the order's checkpoints for a project view, else by OFFSET over the
        order's covering index (reads no asset row; in relevance order, tier by tier)."""
        with self._engine.connect() as conn:
            if self._checkpoints.applies(query):
                conn.exec_driver_sql("BEGIN")  # one snapshot: the checkpoints and the seek agree
                key = self._checkpoints.key_at(conn, query, row)
                return int(key[-1]) if key is not None else None
            for statement in self._page_statements(query, None):
                ids = statement.with_only_columns(asset_t.c.id)
                found = conn.execute(ids.offset(row).limit(1)).scalar()
                if found is not None:
                    return int(found)
                row -= int(conn.execute(select(func.count()).select_from(ids.subquery())).scalar() or 0)
        return None

    def count_before(self, query: AssetQuery, key: Sequence[Any]) -> int:
        """The row of ``key`` in the query's sorted order: how many matches come before it.

        ``key`` is a prefix of the order's values (``[name, id]`` for name order): a whole key places
        an asset; the leading value alone gives the first asset at or past it (a jump to "M" in name
        order, to a date in date order). Relevance order has no such key: it counts in name order.
        """
        query = self._tiles(query)
        if self._checkpoints.applies(query):
            with self._engine.connect() as conn:
                conn.exec_driver_sql("BEGIN")  # one snapshot: the checkpoints and the count agree
                return self._checkpoints.count_before(conn, query, key)
        match = search_match(query.search)
        statement = count_before(query, match.parts() if match is not None else [], key)
        with self._engine.connect() as conn:
            return int(conn.execute(statement).scalar() or 0)

    def _tiles(self, query: AssetQuery) -> AssetQuery:
        """``query`` without the version-stack filter when no asset of its project is a hidden version
        (one probe of a partial index, migration 0007): the filter would cost row reads for nothing."""
        if query.all_versions:
            return query
        probe = select(asset_t.c.id).where(text("NOT asset.stack_top"))  # the partial index's own term
        if query.project_id is not None:
            probe = probe.where(asset_t.c.project_id == query.project_id)
        with self._engine.connect() as conn:
            hidden = conn.execute(probe.limit(1)).first() is not None
        return query if hidden else dataclasses.replace(query, all_versions=True)

    def _page_statements(self, query: AssetQuery, after: AssetRecord | None) -> list[Any]:
        match = search_match(query.search)
        if match is not None and query.sort == SortKey.RELEVANCE:
            return relevance_pages(query, match, after, self._first_tier_test(after))
        few = match is not None and self._few_matches(match)
        return [sorted_page(query, match, after, few_matches=few)]

    def _first_tier_test(self, after: AssetRecord | None) -> Callable[[str, str], bool]:
        return lambda fts, tier: self._matches(fts, tier, after.id if after else 0)

    def _matches(self, fts_table: str, expression: str, asset_id: int) -> bool:
        statement = text(f"SELECT 1 FROM {fts_table} WHERE {fts_table} MATCH :m AND rowid = :id")
        with self._engine.connect() as conn:
            return conn.execute(statement, {"m": expression, "id": asset_id}).first() is not None

    def _few_matches(self, match: SearchMatch) -> bool:
        with self._engine.connect() as conn:
            return few_matches(conn, match)

    def count_assets(self, query: AssetQuery, *, cap: int | None = None) -> int:
        """How many assets match; with ``cap``, counting stops there (the UI shows "10,000+")."""
        if query.project_id is not None and not query.narrowed:
            counts = self.kind_counts(query.project_id)
            return counts.get(query.kind, 0) if query.kind else sum(counts.values())
        match = search_match(query.search)
        searches = match.parts() if match is not None else []
        inner = select(asset_t.c.id).where(*filters_for(self._tiles(query), searches))
        if cap is not None:
            inner = inner.limit(cap)
        statement = select(func.count()).select_from(inner.subquery())
        with self._engine.connect() as conn:
            return int(conn.execute(statement).scalar() or 0)

    def iter_assets(self, query: AssetQuery, batch: int = 1000) -> Iterable[AssetRecord]:
        after: AssetRecord | None = None
        while True:
            page = self.page_assets(query, after, batch)
            yield from page
            if len(page) < batch:
                return
            after = page[-1]

    def _asset(self, asset_id: int) -> AssetRecord | None:
        with self._engine.connect() as conn:
            rows = list(conn.execute(select(asset_t).where(asset_t.c.id == asset_id)))
            found = records_from_rows(conn, rows)
        return found[0] if found else None
