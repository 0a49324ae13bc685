"""A deleted project: ``projects.deleted_at`` is set by its owner's or an administrator's
``delete_project`` change (``server.project_admin``); its rows and events stay, further changes and
subscriptions are refused, and every client unlinks it.

Revision ID: 0009_project_deleted
Revises: 0008_project_owner
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_project_deleted"
down_revision = "0008_project_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("deleted_at", sa.String(40), nullable=True))


def downgrade() -> None:
    op.drop_column("projects", "deleted_at")
