"""A page the client cannot parse whole is read event by event; what cannot be read keeps its place."""

from __future__ import annotations

import json

import pytest

from core.sync.incoming import read_server_message
from core.sync.protocol import Ack, EventsPage


def event(seq: int, annotation: str = "null") -> str:
    record = (
        f'{{"id":"k{seq}","project":3,"asset_id":"a1","author":2,"body":"note","frame":null,'
        f'"annotation":{annotation},"created_at":"t","edited_at":null,"deleted":false,"version":1}}'
    )
    return (
        f'{{"seq":{seq},"project":3,"change_id":"c{seq}","op":"add_comment","kind":"comment","actor":2,'
        f'"at":"t","record":{record},"notify":[],"conflicts":[]}}'
    )


DEEP = "[" * 400 + "]" * 400


def test_a_page_with_an_unreadable_event_keeps_the_others_in_order() -> None:
    raw = (
        f'{{"v":1,"type":"events","re":null,"project":3,"events":[{event(7)},{event(8, DEEP)},{event(9)}],'
        '"catchup":true,"more":false}'
    )
    message, unreadable = read_server_message(raw)
    assert isinstance(message, EventsPage)
    assert [e.seq for e in message.events] == [7, 9]
    assert (message.catchup, message.more) == (True, False)
    assert [(u.project_id, u.seq, u.change_id) for u in unreadable] == [(3, 8, "c8")]
    assert "recursion" in unreadable[0].reason


def test_an_ack_whose_event_cannot_be_read_is_still_an_ack() -> None:
    raw = (
        '{"v":1,"type":"ack","re":"c1","change_id":"c8","project":3,"seq":8,"duplicate":false,'
        f'"conflicts":[],"event":{event(8, DEEP)}}}'
    )
    message, unreadable = read_server_message(raw)
    assert isinstance(message, Ack)
    assert (message.seq, message.event) == (8, None)
    assert [u.seq for u in unreadable] == [8]


def test_a_message_broken_beyond_its_events_is_a_protocol_error() -> None:
    with pytest.raises(ValueError, match="Unreadable"):
        read_server_message(json.dumps({"v": 1, "type": "subscribed", "project": "nope"}))
