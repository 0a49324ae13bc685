"""The server's own identity: an id generated once and kept with the data it names.

Clients recognise a server by this id rather than by the address they reached it at, and a database
restored from a backup keeps it, which is how clients tell a rollback from a different server.

Revision ID: 0002_server_identity
Revises: 0001_initial
Create Date: 2025-02-01
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002_server_identity"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    server_meta = op.create_table(
        "server_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.bulk_insert(server_meta, [{"key": "server_id", "value": str(uuid.uuid4())}])


def downgrade() -> None:
    op.drop_table("server_meta")
