"""Job priority: which queued job of a lane runs next (core.jobs.model.Priority).

What the user asked for now (a render from a menu) goes before background work an ingest queued; a job
can be bumped to the top from the Jobs panel. The order lives in the catalog so that jobs recovered after
a crash keep it. Existing rows become NORMAL (20); adding a column with a constant default is a
schema-only change in SQLite.

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job", sa.Column("priority", sa.Integer, nullable=False, server_default="20"))


def downgrade() -> None:
    op.drop_column("job", "priority")
