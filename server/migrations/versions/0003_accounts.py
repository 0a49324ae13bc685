"""Accounts people manage themselves: an email address beside the display name, and a disabled flag
an administrator sets to stop sign-ins without removing the account's memberships.

Revision ID: 0003_accounts
Revises: 0002_server_identity
Create Date: 2025-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_accounts"
down_revision = "0002_server_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite accepts NOT NULL with a default): a batch copy of ``users`` would have to
    # drop a table that tokens and memberships reference.
    op.add_column("users", sa.Column("email", sa.String(254), nullable=False, server_default=""))
    op.add_column("users", sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("users", "disabled")
    op.drop_column("users", "email")
