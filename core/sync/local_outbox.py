"""The outbox: local changes on their way to the server, and the journal of those it accepted.

Functions here run inside the caller's transaction (``LocalStore`` holds the write lock). Every entry
belongs to the sign-in it was written under (``owner``, "<server id>/<user id>"): only that sign-in
sends it. An entry is never deleted behind the user's back: it is sent, kept as a journal once its
event arrived (to send again should the server lose it to a restored backup), rejected with the
server's reason, or held for its owner, and only the user discards held ones. The journal is the one
thing that ages out: an entry whose event arrived longer ago than the studio could restore a backup
from (``Settings.sync_journal_days``) has nothing left to protect and is pruned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from core.sync.local_events import QUEUED_STATES, rebuild, set_cursor
from core.sync.local_private import PRIVATE_OWNER
from core.sync.local_records import HeldChanges, OutboxEntry
from core.sync.local_tables import sync_outbox, sync_pending

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from core.sync.protocol import Change


def owner_of(server_id: str | None, user_id: int | str) -> str:
    return f"{server_id or ''}/{user_id}"


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(*row)


_ENTRY_COLUMNS = (
    sync_outbox.c.position,
    sync_outbox.c.change_id,
    sync_outbox.c.project_id,
    sync_outbox.c.record_kind,
    sync_outbox.c.record_id,
    sync_outbox.c.message,
)


def enqueue(connection: Connection, change: Change, kind: str, record_id: str, owner: str, at: str) -> None:
    """Add ``change`` (about record ``kind``/``record_id``) to the end of ``owner``'s outbox."""
    connection.execute(
        sync_outbox.insert().values(
            change_id=change.change_id,
            project_id=change.project,
            record_kind=kind,
            record_id=record_id,
            message=change.model_dump_json(exclude={"id"}),
            created_at=at,
            owner=owner,
        )
    )


def pending_changes(connection: Connection, owner: str, after_position: int, limit: int) -> list[OutboxEntry]:
    """The owner's next unsent changes after ``after_position``: an index range, however long the
    outbox and its journal are."""
    rows = connection.execute(
        sa.select(*_ENTRY_COLUMNS)
        .where(
            sync_outbox.c.owner == owner,
            sync_outbox.c.state == "pending",
            sync_outbox.c.position > after_position,
        )
        .order_by(sync_outbox.c.position)
        .limit(limit)
    ).all()
    return [_entry(row) for row in rows]


def pending_count(connection: Connection, owner: str) -> int:
    """One row read: the triggers of ``sync_pending`` keep the count."""
    found = connection.execute(
        sa.select(sync_pending.c.count).where(sync_pending.c.owner == owner)
    ).scalar_one_or_none()
    return int(found or 0)


def mark_acked(
    connection: Connection, change_id: str, seq: int, table: sa.Table | None
) -> OutboxEntry | None:
    """Pending -> acked (an entry whose event already arrived stays in the journal as it is)."""
    row = connection.execute(
        sa.select(*_ENTRY_COLUMNS).where(
            sync_outbox.c.change_id == change_id, sync_outbox.c.state == "pending"
        )
    ).one_or_none()
    if row is None:
        return None
    connection.execute(
        sync_outbox.update().where(sync_outbox.c.change_id == change_id).values(state="acked", seq=seq)
    )
    entry = _entry(row)
    if table is not None:
        connection.execute(
            table.update().where(table.c.id == entry.record_id, table.c.seq.is_(None)).values(seq=seq)
        )
    return entry


def mark_rejected(
    connection: Connection, change_id: str, code: str, message: str, me: int, owner: str
) -> OutboxEntry | None:
    row = connection.execute(
        sa.select(*_ENTRY_COLUMNS).where(sync_outbox.c.change_id == change_id)
    ).one_or_none()
    if row is None:
        return None
    connection.execute(
        sync_outbox.update()
        .where(sync_outbox.c.change_id == change_id)
        .values(state="rejected", error_code=code, error_message=message)
    )
    entry = _entry(row)
    rebuild(connection, entry.record_kind, entry.record_id, me, owner)
    return entry


def _held_by_others(owner: str) -> sa.ColumnElement[bool]:
    """Queued entries of other sign-ins; private notes are nobody's to send until their project is linked."""
    return sa.and_(sync_outbox.c.owner.not_in((owner, PRIVATE_OWNER)), sync_outbox.c.state.in_(QUEUED_STATES))


def held(connection: Connection, owner: str) -> HeldChanges:
    rows = connection.execute(
        sa.select(sync_outbox.c.owner, sa.func.count())
        .where(_held_by_others(owner))
        .group_by(sync_outbox.c.owner)
        .order_by(sync_outbox.c.owner)
    ).all()
    return HeldChanges(sum(int(r[1]) for r in rows), [str(r[0]) for r in rows])


def _held_records(connection: Connection, owner: str) -> list[tuple[str, str]]:
    return [
        (str(r[0]), str(r[1]))
        for r in connection.execute(
            sa.select(sync_outbox.c.record_kind, sync_outbox.c.record_id)
            .where(_held_by_others(owner))
            .distinct()
        )
    ]


def adopt_held(connection: Connection, me: int, owner: str) -> tuple[int, set[str]]:
    """The user chose to send held changes as the signed-in user; returns how many, and the record
    kinds they touch. A change the server cannot take from them (another server's project) comes back
    rejected, with its reason."""
    records = _held_records(connection, owner)
    result = connection.execute(
        sync_outbox.update().where(_held_by_others(owner)).values(owner=owner, state="pending", seq=None)
    )
    for kind, record_id in records:
        rebuild(connection, kind, record_id, me, owner)
    return int(result.rowcount), {kind for kind, _record_id in records}


def discard_held(connection: Connection, owner: str) -> int:
    """The user chose to drop held changes; returns how many."""
    result = connection.execute(sync_outbox.delete().where(_held_by_others(owner)))
    return int(result.rowcount)


def show_owned(connection: Connection, me: int, owner: str) -> None:
    """Rebuild the rows the owner's queued changes touch (after a switch of sign-in brought them back)."""
    records = connection.execute(
        sa.select(sync_outbox.c.record_kind, sync_outbox.c.record_id)
        .where(sync_outbox.c.owner == owner, sync_outbox.c.state.in_(QUEUED_STATES))
        .distinct()
    ).all()
    for kind, record_id in records:
        rebuild(connection, str(kind), str(record_id), me, owner)


def resend_after_rollback(connection: Connection, project_id: int, head: int, me: int, owner: str) -> int:
    """The server (same identity) is at ``head``, below this client's cursor: it was restored from an
    older backup and lost every event after ``head``. Queue the owner's accepted changes it lost again,
    in their original order, and take the cursor back to ``head`` so what follows is read afresh.
    Returns how many changes go out again."""
    lost = sa.and_(
        sync_outbox.c.owner == owner,
        sync_outbox.c.project_id == project_id,
        sync_outbox.c.state.in_(("acked", "synced")),
        sync_outbox.c.seq > head,
    )
    records = connection.execute(
        sa.select(sync_outbox.c.record_kind, sync_outbox.c.record_id).where(lost).distinct()
    ).all()
    result = connection.execute(sync_outbox.update().where(lost).values(state="pending", seq=None))
    for kind, record_id in records:
        rebuild(connection, str(kind), str(record_id), me, owner)
    set_cursor(connection, project_id, head)
    return int(result.rowcount)


def prune_journal(connection: Connection, written_before: str) -> int:
    """Delete journal entries (accepted, their event stored here) written before ``written_before``
    (an ISO time). Pending, acknowledged-but-not-arrived, rejected and held entries are never touched.
    Returns how many went."""
    result = connection.execute(
        sync_outbox.delete().where(sync_outbox.c.state == "synced", sync_outbox.c.created_at < written_before)
    )
    return int(result.rowcount)
