"""Searching inside names (substrings), sorting a search by any column or by relevance, and the migration
that brings the substring index to a catalog made by an older version."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from core.catalog import search_plan
from core.catalog.catalog import Catalog
from core.catalog.records import AssetQuery, NewAsset, SortKey
from core.media.kinds import AssetKind

if TYPE_CHECKING:
    from pathlib import Path


def _asset(
    project_id: int, i: int, name: str, *, kind: AssetKind = AssetKind.IMAGE, folder: str = "lib"
) -> NewAsset:
    return NewAsset(
        project_id=project_id,
        name=name,
        path=f"/{folder}/{name}",
        kind=kind,
        content_hash=f"{i:032x}",
        size_bytes=1000 * i,
    )


def _all_pages(catalog: Catalog, query: AssetQuery, page: int = 3) -> list[str]:
    names: list[str] = []
    after = None
    while True:
        found = catalog.page_assets(query, after, page)
        names += [a.name for a in found]
        if len(found) < page:
            return names
        after = found[-1]


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


def test_substrings_are_found_anywhere_in_a_name_and_short_words_by_prefix(catalog: Catalog) -> None:
    project = catalog.create_project("P")
    catalog.add_assets(
        [
            _asset(project.id, 1, "Massive_rock.exr"),
            _asset(project.id, 2, "skyHDRI_v02.exr"),
            _asset(project.id, 3, "sky_dome.exr"),
            _asset(project.id, 4, "tree.obj", kind=AssetKind.GEOMETRY),
        ]
    )

    def names(text: str) -> set[str]:
        return set(_all_pages(catalog, AssetQuery(project_id=project.id, search=text)))

    assert names("ssi") == {"Massive_rock.exr"}
    assert names("SSIVE") == {"Massive_rock.exr"}  # case does not matter
    assert names("hdri") == {"skyHDRI_v02.exr"}
    assert names("sk") == {"skyHDRI_v02.exr", "sky_dome.exr"}  # too short for trigrams: word prefix
    assert names("sk dome") == {"sky_dome.exr"}  # a short and a long word together
    assert names("ive_ro") == {"Massive_rock.exr"}
    assert catalog.count_assets(AssetQuery(project_id=project.id, search="exr")) == 3


def test_a_search_sorts_by_any_column_both_ways_and_pages_through_every_match(catalog: Catalog) -> None:
    project = catalog.create_project("P")
    kinds = [AssetKind.IMAGE, AssetKind.VIDEO, AssetKind.GEOMETRY]
    catalog.add_assets(
        [
            _asset(project.id, i, f"{'rock' if i % 2 else 'tree'}_{(i * 7) % 20:02d}", kind=kinds[i % 3])
            for i in range(1, 21)
        ]
    )
    rocks = {f"rock_{(i * 7) % 20:02d}" for i in range(1, 21, 2)}
    for sort in SortKey:
        for descending in (False, True):
            query = AssetQuery(project_id=project.id, search="ock", sort=sort, descending=descending)
            found = _all_pages(catalog, query)
            assert sorted(found) == sorted(rocks), query  # each match exactly once
            if sort == SortKey.NAME:
                assert found == sorted(rocks, reverse=descending)
    by_kind = _all_pages(catalog, AssetQuery(project_id=project.id, search="ock", sort=SortKey.KIND))
    records = {
        a.name: a for a in catalog.page_assets(AssetQuery(project_id=project.id, search="ock"), None, 50)
    }
    keys = [(records[n].kind, n) for n in by_kind]
    assert keys == sorted(keys)
    biggest = catalog.page_assets(
        AssetQuery(project_id=project.id, search="ock", sort=SortKey.SIZE, descending=True), None, 1
    )
    assert biggest[0].size_bytes == 19_000


def test_rare_and_common_searches_take_their_own_plans_and_agree(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few matches are sorted; many are found by walking the sort index. Both give the same pages."""
    project = catalog.create_project("P")
    catalog.add_assets([_asset(project.id, i, f"crate_{i:03d}") for i in range(1, 41)])
    query = AssetQuery(project_id=project.id, search="crate", sort=SortKey.NAME, descending=True)
    sorted_few = _all_pages(catalog, query, page=7)
    monkeypatch.setattr(search_plan, "FEW_MATCHES", 5)
    walked = _all_pages(catalog, query, page=7)
    assert sorted_few == walked == [f"crate_{i:03d}" for i in range(40, 0, -1)]


def test_relevance_puts_name_matches_first_then_newest(catalog: Catalog) -> None:
    project = catalog.create_project("P")
    ids = catalog.add_assets(
        [
            _asset(project.id, 1, "forest_a.exr"),
            _asset(project.id, 2, "plate.exr", folder="forest"),  # matches in its path only
            _asset(project.id, 3, "forest_b.exr"),
            _asset(project.id, 4, "notes_only.exr"),
            _asset(project.id, 5, "forest_c.exr"),
        ]
    )
    catalog.set_notes(ids[f"{4:032x}"], "shot in the forest at dusk")
    query = AssetQuery(project_id=project.id, search="fores", sort=SortKey.RELEVANCE)
    expected = ["forest_c.exr", "forest_b.exr", "forest_a.exr", "notes_only.exr", "plate.exr"]
    for page in (1, 2, 5):
        assert _all_pages(catalog, query, page) == expected
    reversed_query = AssetQuery(
        project_id=project.id, search="fores", sort=SortKey.RELEVANCE, descending=True
    )
    assert _all_pages(catalog, reversed_query, 2) == expected[::-1]
    # Without a search there is nothing to be relevant to: the grid falls back to names.
    assert _all_pages(catalog, AssetQuery(project_id=project.id, sort=SortKey.RELEVANCE))[0] == "forest_a.exr"


def test_the_migration_indexes_a_catalog_made_before_substring_search(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from core.catalog.database import MIGRATIONS_DIR, create_catalog_engine

    db = tmp_path / "old.sqlite3"
    engine = create_catalog_engine(db)
    with engine.connect() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")  # the catalog as the previous release left it
        connection.exec_driver_sql(
            "INSERT INTO project (id, name, description, created_at, updated_at) VALUES (1, 'Old', '', 0, 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO asset (project_id, name, path, kind, content_hash, size_bytes, status, "
            "metadata_json, copied, tags_text, notes, created_at, modified_at) VALUES (1, "
            "'Massive_rock.exr', '/lib/Massive_rock.exr', 'image', 'h1', 1, 'ready', '{}', 0, '', '', 0, 0)"
        )
        connection.commit()
    engine.dispose()

    catalog = Catalog(db)  # opening migrates
    try:
        assert _all_pages(catalog, AssetQuery(project_id=1, search="ssi")) == ["Massive_rock.exr"]
        catalog.add_assets([_asset(1, 2, "impassive.exr")])  # the triggers index new rows too
        assert sorted(_all_pages(catalog, AssetQuery(project_id=1, search="ssiv"))) == [
            "Massive_rock.exr",
            "impassive.exr",
        ]
    finally:
        catalog.close()
