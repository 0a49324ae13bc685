"""Sorted searches, jumps and label counts at a million assets.

``ix_asset_sort_keys`` is keyed by the id and holds every sort and filter column: a search whose
word matches 100,000 assets that cluster late in the order (all ``robot_…`` names in name order) is
sorted from it without reading the wide asset rows (``core.catalog.search_plan``).

``ix_asset_project_label_name`` gains ``rating`` after the id (the order is unchanged: the id is
unique), so counting "red and at least 4 stars" reads that index alone instead of one asset row per red
asset. Not ``stack_top``: the index would then cover the grid's hidden-versions probe and SQLite would
scan it instead of probing ``ix_asset_hidden_versions``.

``asset_order_generation`` is one counter that every insert, delete, and change of a sort column (or of
which assets are tiles) moves on (triggers; ratings: ``CurationStore``, once per batch); ``core.catalog.checkpoints`` keeps a sampled row -> key table per
order and trusts it only while the counter has not moved.

Revision ID: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SORT_KEY_COLUMNS = [
    "id",
    "project_id",
    "stack_top",
    "kind",
    "name",
    "created_at",
    "size_bytes",
    "rating",
    "label",
]
# Not rating: a trigger per rated asset made rating 10,000 assets 60 % slower; the one place that
# writes ratings (CurationStore) moves the counter once per batch instead.
_ORDER_COLUMNS = "project_id, name, kind, created_at, size_bytes, stack_top"
_BUMP = "UPDATE asset_order_generation SET n = n + 1 WHERE id = 1;"
_TRIGGERS = {
    "asset_order_insert": "AFTER INSERT ON asset",
    "asset_order_delete": "AFTER DELETE ON asset",
    "asset_order_update": f"AFTER UPDATE OF {_ORDER_COLUMNS} ON asset",
}


def upgrade() -> None:
    op.create_index("ix_asset_sort_keys", "asset", _SORT_KEY_COLUMNS)
    op.drop_index("ix_asset_project_label_name", "asset")
    op.create_index("ix_asset_project_label_name", "asset", ["project_id", "label", "name", "id", "rating"])
    op.create_table(
        "asset_order_generation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    op.execute("INSERT INTO asset_order_generation(id, n) VALUES (1, 0)")
    for name, when in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {_BUMP} END")


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("asset_order_generation")
    op.drop_index("ix_asset_project_label_name", "asset")
    op.create_index("ix_asset_project_label_name", "asset", ["project_id", "label", "name", "id"])
    op.drop_index("ix_asset_sort_keys", "asset")
