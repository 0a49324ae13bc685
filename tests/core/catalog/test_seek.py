"""Seeking into a big view: the page at any row equals what paging from the top shows there, and a
jump value (a letter, a date, a size) or a whole asset key gives its row in the current order."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from core.catalog.catalog import Catalog
from core.catalog.records import AssetQuery, NewAsset, SortKey
from core.media.kinds import AssetKind

if TYPE_CHECKING:
    from pathlib import Path

DAY = 86_400.0
NAMES = ["apple", "banana", "cherry", "mango", "melon", "nectarine", "orange", "zucchini"]


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


@pytest.fixture
def project(catalog: Catalog) -> int:
    project_id = catalog.create_project("Seek").id
    # 8 fruit names x 60 each, sizes and dates interleaved so every order differs from name order.
    catalog.add_assets(
        [
            NewAsset(
                project_id=project_id,
                name=f"{NAMES[i % len(NAMES)]}_{i:04d}",
                path=f"/lib/{i}",
                kind=AssetKind.IMAGE if i % 3 else AssetKind.VIDEO,
                content_hash=f"{i:032x}",
                size_bytes=(i * 7919) % 1000,
            )
            for i in range(480)
        ]
    )
    return project_id


def _all(catalog: Catalog, query: AssetQuery) -> list[int]:
    return [r.id for r in catalog.iter_assets(query, batch=37)]


@pytest.mark.parametrize(
    ("sort", "descending", "search"),
    [
        (SortKey.NAME, False, ""),
        (SortKey.SIZE, True, ""),
        (SortKey.KIND, False, ""),
        (SortKey.RELEVANCE, False, "ang"),
    ],
)
def test_page_at_any_row_is_the_page_paging_shows(
    catalog: Catalog, project: int, sort: SortKey, descending: bool, search: str
) -> None:
    query = AssetQuery(project_id=project, sort=sort, descending=descending, search=search)
    everything = _all(catalog, query)
    assert len(everything) > 100, "more rows than a page, so pages start mid-order"
    for offset in (0, 1, 50, len(everything) - 10, len(everything)):
        assert [r.id for r in catalog.page_at(query, offset, 25)] == everything[offset : offset + 25]


def test_jump_to_a_letter_in_name_order(catalog: Catalog, project: int) -> None:
    query = AssetQuery(project_id=project)
    names = [r.name for r in catalog.iter_assets(query)]
    row = catalog.count_before(query, ["m"])
    assert names[row].startswith("mango")
    assert names[row - 1].startswith("cherry")
    # Z to A: jumping to "m" lands on the last name starting with m ("melon…", the first seen).
    backwards = AssetQuery(project_id=project, descending=True)
    names_back = [r.name for r in catalog.iter_assets(backwards)]
    row = catalog.count_before(backwards, ["m\U0010ffff"])
    assert names_back[row].startswith("melon")
    assert names_back[row - 1].startswith("nectarine")


def test_jump_to_a_size_and_to_an_asset(catalog: Catalog, project: int) -> None:
    query = AssetQuery(project_id=project, sort=SortKey.SIZE, descending=True)
    records = list(catalog.iter_assets(query))
    row = catalog.count_before(query, [500])
    assert records[row].size_bytes <= 500 < records[row - 1].size_bytes
    for record in (records[0], records[123], records[-1]):
        assert catalog.count_before(query, [record.size_bytes, record.id]) == records.index(record)


def test_jump_to_a_date_in_date_order(catalog: Catalog, project: int) -> None:
    query = AssetQuery(project_id=project, sort=SortKey.CREATED)
    records = list(catalog.iter_assets(query))
    middle = records[240].created_at
    row = catalog.count_before(query, [middle])
    assert records[row].created_at == middle
    assert row == 0 or records[row - 1].created_at < middle
    assert catalog.count_before(query, [middle + 10 * DAY]) == len(records)
