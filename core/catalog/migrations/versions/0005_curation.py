"""Curation: star ratings and colour labels on assets, and saved searches.

The grid pages by keyset at a million assets, so each new order or filter has an index that starts with
the project and ends with the id: ``(project_id, rating, id)`` serves "sort by rating" in both directions
and "rating >= N" as one range; ``(project_id, label, name, id)`` serves a label filter in the default
name order. Adding the columns with a constant default is a schema-only change in SQLite (no table
rewrite), so an existing catalog upgrades in the time its two index builds take.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("asset", sa.Column("rating", sa.Integer, nullable=False, server_default="0"))
    op.add_column("asset", sa.Column("label", sa.String, nullable=False, server_default="none"))
    op.create_index("ix_asset_project_rating", "asset", ["project_id", "rating", "id"])
    op.create_index("ix_asset_project_label_name", "asset", ["project_id", "label", "name", "id"])
    op.create_table(
        "saved_search",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("project.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("query_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_saved_search_project_name"),
    )


def downgrade() -> None:
    op.drop_table("saved_search")
    op.drop_index("ix_asset_project_label_name", "asset")
    op.drop_index("ix_asset_project_rating", "asset")
    op.execute("ALTER TABLE asset DROP COLUMN label")  # native since SQLite 3.35: no table rewrite
    op.execute("ALTER TABLE asset DROP COLUMN rating")
