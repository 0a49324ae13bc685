"""Turning a committed batch into replies: an ack or error per change, event pages for subscribers.

Events are stored as JSON text; pages splice that text instead of re-serialising each event for each
subscriber, and one page string is shared by every subscriber that needs the whole batch.

A subscription opened with ``ack_events`` gets the events of its own connection's changes inside their
acks (one frame per change instead of an ack plus a page), but only when every new event of that
project in the batch is its own: otherwise it gets plain acks and one page, so each subscriber still
sees every event exactly once and in sequence order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.event_json import conflicts_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from core.sync.protocol import Change
    from server.change_result import ChangeResult
    from server.session import Session, Subscription


def events_page(project: int, rows: list[tuple[int, str]], *, catchup: bool, more: bool) -> str:
    body = ",".join(payload for _seq, payload in rows)
    return (
        f'{{"v":1,"type":"events","re":null,"project":{project},"events":[{body}],'
        f'"catchup":{"true" if catchup else "false"},"more":{"true" if more else "false"}}}'
    )


def ack_json(request_id: str | None, result: ChangeResult, event_json: str | None = None) -> str:
    """The ``Ack`` of ``core.sync.protocol`` written directly: it is sent for every change.

    Request and change ids were validated as identifiers (``[A-Za-z0-9_.:-]``): they need no escaping.
    """
    conflicts = conflicts_json(result.conflicts)
    event = f',"event":{event_json}' if event_json is not None else ""
    re_text = "null" if request_id is None else f'"{request_id}"'
    return (
        f'{{"v":1,"type":"ack","re":{re_text},"change_id":"{result.change_id}",'
        f'"project":{result.project},"seq":{result.seq},'
        f'"duplicate":{"true" if result.duplicate else "false"},"conflicts":{conflicts}{event}}}'
    )


def dispatch(
    batch: list[tuple[Session, Change, str | None]],
    results: list[ChangeResult],
    subscribers: dict[int, set[Subscription]],
    heads: dict[int, int],
    catch_up_again: Callable[[Subscription], None],
) -> int:
    """Send the replies to a committed batch, then the live pages (acks first, as before). Returns how
    many events were delivered to subscribers (in acks or pages)."""
    delivered = 0
    new_events: dict[int, list[tuple[int, str, Session | None]]] = {}
    for (session, _change, _request_id), result in zip(batch, results, strict=True):
        if result.error is None and result.event_json is not None:
            new_events.setdefault(result.project, []).append((result.seq, result.event_json, session))
    in_acks: set[tuple[int, int]] = set()
    pages: list[tuple[Session, str]] = []
    for project, rows in new_events.items():
        heads[project] = max(heads.get(project, 0), rows[-1][0])
        delivered += _fan_out(project, rows, subscribers.get(project, ()), catch_up_again, in_acks, pages)
    for (session, _change, request_id), result in zip(batch, results, strict=True):
        if result.error is not None:
            session.send_error(result.error.code, result.error.message, request_id)
            continue
        embedded = result.event_json if (result.project, result.seq) in in_acks else None
        session.send(ack_json(request_id, result, embedded))
    for session, text in pages:
        session.send(text)
    return delivered


def deliver_stored(
    project: int,
    rows: list[tuple[int, str]],
    subscriptions: Iterable[Subscription],
    catch_up_again: Callable[[Subscription], None],
) -> int:
    """Send events read back from the table (written by another server process) to the live
    subscriptions that have not had them yet; returns how many were delivered."""
    pages: list[tuple[Session, str]] = []
    owned: list[tuple[int, str, Session | None]] = [(seq, payload, None) for seq, payload in rows]
    delivered = _fan_out(project, owned, subscriptions, catch_up_again, set(), pages)
    for session, text in pages:
        session.send(text)
    return delivered


def _fan_out(
    project: int,
    rows: list[tuple[int, str, Session | None]],
    subscriptions: Iterable[Subscription],
    catch_up_again: Callable[[Subscription], None],
    in_acks: set[tuple[int, int]],
    pages: list[tuple[Session, str]],
) -> int:
    """Decide what each subscription of ``project`` gets of ``rows`` (consecutive events, each with
    the session that wrote it, None when another process did): only what is newer than what it
    already has, so an event reaching a process twice (its own write and the notification about it)
    is sent once. A subscription that would see a gap reads it from the table instead."""
    delivered = 0
    whole_page: str | None = None
    for subscription in subscriptions:
        if subscription.catching_up:
            continue
        pending = [row for row in rows if row[0] > subscription.delivered]
        if not pending:
            continue
        if pending[0][0] != subscription.delivered + 1:
            # Events committed by another process in between: read them from the table.
            catch_up_again(subscription)
            continue
        subscription.delivered = pending[-1][0]
        delivered += len(pending)
        if subscription.ack_events and all(row[2] is subscription.session for row in pending):
            in_acks.update((project, row[0]) for row in pending)
            continue
        if len(pending) == len(rows):
            if whole_page is None:
                whole_page = events_page(project, [row[:2] for row in rows], catchup=False, more=False)
            text = whole_page
        else:
            text = events_page(project, [row[:2] for row in pending], catchup=False, more=False)
        pages.append((subscription.session, text))
    return delivered


def within_bytes(rows: list[tuple[int, str]], budget: int) -> list[tuple[int, str]]:
    """The first rows whose payloads fit ``budget`` characters (always at least one)."""
    used = 0
    for index, (_seq, payload) in enumerate(rows):
        used += len(payload)
        if used > budget and index > 0:
            return rows[:index]
    return rows
