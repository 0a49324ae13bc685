"""Counters kept by triggers: assets per (project, kind) and tags per (project, name).

The sidebar's counts and the status bar's totals must not scan a million rows. SQLite keeps these
counters in step with every write, bulk inserts and cascaded deletes included.

Revision ID: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TAG_PROJECT = "(SELECT project_id FROM asset WHERE id = {row}.asset_id)"


def upgrade() -> None:
    op.execute(
        "CREATE TABLE asset_kind_count (project_id INTEGER NOT NULL, kind VARCHAR NOT NULL, "
        "n INTEGER NOT NULL, PRIMARY KEY (project_id, kind)) WITHOUT ROWID"
    )
    op.execute(
        "CREATE TABLE tag_count (project_id INTEGER NOT NULL, name VARCHAR NOT NULL, "
        "n INTEGER NOT NULL, n_category INTEGER NOT NULL, PRIMARY KEY (project_id, name)) WITHOUT ROWID"
    )
    op.execute(
        "CREATE TRIGGER asset_count_insert AFTER INSERT ON asset BEGIN "
        "INSERT INTO asset_kind_count(project_id, kind, n) VALUES (new.project_id, new.kind, 1) "
        "ON CONFLICT(project_id, kind) DO UPDATE SET n = n + 1; END"
    )
    # BEFORE: the asset's tags are still there to be uncounted (a cascade removes them after).
    op.execute(
        "CREATE TRIGGER asset_count_delete BEFORE DELETE ON asset BEGIN "
        "UPDATE asset_kind_count SET n = n - 1 WHERE project_id = old.project_id AND kind = old.kind; "
        "UPDATE tag_count SET "
        "n = n - (SELECT count(*) FROM tag t WHERE t.asset_id = old.id AND NOT t.rejected "
        "AND t.name = tag_count.name), "
        "n_category = n_category - (SELECT count(*) FROM tag t WHERE t.asset_id = old.id "
        "AND NOT t.rejected AND t.is_category AND t.name = tag_count.name) "
        "WHERE project_id = old.project_id AND name IN (SELECT name FROM tag WHERE asset_id = old.id); "
        "END"
    )
    op.execute(
        "CREATE TRIGGER asset_count_update AFTER UPDATE OF kind, project_id ON asset BEGIN "
        "UPDATE asset_kind_count SET n = n - 1 WHERE project_id = old.project_id AND kind = old.kind; "
        "INSERT INTO asset_kind_count(project_id, kind, n) VALUES (new.project_id, new.kind, 1) "
        "ON CONFLICT(project_id, kind) DO UPDATE SET n = n + 1; END"
    )
    new_project = _TAG_PROJECT.format(row="new")
    old_project = _TAG_PROJECT.format(row="old")
    op.execute(
        "CREATE TRIGGER tag_count_insert AFTER INSERT ON tag WHEN NOT new.rejected BEGIN "
        f"INSERT INTO tag_count(project_id, name, n, n_category) VALUES ({new_project}, new.name, 1, "
        "new.is_category) ON CONFLICT(project_id, name) DO UPDATE SET n = n + 1, "
        "n_category = n_category + new.is_category; END"
    )
    # A tag removed by a cascade finds no asset any more: asset_count_delete already uncounted it.
    op.execute(
        "CREATE TRIGGER tag_count_delete AFTER DELETE ON tag WHEN NOT old.rejected BEGIN "
        "UPDATE tag_count SET n = n - 1, n_category = n_category - old.is_category "
        f"WHERE project_id = {old_project} AND name = old.name; END"
    )
    op.execute(
        "CREATE TRIGGER tag_count_update AFTER UPDATE OF rejected, is_category, name ON tag BEGIN "
        "UPDATE tag_count SET n = n - (NOT old.rejected), "
        "n_category = n_category - (NOT old.rejected AND old.is_category) "
        f"WHERE project_id = {old_project} AND name = old.name; "
        f"INSERT INTO tag_count(project_id, name, n, n_category) VALUES ({new_project}, new.name, "
        "(NOT new.rejected), (NOT new.rejected AND new.is_category)) "
        "ON CONFLICT(project_id, name) DO UPDATE SET n = n + (NOT new.rejected), "
        "n_category = n_category + (NOT new.rejected AND new.is_category); END"
    )
    op.execute(
        "INSERT INTO asset_kind_count(project_id, kind, n) "
        "SELECT project_id, kind, count(*) FROM asset GROUP BY project_id, kind"
    )
    op.execute(
        "INSERT INTO tag_count(project_id, name, n, n_category) "
        "SELECT a.project_id, t.name, count(*), sum(t.is_category) FROM tag t "
        "JOIN asset a ON a.id = t.asset_id WHERE NOT t.rejected GROUP BY a.project_id, t.name"
    )


def downgrade() -> None:
    for trigger in (
        "asset_count_insert",
        "asset_count_delete",
        "asset_count_update",
        "tag_count_insert",
        "tag_count_delete",
        "tag_count_update",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS tag_count")
    op.execute("DROP TABLE IF EXISTS asset_kind_count")
