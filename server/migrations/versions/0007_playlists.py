"""Playlists (review sessions) become synced records: ordered content hashes, tombstones on delete.

Revision ID: 0007_playlists
Revises: 0006_invitations
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_playlists"
down_revision = "0006_invitations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "playlists",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("items", sa.Text, nullable=False),
        sa.Column("author", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_playlists_project_id", "playlists", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_playlists_project_id", table_name="playlists")
    op.drop_table("playlists")
