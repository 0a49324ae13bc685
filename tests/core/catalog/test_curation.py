"""Ratings, colour labels, batch tags and notes, saved searches, and the migration that adds them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import event

from core.catalog.catalog import Catalog, CatalogError
from core.catalog.records import AssetQuery, ColourLabel, NewAsset, SortKey
from core.media.kinds import AssetKind

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.records import AssetRecord


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite3")


def _add(catalog: Catalog, count: int) -> tuple[int, list[int]]:
    project = catalog.create_project("Show")
    ids = catalog.add_assets(
        [
            NewAsset(project.id, f"a{i:03d}.png", f"/lib/a{i:03d}.png", AssetKind.IMAGE, f"{i:032x}", i)
            for i in range(count)
        ]
    )
    return project.id, sorted(ids.values())


def _pages(catalog: Catalog, query: AssetQuery, page: int = 4) -> list[AssetRecord]:
    found: list[AssetRecord] = []
    after = None
    while batch := catalog.page_assets(query, after, page):
        found += batch
        after = batch[-1]
    return found


def _count_commits(catalog: Catalog) -> list[int]:
    commits: list[int] = []
    event.listen(catalog.engine, "commit", lambda _conn: commits.append(1))
    return commits


def test_rating_and_label_are_stored_filtered_and_counted(catalog: Catalog) -> None:
    project_id, ids = _add(catalog, 10)
    catalog.curation.set_rating(ids[:3], 5)
    catalog.curation.set_rating(ids[3:5], 2)
    catalog.curation.set_label(ids[1:4], ColourLabel.RED)
    record = catalog.get_asset(ids[1])
    assert record is not None
    assert (record.rating, record.label) == (5, ColourLabel.RED)

    at_least_two = AssetQuery(project_id=project_id, min_rating=2)
    assert {r.id for r in _pages(catalog, at_least_two)} == set(ids[:5])
    assert catalog.count_assets(at_least_two) == 5
    red_five = AssetQuery(project_id=project_id, min_rating=5, label=ColourLabel.RED)
    assert [r.id for r in _pages(catalog, red_five)] == ids[1:3]
    assert catalog.count_assets(AssetQuery(project_id=project_id, label=ColourLabel.RED)) == 3
    with pytest.raises(CatalogError, match="0 to 5"):
        catalog.curation.set_rating(ids, 6)


def test_sort_by_rating_pages_every_asset_once_in_both_directions(catalog: Catalog) -> None:
    project_id, ids = _add(catalog, 23)
    for stars in range(6):
        catalog.curation.set_rating(ids[stars::6], stars)
    for descending in (False, True):
        query = AssetQuery(project_id=project_id, sort=SortKey.RATING, descending=descending)
        found = _pages(catalog, query)
        assert sorted(r.id for r in found) == ids  # every asset exactly once
        keys = [(r.rating, r.id) for r in found]
        assert keys == sorted(keys, reverse=descending)
        with_filter = _pages(catalog, AssetQuery(project_id=project_id, sort=SortKey.RATING,
                                                 descending=descending, min_rating=3))  # fmt: skip
        assert [r.id for r in with_filter] == [r.id for r in found if r.rating >= 3]


def test_batch_edits_are_one_transaction_each(catalog: Catalog) -> None:
    project_id, ids = _add(catalog, 600)  # more than one IN-list chunk anywhere
    catalog.accept_tag(ids[0], "rock")  # already the user's: kept, not duplicated
    catalog.set_ai_categories(ids[1], [("sky", 0.9)])
    catalog.reject_tag(ids[2], "sky")
    catalog.set_notes(ids[0], "first take")
    commits = _count_commits(catalog)
    catalog.curation.set_rating(ids, 4)
    catalog.curation.set_label(ids, ColourLabel.GREEN)
    catalog.curation.add_tags(ids, ["rock", " sky ", ""])
    catalog.curation.append_note(ids, "approved by Ana")
    assert len(commits) == 4

    records = catalog.get_assets(ids)
    assert {(r.rating, r.label) for r in records} == {(4, ColourLabel.GREEN)}
    assert all({t.name for t in r.tags} == {"rock", "sky"} for r in records)
    assert records[0].notes == "first take\napproved by Ana"
    assert records[5].notes == "approved by Ana"
    assert dict(catalog.tag_counts(project_id)) == {"rock": 600, "sky": 600}
    # The search index saw the new tags and notes.
    assert catalog.count_assets(AssetQuery(project_id=project_id, search="approved sky")) == 600


def test_a_failing_batch_changes_nothing(catalog: Catalog) -> None:
    _project_id, ids = _add(catalog, 5)
    catalog.engine.dispose()
    with catalog.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse AFTER UPDATE OF rating ON asset WHEN new.id = "
            f"{ids[-1]} BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    with pytest.raises(Exception, match="refused"):
        catalog.curation.set_rating(ids, 3)
    assert {r.rating for r in catalog.get_assets(ids)} == {0}


def test_saved_searches_round_trip_rename_and_delete(catalog: Catalog) -> None:
    project_id, _ids = _add(catalog, 1)
    other = catalog.create_project("Other")
    query = AssetQuery(project_id=project_id, kind="image", tag="rock", search="hero", min_rating=3,
                       label=ColourLabel.BLUE, sort=SortKey.RATING, descending=True)  # fmt: skip
    saved = catalog.curation.save_search(project_id, " Heroes ", query)
    assert saved.name == "Heroes"
    assert catalog.curation.saved_searches(project_id) == [saved]
    assert saved.query == query
    assert catalog.curation.saved_searches(other.id) == []

    again = catalog.curation.save_search(project_id, "Heroes", AssetQuery(project_id=project_id))
    assert again.id == saved.id  # the same name replaces its query
    catalog.curation.save_search(project_id, "Blues", query)
    with pytest.raises(CatalogError, match="already exists"):
        catalog.curation.rename_search(saved.id, "Blues")
    with pytest.raises(CatalogError, match="needs a name"):
        catalog.curation.save_search(project_id, "  ", query)
    catalog.curation.rename_search(saved.id, "Everything")
    assert [s.name for s in catalog.curation.saved_searches(project_id)] == ["Blues", "Everything"]
    catalog.curation.delete_search(saved.id)
    assert [s.name for s in catalog.curation.saved_searches(project_id)] == ["Blues"]
    catalog.delete_project(project_id)
    assert catalog.curation.saved_searches(project_id) == []


def test_the_migration_adds_ratings_to_an_existing_catalog(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from core.catalog.database import MIGRATIONS_DIR, create_catalog_engine

    db = tmp_path / "old.sqlite3"
    engine = create_catalog_engine(db)
    with engine.connect() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")  # the catalog as the previous release left it
        connection.exec_driver_sql(
            "INSERT INTO project (id, name, description, created_at, updated_at) VALUES (1, 'Old', '', 0, 0)"
        )
        connection.exec_driver_sql(
            "INSERT INTO asset (project_id, name, path, kind, content_hash, size_bytes, status, "
            "metadata_json, copied, tags_text, notes, created_at, modified_at) VALUES (1, "
            "'rock.exr', '/lib/rock.exr', 'image', 'h1', 1, 'ready', '{}', 0, '', '', 0, 0)"
        )
        connection.commit()
    engine.dispose()

    catalog = Catalog(db)  # opening migrates
    try:
        (old,) = catalog.page_assets(AssetQuery(project_id=1))
        assert (old.rating, old.label) == (0, ColourLabel.NONE)
        catalog.curation.set_rating([old.id], 4)
        rated = AssetQuery(project_id=1, min_rating=4, sort=SortKey.RATING)
        assert [r.name for r in catalog.page_assets(rated)] == ["rock.exr"]
        with catalog.engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM asset WHERE project_id = 1 AND rating >= 4 "
                "ORDER BY rating DESC, id DESC LIMIT 200"))  # fmt: skip
        assert "ix_asset_project_rating" in plan
        assert "TEMP B-TREE" not in plan
    finally:
        catalog.close()
