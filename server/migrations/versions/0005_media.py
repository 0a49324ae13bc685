"""Published media: the content-addressed store's index, what each project references, and quotas.

Revision ID: 0005_media
Revises: 0004_review
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_media"
down_revision = "0004_review"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("chunk_bytes", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "media_refs",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("media_blobs.sha256"), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("published_by", sa.Integer, nullable=False),
        sa.Column("published_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "media_quotas",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("quota_bytes", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for name in ("media_quotas", "media_refs", "media_blobs"):
        op.drop_table(name)
