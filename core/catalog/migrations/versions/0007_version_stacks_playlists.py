"""Review: version stacks on assets, and playlists (ordered review sessions).

Version stacks: ``stack_key``/``version`` say which assets are versions of one shot (``core.review``
parses them from names; a user can stack or split by hand), ``stack_top`` marks the one tile the grid
shows per stack (the newest; every unstacked asset is its own top). The per-kind counters now count
tiles: their triggers are recreated to count only ``stack_top`` rows, so the grid's row count (taken
from the counters when nothing narrows it) stays equal to the rows its pages return.
``(project_id, stack_key, version, id)`` lists a stack's versions in order from the index.

A trigger promotes the next version when a stack's top is deleted. Existing assets are stacked by
name here, once (a pass over the asset names, ~1 s per 100,000).

Playlists: a named, ordered list of assets of one project; items go with their asset or playlist.

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_KIND_COUNT_TRIGGERS = ("asset_count_insert", "asset_count_update")


def upgrade() -> None:
    op.add_column("asset", sa.Column("stack_key", sa.String, nullable=True))
    op.add_column("asset", sa.Column("version", sa.Integer, nullable=True))
    op.add_column("asset", sa.Column("stack_top", sa.Boolean, nullable=False, server_default="1"))
    op.create_index("ix_asset_project_stack", "asset", ["project_id", "stack_key", "version", "id"])
    op.create_index(
        "ix_asset_hidden_versions", "asset", ["project_id"], sqlite_where=sa.text("NOT stack_top")
    )
    _count_tiles_only()
    # However an asset goes (a delete, a project's cascade, a sequence split), when it was its stack's
    # top the next newest version becomes the tile, so no stack is ever left without one.
    op.execute(
        "CREATE TRIGGER asset_stack_promote AFTER DELETE ON asset "
        "WHEN old.stack_top AND old.stack_key IS NOT NULL BEGIN "
        "UPDATE asset SET stack_top = 1 WHERE id = (SELECT a2.id FROM asset a2 "
        "WHERE a2.project_id = old.project_id AND a2.stack_key = old.stack_key "
        "ORDER BY a2.version DESC, a2.id DESC LIMIT 1); END"
    )
    _stack_existing_assets()
    op.create_table(
        "playlist",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_playlist_project_name"),
    )
    op.create_table(
        "playlist_item",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "playlist_id", sa.Integer, sa.ForeignKey("playlist.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("asset_id", sa.Integer, sa.ForeignKey("asset.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_index("ix_playlist_item_order", "playlist_item", ["playlist_id", "position"])
    op.create_index("ix_playlist_item_asset", "playlist_item", ["asset_id"])


def _count_tiles_only() -> None:
    for trigger in (*_KIND_COUNT_TRIGGERS, "asset_count_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute(
        "CREATE TRIGGER asset_count_insert AFTER INSERT ON asset WHEN new.stack_top BEGIN "
        "INSERT INTO asset_kind_count(project_id, kind, n) VALUES (new.project_id, new.kind, 1) "
        "ON CONFLICT(project_id, kind) DO UPDATE SET n = n + 1; END"
    )
    # As in 0002, but an asset hidden in a stack was never counted as a tile.
    op.execute(
        "CREATE TRIGGER asset_count_delete BEFORE DELETE ON asset BEGIN "
        "UPDATE asset_kind_count SET n = n - 1 "
        "WHERE old.stack_top AND project_id = old.project_id AND kind = old.kind; "
        "UPDATE tag_count SET "
        "n = n - (SELECT count(*) FROM tag t WHERE t.asset_id = old.id AND NOT t.rejected "
        "AND t.name = tag_count.name), "
        "n_category = n_category - (SELECT count(*) FROM tag t WHERE t.asset_id = old.id "
        "AND NOT t.rejected AND t.is_category AND t.name = tag_count.name) "
        "WHERE project_id = old.project_id AND name IN (SELECT name FROM tag WHERE asset_id = old.id); "
        "END"
    )
    op.execute(
        "CREATE TRIGGER asset_count_update AFTER UPDATE OF kind, project_id, stack_top ON asset BEGIN "
        "UPDATE asset_kind_count SET n = n - 1 "
        "WHERE old.stack_top AND project_id = old.project_id AND kind = old.kind; "
        "INSERT INTO asset_kind_count(project_id, kind, n) "
        "SELECT new.project_id, new.kind, 1 WHERE new.stack_top "
        "ON CONFLICT(project_id, kind) DO UPDATE SET n = n + 1; END"
    )


def _stack_existing_assets() -> None:
    from core.review.versions import parse_version

    bind = op.get_bind()
    changes = []
    for asset_id, name, kind in bind.execute(sa.text("SELECT id, name, kind FROM asset")):
        parsed = parse_version(name, kind)
        if parsed is not None:
            changes.append({"id": asset_id, "key": parsed.stack_key, "version": parsed.version})
    if changes:
        bind.execute(sa.text("UPDATE asset SET stack_key = :key, version = :version WHERE id = :id"), changes)
        bind.execute(
            sa.text(
                "UPDATE asset SET stack_top = (id = (SELECT a2.id FROM asset a2 "
                "WHERE a2.project_id = asset.project_id AND a2.stack_key = asset.stack_key "
                "ORDER BY a2.version DESC, a2.id DESC LIMIT 1)) WHERE stack_key IS NOT NULL"
            )
        )
    op.execute("DELETE FROM asset_kind_count")
    op.execute(
        "INSERT INTO asset_kind_count(project_id, kind, n) "
        "SELECT project_id, kind, count(*) FROM asset WHERE stack_top GROUP BY project_id, kind"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS asset_stack_promote")
    op.drop_table("playlist_item")
    op.drop_table("playlist")
    for trigger in (*_KIND_COUNT_TRIGGERS, "asset_count_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute(
        "CREATE TRIGGER asset_count_insert AFTER INSERT ON asset BEGIN "
        "INSERT INTO asset_kind_count(project_id, kind, n) VALUES (new.project_id, new.kind, 1) "
        "ON CONFLICT(project_id, kind) DO UPDATE SET n = n + 1; END"
    )
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
    op.drop_index("ix_asset_hidden_versions", "asset")
    op.drop_index("ix_asset_project_stack", "asset")
    for name in ("stack_top", "version", "stack_key"):
        op.execute(f"ALTER TABLE asset DROP COLUMN {name}")
    op.execute("DELETE FROM asset_kind_count")
    op.execute(
        "INSERT INTO asset_kind_count(project_id, kind, n) "
        "SELECT project_id, kind, count(*) FROM asset GROUP BY project_id, kind"
    )
