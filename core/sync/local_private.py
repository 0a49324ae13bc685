"""Private notes: comments (and the assets they hang on) written in a project not linked to a server.

They live in the same tables as synced records, so every read (lists, badges, edits) treats them alike,
as outbox entries of ``PRIVATE_OWNER``, an owner no sign-in can have (a sign-in's owner is
"<server id>/<user id>"), under a negative project id (``private_project``): server project ids are
positive, so the two never meet, and no flush picks them up (a flush reads its own owner's entries).
Linking the local project moves them, rewritten for the server project, into the signed-in user's outbox
once, in the order they were written. Functions here run inside the caller's transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from core.sync.local_events import rebuild
from core.sync.local_reads import find_asset_in, sync_asset_id
from core.sync.local_tables import RECORD_TABLES, sync_outbox
from core.sync.protocol import CHANGE, UpsertAssetChange

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

PRIVATE_OWNER = "private"
# The author of notes written before anyone signed in on this machine (server user ids start at 1).
LOCAL_AUTHOR = 0
PRIVATE_STATE = "private"


def private_project(local_project_id: int) -> int:
    """The project id a local catalog project's private notes are kept under."""
    return -local_project_id


def is_private(project_id: int) -> bool:
    return project_id < 0


def show_private(connection: Connection, kind: str, record_id: str, me: int) -> None:
    """Rebuild a private record from its entries and mark it private (rebuild calls it pending)."""
    rebuild(connection, kind, record_id, me, PRIVATE_OWNER)
    table = RECORD_TABLES[kind]
    connection.execute(table.update().where(table.c.id == record_id).values(sync_state=PRIVATE_STATE))


def share(
    connection: Connection, local_project_id: int, server_project: int, me: int, owner: str
) -> tuple[int, set[str]]:
    """Queue the private changes of a local project for ``server_project`` under ``owner``: returns how
    many entered the outbox and the record kinds they touch. An asset the server project already has
    (the same content, shared by anyone) is commented on as it is, not published again."""
    private_id = private_project(local_project_id)
    entries = connection.execute(
        sa.select(
            sync_outbox.c.position, sync_outbox.c.record_kind, sync_outbox.c.record_id, sync_outbox.c.message
        )
        .where(sync_outbox.c.owner == PRIVATE_OWNER, sync_outbox.c.project_id == private_id)
        .order_by(sync_outbox.c.position)
    ).all()
    if not entries:  # the usual case, asked on every change of context: one index lookup, no write
        return 0, set()
    assets: dict[str, str] = {}  # private asset id -> the server project's asset id
    touched: dict[tuple[str, str], None] = {}  # records to rebuild, in the order they were written
    shared = 0
    for position, kind, record_id, message in entries:
        change = CHANGE.validate_json(message)
        if isinstance(change, UpsertAssetChange):
            existing = find_asset_in(connection, server_project, change.content_hash)
            assets[change.asset_id] = existing or sync_asset_id(server_project, change.content_hash)
            if existing is not None:
                connection.execute(sync_outbox.delete().where(sync_outbox.c.position == position))
                continue
        update: dict[str, Any] = {"project": server_project}
        asset_id = getattr(change, "asset_id", None)
        if asset_id in assets:
            update["asset_id"] = assets[asset_id]
        target = assets.get(record_id, record_id) if kind == "asset" else record_id
        connection.execute(
            sync_outbox.update()
            .where(sync_outbox.c.position == position)
            .values(
                project_id=server_project,
                record_id=target,
                message=change.model_copy(update=update).model_dump_json(exclude={"id"}),
                owner=owner,
                state="pending",
            )
        )
        touched[(kind, target)] = None
        shared += 1
    for table in RECORD_TABLES.values():  # the private rows give way to the ones rebuilt below
        connection.execute(table.delete().where(table.c.project_id == private_id))
    for kind, record_id in touched:
        rebuild(connection, kind, record_id, me, owner)
    return shared, {kind for kind, _record_id in touched}
