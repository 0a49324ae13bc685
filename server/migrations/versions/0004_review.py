"""Sign-off: an asset's review status (pending, approved, changes requested), the reason given when
changes are requested, and who set it.

Revision ID: 0004_review
Revises: 0003_accounts
Create Date: 2025-03-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_review"
down_revision = "0003_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN with defaults: every asset published so far starts pending review.
    op.add_column(
        "assets", sa.Column("review_status", sa.String(24), nullable=False, server_default="pending")
    )
    op.add_column("assets", sa.Column("review_reason", sa.Text, nullable=False, server_default=""))
    op.add_column("assets", sa.Column("reviewed_by", sa.Integer, nullable=True))


def downgrade() -> None:
    for name in ("reviewed_by", "review_reason", "review_status"):
        op.drop_column("assets", name)
