"""The hand-written event and ack JSON against the pydantic models that define them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.sync.protocol import SERVER_MESSAGE, Ack, Event, FieldConflict, NotifyTarget
from server.change_result import ChangeResult
from server.event_json import event_json
from server.fanout import ack_json

COMMENT = {
    "id": "c-1",
    "project": 3,
    "asset_id": "a-1",
    "author": 7,
    "body": 'Edge "flicker" at 12\\13 — née\n\ttab \x01 \u2028 ✓ 😀',
    "frame": 12,
    "annotation": {"strokes": [[0.25, 0.5, 12, -2]], "colour": "#ff0000", "nested": {"ok": True}},
    "created_at": "2026-01-01T12:00:00.000+00:00",
    "edited_at": None,
    "deleted": False,
    "version": 1,
}
TASK = {
    "id": "t-1",
    "project": 3,
    "title": "Fix the roto",
    "description": "",
    "assignee": None,
    "creator": 7,
    "status": "review",
    "due_date": "2026-02-01",
    "asset_id": None,
    "version": 3,
    "created_at": "2026-01-01T12:00:00.000+00:00",
    "updated_at": "2026-01-02T12:00:00.000+00:00",
}
CONFLICT = FieldConflict(
    field="status", base_version=1, overwritten_value="review", overwritten_version=2, overwritten_by=9
)


def _both(**extra: Any) -> tuple[str, str]:
    fields: dict[str, Any] = {
        "seq": 42,
        "project": 3,
        "change_id": "9f1c2b7e-0000-4000-8000-000000000001",
        "op": "add_comment",
        "kind": "comment",
        "actor": 7,
        "at": "2026-01-01T12:00:00.000+00:00",
        "record": COMMENT,
        "notify": [],
        "conflicts": [],
    } | extra
    return event_json(**fields), Event(**fields).model_dump_json()


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {
            "notify": [
                NotifyTarget(user=9, kind="mention"),
                NotifyTarget(user=4, kind="comment_on_your_asset"),
            ]
        },
        {"record": TASK, "kind": "task", "op": "update_task", "conflicts": [CONFLICT]},
        {"record": {"id": "a", "metadata": {}, "thumbnail_b64": None}, "kind": "asset"},
    ],
)
def test_event_text_is_what_the_model_writes(extra: dict[str, Any]) -> None:
    fast, reference = _both(**extra)
    assert fast == reference


def test_floats_may_be_spelled_differently_but_keep_their_values() -> None:
    record = dict(COMMENT, annotation={"strokes": [1e-07, 3.5e16, 0.1 + 0.2, -0.0]})
    fast, reference = _both(record=record)
    assert json.loads(fast) == json.loads(reference)
    assert SERVER_MESSAGE.validate_json(ack_json("r", ChangeResult("c", 3, seq=42), fast)).event == (
        Event.model_validate_json(reference)
    )


def test_numbers_json_cannot_write_like_pydantic_go_through_the_model() -> None:
    record = dict(COMMENT, annotation={"x": float("nan"), "y": float("inf")})
    fast, reference = _both(record=record)
    assert fast == reference
    assert json.loads(fast)["record"]["annotation"] == {"x": None, "y": None}


def test_ack_with_its_event_parses_as_the_protocol_ack() -> None:
    text, _ = _both()
    result = ChangeResult("9f1c2b7e-0000-4000-8000-000000000001", 3, seq=42, conflicts=[CONFLICT])
    parsed = SERVER_MESSAGE.validate_json(ack_json("r:17", result, text))
    assert isinstance(parsed, Ack)
    assert parsed == Ack(
        re="r:17",
        change_id=result.change_id,
        project=3,
        seq=42,
        conflicts=[CONFLICT],
        event=Event.model_validate_json(text),
    )
    plain = SERVER_MESSAGE.validate_json(ack_json(None, ChangeResult("c", 3, seq=1, duplicate=True)))
    assert plain == Ack(change_id="c", project=3, seq=1, duplicate=True)
