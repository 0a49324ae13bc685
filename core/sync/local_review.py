"""A reviewer's sign-off written locally: the tasks linked to the asset move with the verdict.

The moves are ``update_task`` changes queued by the reviewing client in the same local transaction as
the verdict, right after it in the outbox: each is its own numbered event, sent and acknowledged
exactly once like any other change, so every client sees the same tasks move. The server keeps its
rule of one event per change (an ack carries one event); the cost is that a linked task this client
has not heard of yet when the verdict is given does not move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from core.sync.local_tables import sync_task
from core.sync.protocol import TaskPatch, UpdateTaskChange

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection

    from core.sync.protocol import ReviewStatus, SetReviewChange, TaskStatus

# What a verdict does to the tasks linked to the asset; back to pending leaves them where they are.
TASK_STATUS_AFTER: dict[ReviewStatus, TaskStatus] = {
    "approved": "completed",
    "changes_requested": "in_progress",
}


def linked_task_moves(
    connection: Connection, review: SetReviewChange, new_id: Callable[[], str]
) -> list[UpdateTaskChange]:
    """The task changes that follow ``review``: each linked task not already where it goes, at the
    version this client has (a concurrent edit of another field is kept; see task conflicts)."""
    target = TASK_STATUS_AFTER.get(review.status)
    if target is None:
        return []
    rows = connection.execute(
        sa.select(sync_task.c.id, sync_task.c.version)
        .where(
            sync_task.c.asset_id == review.asset_id,
            sync_task.c.project_id == review.project,
            sync_task.c.status != target,
            sync_task.c.sync_state != "rejected",
        )
        .order_by(sync_task.c.created_at, sync_task.c.id)
    ).all()
    return [
        UpdateTaskChange(
            change_id=new_id(),
            project=review.project,
            task_id=row.id,
            base_version=max(1, row.version),
            fields=TaskPatch(status=target),
        )
        for row in rows
    ]
