"""Server events into the local store, and rows rebuilt as server snapshot + pending local changes.

Functions here run inside the caller's transaction (``LocalStore`` holds the write lock). A catch-up
page holds up to 500 events, so the common case (a record this client has no pending change for) is
written with one ``executemany`` per record kind through SQL compiled once, and notifications with
another; only records with pending local changes take the slower snapshot-and-rebuild path.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.sync.deletions import apply_tombstones, without_tombstones
from core.sync.local_records import AppliedEvents, GapError, NotificationView, UnreadableEvent, apply_local
from core.sync.local_tables import (
    RECORD_TABLES,
    sync_cursor,
    sync_notification,
    sync_outbox,
    sync_unreadable,
)
from core.sync.protocol import CHANGE, Event
from core.sync.records import dump_json, load_json, parse_record, record_row

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from core.sync.records import SyncedRecord

# Outbox states whose changes a row still shows on top of the server's snapshot.
QUEUED_STATES = ("pending", "acked")

_NOTIFICATION_COLUMNS = (
    "project_id",
    "seq",
    "kind",
    "actor",
    "record_kind",
    "record_id",
    "created_at",
    "read",
)


class _CompiledMany:
    """An INSERT compiled once for SQLite, run with ``executemany`` on plain tuples."""

    def __init__(self, statement: Any, columns: tuple[str, ...]) -> None:
        self.statement = statement
        self.columns = list(columns)
        self.compiled: tuple[str, tuple[str, ...]] | None = None

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        if self.compiled is None:
            compiled = self.statement.compile(dialect=connection.dialect, column_keys=self.columns)
            self.compiled = (str(compiled), tuple(compiled.positiontup or ()))
        sql, order = self.compiled
        connection.exec_driver_sql(sql, [tuple(row[name] for name in order) for row in rows])


_UPSERTS: dict[tuple[str, tuple[str, ...]], _CompiledMany] = {}
_INSERT_NOTIFICATIONS = _CompiledMany(
    sqlite_insert(sync_notification).on_conflict_do_nothing(), _NOTIFICATION_COLUMNS
)


def _bulk_upsert(connection: Connection, kind: str, rows: list[dict[str, Any]]) -> None:
    columns = tuple(rows[0])
    upsert = _UPSERTS.get((kind, columns))
    if upsert is None:
        table = RECORD_TABLES[kind]
        statement = sqlite_insert(table)
        updates: dict[str, Any] = {name: statement.excluded[name] for name in columns if name != "id"}
        updates["first_seq"] = sa.func.coalesce(table.c.first_seq, statement.excluded.seq)
        statement = statement.on_conflict_do_update(index_elements=["id"], set_=updates)
        upsert = _UPSERTS[(kind, columns)] = _CompiledMany(statement, columns)
    upsert.run(connection, rows)


def _insert_notifications(connection: Connection, rows: list[dict[str, Any]]) -> list[NotificationView]:
    """Store notifications; returns those that are new (a replayed event's are already there)."""
    before = connection.execute(
        sa.select(sa.func.coalesce(sa.func.max(sync_notification.c.id), 0))
    ).scalar_one()
    _INSERT_NOTIFICATIONS.run(connection, rows)
    stored = connection.execute(
        sa.select(sync_notification).where(sync_notification.c.id > before).order_by(sync_notification.c.id)
    )
    return [NotificationView(**{**row._asdict(), "read": bool(row.read)}) for row in stored]


def set_cursor(connection: Connection, project_id: int, seq: int) -> None:
    statement = sqlite_insert(sync_cursor).values(project_id=project_id, last_seq=seq)
    connection.execute(statement.on_conflict_do_update(index_elements=["project_id"], set_={"last_seq": seq}))


def read_cursor(connection: Connection, project_id: int) -> int:
    value = connection.execute(
        sa.select(sync_cursor.c.last_seq).where(sync_cursor.c.project_id == project_id)
    ).scalar_one_or_none()
    return int(value or 0)


def _conflicts_json(event: Event) -> str | None:
    return dump_json([c.model_dump() for c in event.conflicts])


def _queued_for(
    connection: Connection, owner: str, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], set[str]]:
    """The records among ``keys`` with changes of ``owner`` still to show (pending or acknowledged),
    with those changes' ids: one indexed lookup per record kind, whatever the outbox's length."""
    found: dict[tuple[str, str], set[str]] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, record_id in keys:
        by_kind.setdefault(kind, []).append(record_id)
    for kind, record_ids in by_kind.items():
        rows = connection.execute(
            sa.select(sync_outbox.c.record_id, sync_outbox.c.change_id).where(
                sync_outbox.c.record_kind == kind,
                sync_outbox.c.record_id.in_(record_ids),
                sync_outbox.c.owner == owner,
                sync_outbox.c.state.in_(QUEUED_STATES),
            )
        )
        for record_id, change_id in rows:
            found.setdefault((kind, record_id), set()).add(change_id)
    return found


def _record_unreadable(connection: Connection, item: UnreadableEvent) -> None:
    statement = sqlite_insert(sync_unreadable).values(
        project_id=item.project_id, seq=item.seq, change_id=item.change_id, reason=item.reason[:2000]
    )
    connection.execute(statement.on_conflict_do_nothing())


def apply_events(
    connection: Connection,
    project_id: int,
    events: list[Event],
    me: int,
    owner: str,
    unreadable: list[UnreadableEvent] | None = None,
) -> AppliedEvents:
    """Store events idempotently (older than the cursor: skipped) and advance the cursor.

    ``unreadable`` events (the client could not parse them) take their place in the sequence, as does
    an event whose record does not fit its model: recorded, reported, and passed over, so one bad event
    never stops the project's later ones."""
    cursor = read_cursor(connection, project_id)
    result = AppliedEvents(project_id=project_id, last_seq=cursor)
    items: list[Event | UnreadableEvent] = [*events, *(unreadable or ())]
    fresh = sorted((item for item in items if item.seq > cursor), key=lambda item: item.seq)
    if not fresh:
        return result
    expected = cursor + 1
    for item in fresh:
        if item.seq != expected:
            raise GapError(f"Expected event {expected} of project {project_id}, got {item.seq}")
        expected += 1
    readable: list[tuple[Event, SyncedRecord]] = []
    for item in without_tombstones(fresh):
        if isinstance(item, Event):
            try:
                readable.append((item, parse_record(item.kind, item.record)))
                continue
            except (ValidationError, KeyError) as exc:
                item = UnreadableEvent(project_id, item.seq, item.change_id, f"{item.kind}: {exc}")
        _record_unreadable(connection, item)
        result.unreadable.append(item)
    queued = _queued_for(connection, owner, {(e.kind, str(e.record["id"])) for e, _record in readable})
    fast: dict[str, list[dict[str, Any]]] = {}
    notes: list[dict[str, Any]] = []
    for event, record in readable:
        key = (event.kind, record.id)
        if key in queued:
            store_snapshot(connection, event, record)
            if event.change_id in queued[key]:
                # Ours: kept as a journal entry (see ``sync_outbox.state``), no longer shown as pending.
                connection.execute(
                    sync_outbox.update()
                    .where(sync_outbox.c.change_id == event.change_id)
                    .values(state="synced", seq=event.seq)
                )
            rebuild(connection, key[0], key[1], me, owner)
        else:
            values = record_row(record)
            values.update(
                sync_state="synced",
                seq=event.seq,
                first_seq=event.seq,
                server_json=json.dumps(event.record),
            )
            if event.kind == "task":
                values["conflicts"] = _conflicts_json(event)
            fast.setdefault(event.kind, []).append(values)
        result.changed.setdefault(event.kind, []).append(key[1])
        if event.conflicts and event.kind == "task":
            result.conflicts.append((key[1], event))
        notes.extend(
            {
                "project_id": event.project,
                "seq": event.seq,
                "kind": target.kind,
                "actor": event.actor,
                "record_kind": event.kind,
                "record_id": key[1],
                "created_at": event.at,
                "read": False,
            }
            for target in event.notify
            if target.user == me and target.user != event.actor
        )
    for kind, rows in fast.items():
        _bulk_upsert(connection, kind, rows)
    apply_tombstones(connection, fresh, result)
    if notes:
        result.notifications = _insert_notifications(connection, notes)
    set_cursor(connection, project_id, fresh[-1].seq)
    result.last_seq = fresh[-1].seq
    return result


def store_snapshot(connection: Connection, event: Event, record: SyncedRecord) -> None:
    table = RECORD_TABLES[event.kind]
    values = record_row(record)
    extra: dict[str, Any] = {"seq": event.seq, "server_json": json.dumps(event.record)}
    if event.kind == "task":
        extra["conflicts"] = _conflicts_json(event)
    statement = sqlite_insert(table).values(**values, **extra, first_seq=event.seq, sync_state="synced")
    updates = {**extra, "first_seq": sa.func.coalesce(table.c.first_seq, event.seq)}
    connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updates))


def rebuild(connection: Connection, kind: str, record_id: str, me: int, owner: str) -> None:
    """Row = last server snapshot + the pending (and acked, not yet echoed) changes of the signed-in
    ``owner``, in order (another sign-in's changes are held, not shown)."""
    table = RECORD_TABLES[kind]
    row = connection.execute(
        sa.select(table.c.server_json, table.c.local_order).where(table.c.id == record_id)
    ).one_or_none()
    snapshot = load_json(row.server_json) if row is not None else None
    state = parse_record(kind, snapshot) if snapshot is not None else None
    queued = connection.execute(
        sa.select(sync_outbox.c.message, sync_outbox.c.created_at)
        .where(
            sync_outbox.c.record_kind == kind,
            sync_outbox.c.record_id == record_id,
            sync_outbox.c.owner == owner,
            sync_outbox.c.state.in_(QUEUED_STATES),
        )
        .order_by(sync_outbox.c.position)
    ).all()
    for entry in queued:
        state = apply_local(state, CHANGE.validate_json(entry.message), me, entry.created_at)
    if state is None:
        if row is not None:
            connection.execute(table.update().where(table.c.id == record_id).values(sync_state="rejected"))
        return
    values = record_row(state)
    values["sync_state"] = "pending" if queued else "synced"
    if row is None:
        order = connection.execute(
            sa.select(sa.func.coalesce(sa.func.max(table.c.local_order), 0) + 1)
        ).scalar_one()
        connection.execute(table.insert().values(**values, local_order=order))
    else:
        connection.execute(table.update().where(table.c.id == record_id).values(**values))
