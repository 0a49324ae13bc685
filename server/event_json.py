"""Events written as JSON text directly: the writer stores and sends one for every change.

``core.sync.protocol.Event`` is the definition; building that model and dumping it costs about twice
as much as writing the same text here. The output is the text ``Event.model_dump_json()`` gives (same
keys, order and escaping; tests compare the two) except that a float may be spelled differently with
the same value (``1e-07`` for ``1e-7``). What the standard ``json`` module would write differently
(NaN or infinite numbers, which pydantic writes as ``null``, or values it cannot encode) goes through
the model instead.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from core.sync.protocol import Event, FieldConflict

if TYPE_CHECKING:
    from core.sync.protocol import NotifyTarget, RecordKind

_CONFLICTS: TypeAdapter[list[FieldConflict]] = TypeAdapter(list[FieldConflict])
# ensure_ascii=False and allow_nan=False: pydantic's escaping, and a refusal where pydantic differs.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def conflicts_json(conflicts: list[FieldConflict]) -> str:
    return _CONFLICTS.dump_json(conflicts).decode() if conflicts else "[]"


def event_json(
    *,
    seq: int,
    project: int,
    change_id: str,
    op: str,
    kind: RecordKind,
    actor: int,
    at: str,
    record: dict[str, Any],
    notify: list[NotifyTarget],
    conflicts: list[FieldConflict],
) -> str:
    """The event as ``Event(...).model_dump_json()`` writes it."""
    try:
        record_text = _encode(record)
        notify_text = ",".join(f'{{"user":{int(t.user)},"kind":"{t.kind}"}}' for t in notify)
        return (
            f'{{"seq":{int(seq)},"project":{int(project)},"change_id":{_encode(change_id)},'
            f'"op":{_encode(op)},"kind":"{kind}","actor":{int(actor)},"at":{_encode(at)},'
            f'"record":{record_text},"notify":[{notify_text}],"conflicts":{conflicts_json(conflicts)}}}'
        )
    except (TypeError, ValueError):
        return Event(
            seq=seq,
            project=project,
            change_id=change_id,
            op=op,
            kind=kind,
            actor=actor,
            at=at,
            record=record,
            notify=notify,
            conflicts=conflicts,
        ).model_dump_json()
