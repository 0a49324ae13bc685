"""Version stacks (one grid tile per shot, newest on top) and playlists, on a real temp catalog."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from core.catalog.catalog import Catalog, CatalogError
from core.catalog.records import AssetQuery, NewAsset
from core.review.versions import parse_version

if TYPE_CHECKING:
    from pathlib import Path


def asset(project_id: int, name: str, kind: str = "video") -> NewAsset:
    return NewAsset(project_id, name, f"/shots/{name}", kind, f"hash-{name}", 100, {})


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


def names(records: list) -> list[str]:  # type: ignore[type-arg]
    return [r.name for r in records]


@pytest.mark.parametrize(
    ("name", "kind", "stack", "version"),
    [
        ("shot010_v001.mp4", "video", "video:shot010|", 1),
        ("shot010_V012.MOV", "video", "video:shot010|", 12),
        ("shot010_comp_v003_denoise.mov", "video", "video:shot010_comp|denoise", 3),
        ("plate.v7.exr", "image", "image:plate|", 7),
        ("shot_v002.####.exr", "sequence", "sequence:shot|####", 2),
    ],
)
def test_names_say_stack_and_version(name: str, kind: str, stack: str, version: int) -> None:
    parsed = parse_version(name, kind)
    assert parsed is not None
    assert (parsed.stack_key, parsed.version) == (stack, version)


@pytest.mark.parametrize("name", ["v003.mov", "review.mov", "movie2.mp4", "nav12.mp4", "dev_review"])
def test_names_without_a_version_token_stack_with_nothing(name: str) -> None:
    assert parse_version(name, "video") is None


def test_versions_by_name_show_as_one_tile_with_the_newest_on_top(catalog: Catalog) -> None:
    project = catalog.create_project("Show")
    catalog.add_assets([asset(project.id, n) for n in ("shot010_v001.mp4", "shot010_v002.mp4", "intro.mp4")])
    catalog.add_assets(
        [asset(project.id, "shot010_v003.mp4"), asset(project.id, "shot010_v003.obj", "geometry")]
    )
    query = AssetQuery(project_id=project.id)
    tiles = catalog.page_assets(query, None, 50)
    assert names(tiles) == ["intro.mp4", "shot010_v003.mp4", "shot010_v003.obj"]
    top = tiles[1]
    assert (top.version, top.stack_size) == (3, 3)
    assert tiles[2].stack_size == 1  # same name, another kind: not a version of the clip
    # The grid's row count (from the trigger-kept counters) equals the tiles its pages return.
    assert catalog.count_assets(query) == 3
    assert catalog.kind_counts(project.id) == {"video": 2, "geometry": 1}
    assert names(catalog.stacks.versions_of(top.id)) == [
        "shot010_v001.mp4",
        "shot010_v002.mp4",
        "shot010_v003.mp4",
    ]


def test_deleting_the_newest_version_brings_the_previous_one_up(catalog: Catalog) -> None:
    project = catalog.create_project("Show")
    ids = catalog.add_assets([asset(project.id, f"shot_v00{n}.mp4") for n in (1, 2)])
    catalog.delete_assets([ids["hash-shot_v002.mp4"]])
    query = AssetQuery(project_id=project.id)
    assert names(catalog.page_assets(query, None, 50)) == ["shot_v001.mp4"]
    assert catalog.count_assets(query) == 1


def test_stack_by_hand_then_split(catalog: Catalog) -> None:
    project = catalog.create_project("Show")
    ids = catalog.add_assets([asset(project.id, n) for n in ("take_a.mov", "take_b.mov", "take_c.mov")])
    order = [ids["hash-take_c.mov"], ids["hash-take_a.mov"]]
    catalog.stacks.stack_as_versions(order)
    query = AssetQuery(project_id=project.id)
    tiles = catalog.page_assets(query, None, 50)
    assert names(tiles) == ["take_a.mov", "take_b.mov"]  # take_a is v2, the newest
    assert (tiles[0].version, tiles[0].stack_size) == (2, 2)
    assert catalog.count_assets(query) == 2
    # A later ingest of a file with a version token does not join a hand-made stack.
    catalog.add_assets([asset(project.id, "take_v9.mov")])
    assert catalog.count_assets(query) == 3
    split = catalog.stacks.split_stack(ids["hash-take_a.mov"])
    assert sorted(split) == sorted(order)
    assert names(catalog.page_assets(query, None, 50)) == [
        "take_a.mov",
        "take_b.mov",
        "take_c.mov",
        "take_v9.mov",
    ]
    assert catalog.count_assets(query) == 4
    with pytest.raises(CatalogError, match="at least two"):
        catalog.stacks.stack_as_versions([ids["hash-take_b.mov"]])


def test_migration_stacks_an_existing_catalog(tmp_path: Path) -> None:
    """A catalog from before version stacks: its versions are found by name when it is opened."""
    from sqlalchemy import create_engine

    from core.catalog import database

    path = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    from alembic import command
    from alembic.config import Config

    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(database.MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        connection.exec_driver_sql(
            "INSERT INTO project (id, name, description, created_at, updated_at) VALUES (1, 'Old', '', 0, 0)"
        )
        for n in (1, 2, 3):
            connection.exec_driver_sql(
                "INSERT INTO asset (project_id, name, path, kind, content_hash, size_bytes, status, "
                "metadata_json, copied, tags_text, notes, created_at, modified_at, rating, label) "
                f"VALUES (1, 'bg_v00{n}.exr', '/x', 'image', 'h{n}', 1, 'ready', '{{}}', 0, '', '', "
                "0, 0, 0, 'none')"
            )
    engine.dispose()
    catalog = Catalog(path)
    query = AssetQuery(project_id=1)
    [tile] = catalog.page_assets(query, None, 50)
    assert (tile.name, tile.stack_size) == ("bg_v003.exr", 3)
    assert catalog.count_assets(query) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT n FROM asset_kind_count").fetchall() == [(1,)]


def test_playlists_keep_order_duplicates_and_their_project(catalog: Catalog) -> None:
    project = catalog.create_project("Show")
    other = catalog.create_project("Other")
    ids = catalog.add_assets([asset(project.id, n) for n in ("a.mov", "b.mov", "c.mov")])
    [foreign] = catalog.add_assets([asset(other.id, "x.mov")]).values()
    a, b, c = (ids[f"hash-{n}.mov"] for n in "abc")
    dailies = catalog.playlists.create(project.id, "Dailies 12 May", [c, a])
    assert dailies.item_count == 2
    catalog.playlists.add_items(dailies.id, [b, c])
    assert names(catalog.playlists.items(dailies.id)) == ["c.mov", "a.mov", "b.mov", "c.mov"]
    catalog.playlists.set_items(dailies.id, [b, a])
    assert names(catalog.playlists.items(dailies.id)) == ["b.mov", "a.mov"]
    with pytest.raises(CatalogError, match="own project"):
        catalog.playlists.add_items(dailies.id, [foreign])
    with pytest.raises(CatalogError, match="already exists"):
        catalog.playlists.create(project.id, "Dailies 12 May")
    catalog.delete_assets([a])
    assert names(catalog.playlists.items(dailies.id)) == ["b.mov"]
    assert catalog.playlists.by_name(project.id, "Dailies 12 May") == catalog.playlists.get(dailies.id)
    assert [p.name for p in catalog.playlists.of_project(project.id)] == ["Dailies 12 May"]
    catalog.playlists.delete(dailies.id)
    assert catalog.playlists.of_project(project.id) == []
