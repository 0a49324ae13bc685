"""Tombstones from the server: a deleted task, or a deleted shared asset with its notes and tasks.

A tombstone event's record is only ``{"id", "project", "deleted": true}`` (``server.deletions``), so it
never goes through the record models: ``apply_events`` passes it over while it stores the page's other
events and hands it here afterwards. A row is removed only when no later event of the same page wrote it
again (an asset published again under the same id after its deletion stays). Nothing outside the
``sync_*`` tables is touched: the catalog entry and the file of a deleted shared asset stay on this
machine, no longer shared. A deleted project removes nothing here but its place in the project list: it
is reported (kind "project") and the host unlinks it (``core.sync.project_deletion``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from core.sync.local_tables import sync_asset, sync_comment, sync_outbox, sync_project, sync_task
from core.sync.protocol import Event

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.engine import Connection

    from core.sync.local_records import AppliedEvents, UnreadableEvent

TOMBSTONE_OPS: frozenset[str] = frozenset({"delete_task", "delete_asset", "delete_project"})


def is_tombstone(item: Event | UnreadableEvent) -> bool:
    return isinstance(item, Event) and item.op in TOMBSTONE_OPS


def without_tombstones(items: Iterable[Event | UnreadableEvent]) -> list[Event | UnreadableEvent]:
    return [item for item in items if not is_tombstone(item)]


def _not_newer(table: sa.Table, seq: int) -> sa.ColumnElement[bool]:
    # A row never acknowledged (seq NULL) is a local change to something that no longer exists.
    return sa.or_(table.c.seq.is_(None), table.c.seq <= seq)


def apply_tombstones(
    connection: Connection, items: Iterable[Event | UnreadableEvent], result: AppliedEvents
) -> None:
    """Remove what the page's tombstones delete; runs after its other events are stored."""
    for event in items:
        if not isinstance(event, Event) or event.op not in TOMBSTONE_OPS:
            continue
        record_id = str(event.record["id"])
        if event.op == "delete_task":
            connection.execute(
                sync_task.delete().where(sync_task.c.id == record_id, _not_newer(sync_task, event.seq))
            )
        elif event.op == "delete_asset":
            for table in (sync_comment, sync_task):
                removed = connection.execute(
                    table.delete()
                    .where(table.c.asset_id == record_id, _not_newer(table, event.seq))
                    .returning(table.c.id)
                ).scalars()
                result.changed.setdefault("comment" if table is sync_comment else "task", []).extend(removed)
            connection.execute(
                sync_asset.delete().where(sync_asset.c.id == record_id, _not_newer(sync_asset, event.seq))
            )
        elif event.op == "delete_project":
            connection.execute(
                sync_project.update().where(sync_project.c.id == event.project).values(deleted=True)
            )
        # The deleter's own change: done, kept as a journal entry like any acknowledged change.
        connection.execute(
            sync_outbox.update()
            .where(sync_outbox.c.change_id == event.change_id)
            .values(state="synced", seq=event.seq)
        )
        result.changed.setdefault(event.kind, []).append(record_id)
