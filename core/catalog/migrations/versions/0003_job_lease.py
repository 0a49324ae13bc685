"""Job leases: which live process owns a queued or running job, and until when.

A job is run by the process holding its lease; the owner renews it while the job is in flight (a
heartbeat) and any entry point may take over a job whose lease ran out or whose owner has died. So a
killed ``stratopipe ingest`` leaves no job queued forever, and two processes never run one job twice.
Rows from before this revision have no owner: they are free to recover, as they always were.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("job", sa.Column("owner", sa.String, nullable=True))
    op.add_column("job", sa.Column("lease_expires_at", sa.Float, nullable=True))
