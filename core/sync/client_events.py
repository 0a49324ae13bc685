"""What the sync client tells its host: its status and the events it reports, as plain dataclasses.

``SyncClient`` calls ``on_status(SyncStatus)`` and ``on_event(SyncEvent)`` on its own thread; the Qt
bridge forwards them as signals, the CLI collects them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from core.sync.local_store import HeldChanges, NotificationView, UnreadableEvent
    from core.sync.protocol import FieldConflict

SyncState = Literal["offline", "connecting", "syncing", "online"]


@dataclass(frozen=True)
class SyncStatus:
    state: SyncState
    pending_changes: int = 0  # local changes not yet accepted by the server
    catching_up: int = 0  # missed events still to download
    message: str = ""


@dataclass(frozen=True)
class RecordsChanged:
    project_id: int
    kind: str  # "asset" | "comment" | "task"
    record_ids: list[str]


@dataclass(frozen=True)
class NotificationsArrived:
    items: list[NotificationView]


@dataclass(frozen=True)
class ChangeRejected:
    """The server refused a local change for good; the row was rebuilt without it."""

    change_id: str
    record_kind: str
    record_id: str
    code: str
    message: str


@dataclass(frozen=True)
class TaskConflicts:
    """A task change overwrote newer values its author had not seen (last writer in server order)."""

    task_id: str
    project_id: int
    seq: int
    actor: int
    conflicts: list[FieldConflict]


@dataclass(frozen=True)
class AuthProblem:
    """The token no longer works; the client stops reconnecting until ``set_token``."""

    code: str
    message: str


@dataclass(frozen=True)
class EventsUnreadable:
    """Server events this client could not read: skipped (recorded in the store) so the project's later
    events still arrive. An administrator can redact them on the server."""

    project_id: int
    events: list[UnreadableEvent]


@dataclass(frozen=True)
class ChangesHeld:
    """Unsent changes written under another sign-in (user or server) are kept, not sent and not
    deleted: they go out when their owner signs in again, or as the user decides."""

    held: HeldChanges


@dataclass(frozen=True)
class ServerRolledBack:
    """The server was restored from an older backup and lost accepted events after ``head_seq``; this
    client's own changes among them were queued again."""

    project_id: int
    head_seq: int
    resent: int


@dataclass(frozen=True)
class ProjectDeleted:
    """Its owner or an admin deleted the server project: the host unlinks its local projects (whose
    files and catalog stay), ``core.sync.project_deletion``."""

    project_id: int
    name: str = ""


SyncEvent = (
    RecordsChanged
    | NotificationsArrived
    | ChangeRejected
    | TaskConflicts
    | AuthProblem
    | EventsUnreadable
    | ChangesHeld
    | ServerRolledBack
    | ProjectDeleted
)


class AuthError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
