"""The fast paths agree with the plain queries: a sorted search (walked or sorted, per page), the jump
checkpoints (row -> key samples per order) and the label-and-rating count give exactly the ids, in
exactly the order, that one plain SQL statement gives, before and after the catalog changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event

from core.catalog import checkpoints, search_plan
from core.catalog.catalog import Catalog
from core.catalog.records import AssetQuery, ColourLabel, NewAsset, SortKey
from core.media.kinds import AssetKind

if TYPE_CHECKING:
    from pathlib import Path

KINDS = [AssetKind.IMAGE, AssetKind.VIDEO, AssetKind.GEOMETRY]
LABELS = ["none", "red", "blue", "red"]
# The SQL order of each sort, as a plain ORDER BY (ties broken by id, as the grid's keyset does).
ORDER_BY = {
    SortKey.NAME: ["name", "id"],
    SortKey.CREATED: ["created_at", "id"],
    SortKey.SIZE: ["size_bytes", "id"],
    SortKey.KIND: ["kind", "name", "id"],
    SortKey.RATING: ["rating", "id"],
}
ORDERS = [(sort, descending) for sort in ORDER_BY for descending in (False, True)]


def _name(i: int) -> str:
    # "zeta" names cluster at the end of name order; "mid" ones in its middle; every name is one of
    # few stems, so names tie on long prefixes and the kind order ties on kind.
    if i % 5 == 0:
        return f"zeta_{i % 40:03d}"
    if i % 5 == 1:
        return f"mid_{i:04d}"
    return f"{'abcde'[i % 5]}_{i:04d}"


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


@pytest.fixture
def project(catalog: Catalog) -> int:
    project_id = catalog.create_project("Plans").id
    catalog.add_assets([_new(project_id, i) for i in range(300)])
    with catalog.engine.begin() as conn:  # ratings and labels with many ties
        conn.exec_driver_sql(
            "UPDATE asset SET rating = (id * 7) % 6, label = CASE id % 4 WHEN 1 THEN 'red' "
            "WHEN 2 THEN 'blue' WHEN 3 THEN 'red' ELSE 'none' END"
        )
    return project_id


def _new(project_id: int, i: int) -> NewAsset:
    # "spread" sits in every seventh path, wherever the name sorts.
    folder = "spread" if i % 7 == 0 else "lib"
    return NewAsset(
        project_id=project_id,
        name=_name(i),
        path=f"/{folder}/{i}",
        kind=KINDS[i % 3],
        content_hash=f"{i:032x}",
        size_bytes=(i % 9) * 100,  # nine sizes: ties everywhere
    )


def _plain(catalog: Catalog, project_id: int, sort: SortKey, descending: bool, search: str = "") -> list[int]:
    direction = " DESC" if descending else ""
    order = ", ".join(f"{c}{direction}" for c in ORDER_BY[sort])
    where = "project_id = ?"
    args: list[Any] = [project_id]
    if search:
        where += " AND id IN (SELECT rowid FROM asset_trigram WHERE asset_trigram MATCH ?)"
        args.append(f'"{search}"')
    with catalog.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT id FROM asset WHERE {where} ORDER BY {order}", tuple(args))
        return [r[0] for r in rows]


def _paged(catalog: Catalog, query: AssetQuery, page: int) -> list[int]:
    ids: list[int] = []
    after = None
    while True:
        found = catalog.page_assets(query, after, page)
        ids += [a.id for a in found]
        if len(found) < page:
            return ids
        after = found[-1]


@pytest.fixture
def plans_taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Small thresholds so 300 assets take every plan, and a record of the plans each page took."""
    monkeypatch.setattr(search_plan, "FEW_MATCHES", 4)
    monkeypatch.setattr(search_plan, "SAMPLE", 6)
    monkeypatch.setattr(search_plan, "WALK_BUDGET", 30)
    monkeypatch.setattr(search_plan, "PROBE_BUDGET", 20)
    taken: list[str] = []
    for name in ("_walk", "_sort"):
        real = getattr(search_plan, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            taken.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(search_plan, name, spy)
    return taken


@pytest.mark.parametrize(("sort", "descending"), ORDERS)
@pytest.mark.parametrize("search", ["zeta", "spread", "mid_01"])
def test_a_sorted_search_pages_exactly_as_the_plain_query_orders_its_matches(
    catalog: Catalog, project: int, plans_taken: list[str], sort: SortKey, descending: bool, search: str
) -> None:
    query = AssetQuery(project_id=project, search=search, sort=sort, descending=descending)
    expected = _plain(catalog, project, sort, descending, search)
    assert len(expected) > 8, "more matches than FEW_MATCHES: the planner decides"
    for page in (5, 13):
        assert _paged(catalog, query, page) == expected


def test_clustered_matches_are_sorted_and_spread_ones_walked(
    catalog: Catalog, project: int, plans_taken: list[str]
) -> None:
    """Which plan a page takes: what a user notices as speed, asserted on the plan taken."""
    clustered = AssetQuery(project_id=project, search="zeta", sort=SortKey.NAME)  # all at the end
    sent: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        sent.append(statement)

    event.listen(catalog.engine, "before_cursor_execute", capture)
    catalog.page_assets(clustered, None, 5)
    event.remove(catalog.engine, "before_cursor_execute", capture)
    assert plans_taken == ["_sort"]
    assert any("INDEXED BY ix_asset_sort_keys" in statement for statement in sent)  # no wide rows read
    plans_taken.clear()
    spread = AssetQuery(project_id=project, search="spread", sort=SortKey.CREATED)
    catalog.page_assets(spread, None, 3)
    assert plans_taken == ["_walk"]
    plans_taken.clear()
    everything = _paged(catalog, clustered, 7)  # deep pages past the sample walk, then sort the rest
    assert everything == _plain(catalog, project, SortKey.NAME, False, "zeta")
    assert "_walk" in plans_taken
    assert "_sort" in plans_taken


def test_a_sorted_search_stays_exact_after_inserts_deletes_and_edits(
    catalog: Catalog, project: int, plans_taken: list[str]
) -> None:
    query = AssetQuery(project_id=project, search="zeta", sort=SortKey.SIZE, descending=True)
    catalog.add_assets([_new(project, i) for i in range(300, 360)])
    ids = _plain(catalog, project, SortKey.SIZE, True, "zeta")
    catalog.delete_assets(ids[3:9])
    catalog.curation.set_rating(ids[10:20], 5)
    assert _paged(catalog, query, 6) == _plain(catalog, project, SortKey.SIZE, True, "zeta")


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoints, "STEP", 7)  # 300 assets: 43 checkpoints per order


def _check_jumps(catalog: Catalog, project: int) -> None:
    for sort, descending in ORDERS:
        query = AssetQuery(project_id=project, sort=sort, descending=descending)
        expected = _plain(catalog, project, sort, descending)
        for offset in (0, 1, 6, 7, 8, 50, 139, len(expected) - 3, len(expected), len(expected) + 5):
            assert [r.id for r in catalog.page_at(query, offset, 9)] == expected[offset : offset + 9], (
                sort,
                descending,
                offset,
            )
        records = {r.id: r for r in catalog.get_assets(expected)}
        columns = ORDER_BY[sort]
        keys = [tuple(getattr(records[i], c if c != "id" else "id") for c in columns) for i in expected]
        for row in (0, 1, 6, 7, 100, len(expected) - 1):
            # A whole key gives its own row; its leading value alone, the first row at or past it.
            assert catalog.count_before(query, list(keys[row])) == row
            leading = keys[row][0]
            first = next(i for i, key in enumerate(keys) if key[0] == leading)
            assert catalog.count_before(query, [leading]) == first
    by_size = AssetQuery(project_id=project, sort=SortKey.SIZE)
    assert catalog.count_before(by_size, ["big"]) == len(_plain(catalog, project, SortKey.SIZE, False))
    past_z = AssetQuery(project_id=project)
    assert catalog.count_before(past_z, ["zz"]) == len(_plain(catalog, project, SortKey.NAME, False))
    assert catalog.count_before(past_z, [""]) == 0


def test_page_at_and_count_before_match_the_plain_order_in_every_order(
    catalog: Catalog, project: int, small_steps: None
) -> None:
    _check_jumps(catalog, project)


def test_checkpoints_follow_inserts_deletes_renames_and_ratings(
    catalog: Catalog, project: int, small_steps: None, tmp_path: Path
) -> None:
    _check_jumps(catalog, project)  # builds every order's checkpoints
    catalog.add_assets([_new(project, i) for i in range(300, 340)])
    _check_jumps(catalog, project)
    ids = _plain(catalog, project, SortKey.NAME, False)
    catalog.delete_assets(ids[:15])
    _check_jumps(catalog, project)
    catalog.curation.set_rating(ids[40:90], 5)
    _check_jumps(catalog, project)
    # Another process renames and moves assets: its triggers move the same counter.
    other = Catalog(tmp_path / "catalog.sqlite3")
    with other.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE asset SET name = 'aaa_' || name WHERE id % 11 = 0")
        conn.exec_driver_sql("UPDATE asset SET size_bytes = 50, created_at = 1.0 WHERE id % 13 = 0")
    other.close()
    _check_jumps(catalog, project)


def test_a_kind_filtered_view_jumps_on_its_own_checkpoints(
    catalog: Catalog, project: int, small_steps: None
) -> None:
    query = AssetQuery(project_id=project, kind=AssetKind.VIDEO, sort=SortKey.SIZE, descending=True)
    expected = [r.id for r in catalog.iter_assets(query, batch=11)]
    for offset in (0, 7, 30, len(expected) - 2):
        assert [r.id for r in catalog.page_at(query, offset, 5)] == expected[offset : offset + 5]
    everything = AssetQuery(project_id=project, sort=SortKey.SIZE, descending=True)
    assert catalog.count_before(everything, [0]) != catalog.count_before(query, [0])


def test_label_and_rating_count_reads_the_label_index_and_agrees(catalog: Catalog, project: int) -> None:
    query = AssetQuery(project_id=project, label=ColourLabel.RED, min_rating=4)
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        sent.append((statement, parameters))

    event.listen(catalog.engine, "before_cursor_execute", capture)
    counted = catalog.count_assets(query)
    event.remove(catalog.engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in sent if "count(" in s)
    with catalog.engine.connect() as conn:
        plain = conn.exec_driver_sql(
            "SELECT count(*) FROM asset WHERE project_id = ? AND label = 'red' AND rating >= 4", (project,)
        ).scalar()
        plan = " ".join(
            str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    assert counted == plain > 0
    assert "COVERING INDEX ix_asset_project_label_name" in plan  # no asset row read per red asset
    assert len([r.id for r in catalog.iter_assets(query, batch=7)]) == plain


def _relevance_expected(
    catalog: Catalog, project_id: int, long: str, short: str, descending: bool
) -> list[int]:
    """The relevance order spelled out: name matches, then the rest; newest first in each (reversed
    when descending); every row also holding the short word."""
    tiers = [f'name : ("{long}")', f'("{long}") NOT (name : ("{long}"))']
    ids: list[int] = []
    for tier in reversed(tiers) if descending else tiers:
        with catalog.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT rowid FROM asset_trigram WHERE asset_trigram MATCH ? AND rowid IN "
                "(SELECT rowid FROM asset_fts WHERE asset_fts MATCH ?) "
                "AND rowid IN (SELECT id FROM asset WHERE project_id = ?) "
                f"ORDER BY rowid {'ASC' if descending else 'DESC'}",
                (tier, f'"{short}"*', project_id),
            )
            ids += [r[0] for r in rows]
    return ids


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("first_window", [1, 5, 64])
def test_a_two_index_search_by_relevance_pages_by_id_windows_exactly(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch, descending: bool, first_window: int
) -> None:
    project_id = catalog.create_project("Windows").id
    other = catalog.create_project("Other").id
    catalog.add_assets(
        [
            NewAsset(
                project_id=project_id if i % 9 else other,  # another project's matches are left out
                name=f"{'sky' if i % 3 == 0 else 'rock'}_{i:04d}",
                path=f"/{'skyline' if i % 4 == 0 else 'lib'}/{i % 100:02d}/{i}",
                kind=AssetKind.IMAGE,
                content_hash=f"{i:032x}",
                size_bytes=i,
            )
            for i in range(240)
        ]
    )
    monkeypatch.setattr(search_plan, "FIRST_WINDOW", first_window)
    windows: list[tuple[int, int]] = []
    real = search_plan.relevance_pages

    def spy(*args: Any) -> Any:
        if len(args) > 4 and args[4] is not None:
            windows.append(args[4])
        return real(*args)

    monkeypatch.setattr(search_plan, "relevance_pages", spy)
    query = AssetQuery(project_id=project_id, search="sky 1", sort=SortKey.RELEVANCE, descending=descending)
    expected = _relevance_expected(catalog, project_id, "sky", "1", descending)
    assert len(expected) > 14, "more than two pages, in both tiers"
    assert _paged(catalog, query, 7) == expected
    assert windows, "the windowed plan ran"
    # A search in one index keeps its single statement per tier (no windows).
    windows.clear()
    catalog.page_assets(AssetQuery(project_id=project_id, search="sky", sort=SortKey.RELEVANCE), None, 7)
    assert windows == []
