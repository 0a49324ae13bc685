"""What applying one change gave: its own module, so the fan-out and the handlers outside
``server.changes`` (``server.deletions``) can name it without importing the batch applier."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.sync.protocol import FieldConflict
    from server.store import DomainError


@dataclass(slots=True)
class ChangeResult:
    """Outcome of one change: an ack (``seq``) or an ``error``; ``event_json`` is set for new events."""

    change_id: str
    project: int
    seq: int = 0
    duplicate: bool = False
    conflicts: list[FieldConflict] = field(default_factory=list)
    event_json: str | None = None
    error: DomainError | None = None
