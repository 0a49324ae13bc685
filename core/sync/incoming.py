"""Reading what the server sends, so that one event the client cannot read never stops the rest.

A page is parsed whole when it can be (the common case, one pydantic call). When it cannot (an event
nested deeper than the parser allows, a record of a shape this client does not know), the page is split
into its events without recursion (``core.sync.json_shape``) and each is read on its own: the readable
ones are applied, the others come back as ``UnreadableEvent``s that keep their place in the sequence.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from core.sync.json_shape import raw_items, raw_members
from core.sync.local_records import UnreadableEvent
from core.sync.protocol import SERVER_MESSAGE, Ack, Event, EventsPage, ServerMessage

REASON_CHARS = 300


def _scalar(members: dict[str, str], name: str) -> Any:
    """A short top-level value (a number, an id) read on its own; None when absent or not JSON."""
    text = members.get(name)
    if text is None or len(text) > 200:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _why(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"[:REASON_CHARS] if where else first["msg"][:REASON_CHARS]


def _split_events(
    text: str, project: int, previous_seq: int | None = None
) -> tuple[list[Event], list[UnreadableEvent]]:
    events: list[Event] = []
    unreadable: list[UnreadableEvent] = []
    for item in raw_items(text):
        try:
            event = Event.model_validate_json(item)
        except ValidationError as exc:
            members = raw_members(item) if item.lstrip().startswith("{") else {}
            seq = _scalar(members, "seq")
            if not isinstance(seq, int):
                # Pages hold consecutive events: the one after a known event has the next number.
                if previous_seq is None:
                    raise ValueError("An unreadable event without a sequence number opens the page") from exc
                seq = previous_seq + 1
            change_id = _scalar(members, "change_id")
            unreadable.append(
                UnreadableEvent(project, seq, change_id if isinstance(change_id, str) else "", _why(exc))
            )
            previous_seq = seq
            continue
        events.append(event)
        previous_seq = event.seq
    return events, unreadable


def read_server_message(raw: str | bytes) -> tuple[ServerMessage, list[UnreadableEvent]]:
    """The message, and the events it carried that could not be read (left out of the message).

    Raises pydantic's ValidationError or ValueError for a message that is broken beyond its events:
    that is a protocol error, not a bad event."""
    try:
        return SERVER_MESSAGE.validate_json(raw), []
    except ValidationError:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        try:
            return _read_around_events(raw_members(text))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"Unreadable server message: {exc!r}") from exc


def _read_around_events(members: dict[str, str]) -> tuple[ServerMessage, list[UnreadableEvent]]:
    kind = _scalar(members, "type")
    if kind == "events":
        project = int(_scalar(members, "project"))
        events, unreadable = _split_events(members["events"], project)
        rest = {name: value for name, value in members.items() if name != "events"}
        page = EventsPage.model_validate_json(_join(rest | {"events": "[]"}))
        return page.model_copy(update={"events": events}), unreadable
    if kind == "ack" and "event" in members:
        ack = Ack.model_validate_json(_join({k: v for k, v in members.items() if k != "event"}))
        events, unreadable = _split_events(f"[{members['event']}]", ack.project, ack.seq - 1)
        return ack.model_copy(update={"event": events[0] if events else None}), unreadable
    raise ValueError(f"Unreadable {kind!r} message from the server")


def _join(members: dict[str, str]) -> str:
    return "{" + ",".join(f"{json.dumps(name)}:{value}" for name, value in members.items()) + "}"
