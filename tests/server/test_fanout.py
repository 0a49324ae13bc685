"""How a committed batch is turned into frames: which events ride in acks and which go in pages."""

from __future__ import annotations

import json
from typing import Any

from core.sync.protocol import CHANGE, SERVER_MESSAGE, Ack, EventsPage
from server.change_result import ChangeResult
from server.fanout import dispatch
from server.metrics import ServerMetrics
from server.ratelimit import TokenBucket
from server.session import ServerConfig, Session, Subscription


def _session() -> Session:
    # The socket is never touched: dispatch only queues frames for the session's sender task.
    config = ServerConfig(db_url="sqlite://")
    bucket = TokenBucket(config.rate_per_s, config.rate_burst)
    return Session(None, config, "127.0.0.1", bucket, ServerMetrics())  # type: ignore[arg-type]


def _frames(session: Session) -> list[Any]:
    return [SERVER_MESSAGE.validate_json(text) for text in session._outgoing]


def _change_and_result(project: int, seq: int) -> tuple[Any, ChangeResult]:
    change_id = f"c{seq}"
    change = CHANGE.validate_python(
        {
            "type": "delete_comment",
            "change_id": change_id,
            "project": project,
            "comment_id": f"k{seq}",
        }
    )
    event = {
        "seq": seq,
        "project": project,
        "change_id": change_id,
        "op": "delete_comment",
        "kind": "comment",
        "actor": 1,
        "at": "2026-01-01T00:00:00.000+00:00",
        "record": {"id": f"k{seq}"},
    }
    return change, ChangeResult(change_id, project, seq=seq, event_json=json.dumps(event))


def test_own_events_go_in_acks_only_when_the_batch_holds_no_one_elses() -> None:
    alice, bob = _session(), _session()
    alice_sub = Subscription(alice, 3, delivered=0, catching_up=False, ack_events=True)
    bob_sub = Subscription(bob, 3, delivered=0, catching_up=False, ack_events=True)
    subscribers = {3: {alice_sub, bob_sub}}
    heads: dict[int, int] = {}

    # Batch 1: only alice's changes. Her events ride in her acks; bob gets one page.
    batch, results = [], []
    for seq in (1, 2):
        change, result = _change_and_result(3, seq)
        batch.append((alice, change, f"r{seq}"))
        results.append(result)
    dispatch(batch, results, subscribers, heads, lambda _s: None)
    alice_frames = _frames(alice)
    assert all(isinstance(f, Ack) for f in alice_frames)
    assert [f.event.seq for f in alice_frames] == [1, 2]
    (page,) = _frames(bob)
    assert isinstance(page, EventsPage)
    assert [e.seq for e in page.events] == [1, 2]

    # Batch 2: alice's and bob's changes interleaved. Plain acks and one page each, in order.
    alice._outgoing.clear()
    bob._outgoing.clear()
    change3, result3 = _change_and_result(3, 3)
    change4, result4 = _change_and_result(3, 4)
    dispatch(
        [(alice, change3, "r3"), (bob, change4, "r4")],
        [result3, result4],
        subscribers,
        heads,
        lambda _s: None,
    )
    for session, own_seq in ((alice, 3), (bob, 4)):
        ack, page = _frames(session)
        assert isinstance(ack, Ack)
        assert (ack.seq, ack.event) == (own_seq, None)
        assert isinstance(page, EventsPage)
        assert [e.seq for e in page.events] == [3, 4]
    assert heads == {3: 4}
    assert (alice_sub.delivered, bob_sub.delivered) == (4, 4)


def test_a_subscription_still_catching_up_gets_plain_acks() -> None:
    alice = _session()
    subscription = Subscription(alice, 3, delivered=0, catching_up=True, ack_events=True)
    change, result = _change_and_result(3, 1)
    dispatch([(alice, change, "r1")], [result], {3: {subscription}}, {}, lambda _s: None)
    (ack,) = _frames(alice)
    assert isinstance(ack, Ack)
    assert ack.event is None
    assert subscription.delivered == 0  # catch-up will read it from the database
