"""A project's owner: the user an administrator names (``project add NAME --owner USER`` or
``project owner NAME USER``), who may delete the project's shared assets as an admin may.

Revision ID: 0008_project_owner
Revises: 0007_playlists
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_project_owner"
down_revision = "0007_playlists"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and without a default: existing projects have no owner until an administrator names one.
    op.add_column("projects", sa.Column("owner_id", sa.Integer, nullable=True))


def downgrade() -> None:
    op.drop_column("projects", "owner_id")
