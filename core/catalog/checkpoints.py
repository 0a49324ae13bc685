"""Sampled row -> key checkpoints per sort order, so a jump costs a short walk instead of an OFFSET walk.

Finding row 500,000 of a 1M-asset project by OFFSET walks half the order's index (0.9 s); counting the
rows before the letter "r" walks as far. Here every ``STEP``-th key of an order (ascending, ending in the
id, so each key names one row) is kept in memory: row ``r`` is ``r % STEP`` index steps past the
checkpoint below it, and the rows before a key are the checkpoint's row minus a count of fewer than
``STEP`` rows. A descending order is the ascending one read from the other end.

Checkpoints hold only while ``asset_order_generation`` (migration 0008) stays put: triggers move it on
every insert, delete and change of a sort column or of which assets are tiles, in any process. A stale
set is rebuilt on the next jump, one seek of ``STEP`` rows per checkpoint (the cost of one OFFSET walk
to the end, once per change). They serve the views a grid jumps around in: a project, optionally one
kind; a search or a narrowing filter still counts and walks its matches (``Catalog.page_at``).
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, text, tuple_

from core.catalog.queries import asset_t, count_before, filters_for, sort_columns
from core.catalog.records import AssetQuery, SortKey

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Connection

STEP = 1000

Key = tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class _Sample:
    generation: int
    total: int
    keys: list[Key]  # the full key of ascending rows 0, STEP, 2 * STEP, ...


class OrderCheckpoints:
    """Per (project, kind, versions shown, order): the sampled keys, rebuilt when the catalog moved on."""

    def __init__(self) -> None:
        self._samples: dict[tuple[Any, ...], _Sample] = {}
        self._lock = threading.Lock()

    @staticmethod
    def applies(query: AssetQuery) -> bool:
        """A project's view, one kind or all, tiles or every version (``narrowed`` counts the latter)."""
        view = dataclasses.replace(query, all_versions=False)
        return query.project_id is not None and not view.narrowed

    def key_at(self, conn: Connection, query: AssetQuery, row: int) -> Key | None:
        """The full key (sort values, id) of ``row`` in the query's order; None past the end."""
        sample = self._sample(conn, query)
        ascending_row = sample.total - 1 - row if query.descending else row
        if not 0 <= ascending_row < sample.total:
            return None
        base = sample.keys[ascending_row // STEP]
        skip = ascending_row % STEP
        if skip == 0:
            return base
        found = conn.execute(_walk(query), {f"k{i}": v for i, v in enumerate(base)} | {"skip": skip - 1})
        first = found.first()
        return tuple(first) if first is not None else None

    def count_before(self, conn: Connection, query: AssetQuery, key: Sequence[Any]) -> int:
        """How many rows come before ``key`` (a prefix of the order's values) in the query's order."""
        sample = self._sample(conn, query)
        prefix = tuple(key)
        try:
            if query.descending:  # before it going down: everything above it going up
                return sample.total - _rows_below(conn, query, sample, prefix, inclusive=True)
            return _rows_below(conn, query, sample, prefix, inclusive=False)
        except TypeError:  # a value Python cannot order against the column's (SQLite can): count
            return int(conn.execute(count_before(query, [], key)).scalar() or 0)

    def _sample(self, conn: Connection, query: AssetQuery) -> _Sample:
        generation = int(
            conn.execute(text("SELECT n FROM asset_order_generation WHERE id = 1")).scalar() or 0
        )
        order = SortKey.NAME if query.sort == SortKey.RELEVANCE else query.sort
        cache_key = (query.project_id, query.kind, query.all_versions, order)
        with self._lock:
            sample = self._samples.get(cache_key)
        if sample is not None and sample.generation == generation:
            return sample
        sample = _build(conn, query, generation)
        with self._lock:
            self._samples[cache_key] = sample
        return sample


def _columns(query: AssetQuery) -> list[Any]:
    return sort_columns(query)


def _filters(query: AssetQuery) -> list[Any]:
    order = SortKey.NAME if query.sort == SortKey.RELEVANCE else query.sort
    return filters_for(query, [], order=order)


def _past_key(query: AssetQuery) -> Any:
    columns = _columns(query)
    return tuple_(*columns) > tuple_(*[bindparam(f"k{i}") for i in range(len(columns))])


def _walk(query: AssetQuery) -> Any:
    """The key ``:skip`` rows past the bound key ``:k0…``, walking the order's index upwards."""
    columns = _columns(query)
    return (
        select(*columns)
        .where(*_filters(query), _past_key(query))
        .order_by(*[c.asc() for c in columns])
        .offset(bindparam("skip"))
        .limit(1)
    )


def _build(conn: Connection, query: AssetQuery, generation: int) -> _Sample:
    """One pass over the order's covering index, keeping every STEP-th key.

    Not a chain of "STEP rows past the last checkpoint" seeks: SQLite seeks a row value only on the
    leading column when the next one is the rowid, so each seek would scan its value's ties (166,000
    assets share each star rating, 50,000 an ingest batch's timestamp)."""
    columns = _columns(query)
    ordered = select(*columns).where(*_filters(query)).order_by(*[c.asc() for c in columns])
    compiled = ordered.compile(dialect=conn.dialect)
    values = compiled.construct_params()
    params = tuple(values[name] for name in compiled.positiontup or ())
    driver = conn.connection.driver_connection
    assert driver is not None
    keys: list[Key] = []
    total = 0
    for total, row in enumerate(driver.execute(str(compiled), params), start=1):  # plain tuples
        if (total - 1) % STEP == 0:
            keys.append(tuple(row))
    return _Sample(generation, total, keys)


def _rows_below(conn: Connection, query: AssetQuery, sample: _Sample, prefix: Key, *, inclusive: bool) -> int:
    """Ascending rows whose leading values are below ``prefix`` (or at most ``prefix``): the checkpoint
    past it gives a row number, and fewer than STEP rows between the two are counted."""
    width = len(prefix)
    columns = _columns(query)
    leading = [key[:width] for key in sample.keys]
    index = (bisect.bisect_right if inclusive else bisect.bisect_left)(leading, prefix)
    if index == 0:
        return 0
    bound = tuple_(*columns[:width])
    values = tuple_(*[bindparam(f"p{i}") for i in range(width)])
    past = bound > values if inclusive else bound >= values
    terms = [*_filters(query), past]
    params = {f"p{i}": v for i, v in enumerate(prefix)}
    if index < len(sample.keys):  # rows from the prefix up to the checkpoint past it
        terms.append(tuple_(*columns) < tuple_(*[bindparam(f"k{i}") for i in range(len(columns))]))
        params |= {f"k{i}": v for i, v in enumerate(sample.keys[index])}
        row = index * STEP
    else:  # rows from the prefix to the end
        row = sample.total
    between = select(func.count()).select_from(select(asset_t.c.id).where(*terms).subquery())
    return row - int(conn.execute(between, params).scalar() or 0)
