"""What sync says to the user: the status bar's words, people's names, notifications and task conflicts.

Plain strings from the local store, so the Qt side only shows them (and they are tested without Qt).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.notify import NotificationKind
from core.sync.client_events import ChangesHeld, EventsUnreadable, ProjectDeleted
from core.sync.project_deletion import deleted_project_notice

if TYPE_CHECKING:
    from core.sync.client_events import ServerRolledBack, SyncStatus, TaskConflicts
    from core.sync.local_store import LocalStore, NotificationView
    from core.sync.protocol import FieldConflict

# The server's notification kinds -> the local kinds with a preference each (Settings.notify_<kind>).
NOTIFY_KINDS = {
    "mention": NotificationKind.MENTION,
    "task_assigned": NotificationKind.TASK_ASSIGNED,
    "comment_on_your_asset": NotificationKind.COMMENT,
}
SNIPPET_CHARS = 140


@dataclass(frozen=True)
class SyncNotice:
    """A sync notification in words, ready for the notifier."""

    kind: NotificationKind
    title: str
    body: str
    project_id: int
    record_kind: str
    record_id: str
    asset_id: str | None  # the synced asset it concerns, if any


def describe_status(status: SyncStatus | None) -> str:
    """The status bar's words: online, offline, connecting…, syncing 12, not signed in."""
    if status is None:
        return "not signed in"
    if status.state == "syncing":
        if status.pending_changes:
            return f"syncing {status.pending_changes:,}"
        if status.catching_up:
            return f"catching up {status.catching_up:,}"
        return "syncing"
    if status.state == "connecting":
        return "connecting…"
    return status.state


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


class SyncWording:
    """Sentences about synced records, read from the local store (names are cached until forgotten)."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self._names: dict[int, str] = {}

    def user_name(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        if user_id not in self._names:
            self._names = {u.id: u.display_name or u.name for u in self.store.users()}
        return self._names.get(user_id, f"user {user_id}")

    def forget_names(self) -> None:
        """Members changed (a subscribe brought a new list, or another user signed in)."""
        self._names.clear()

    def describe_notification(self, item: NotificationView) -> SyncNotice:
        actor = self.user_name(item.actor)
        # A kind this client does not know yet (a newer server) is governed by the comment preference.
        kind = NOTIFY_KINDS.get(item.kind, NotificationKind.COMMENT)
        body, asset_id = "", None
        if item.record_kind == "comment":
            try:
                comment = self.store.comment(item.record_id)
            except KeyError:
                comment = None
            if comment is not None:
                asset_id = comment.asset_id
                where = self.store.asset_name(comment.asset_id)
                body = f"{_snippet(comment.body)}" + (f"\non {where}" if where else "")
            title = f"{actor} mentioned you" if item.kind == "mention" else f"{actor} commented on your asset"
        elif item.record_kind == "task":
            try:
                task = self.store.task(item.record_id)
            except KeyError:
                task = None
            title = f"{actor} assigned you a task"
            if task is not None:
                asset_id = task.asset_id
                body = task.title + (f"\ndue {task.due_date}" if task.due_date else "")
        elif item.kind in ("review_approved", "review_changes_requested"):
            asset_id = item.record_id
            review = self.store.asset_review(item.record_id)
            verdict = "approved" if item.kind == "review_approved" else "requested changes to"
            title = f"{actor} {verdict} {self.store.asset_name(item.record_id) or 'your asset'}"
            # The reason as it stands now (a later verdict may have replaced the one notified).
            if item.kind == "review_changes_requested" and review is not None and review[1]:
                body = f"Changes requested: {_snippet(review[1])}"
        else:
            title = f"{actor}: {item.kind.replace('_', ' ')}"
        return SyncNotice(kind, title, body, item.project_id, item.record_kind, item.record_id, asset_id)

    def describe_conflict(self, event: TaskConflicts) -> str | None:
        """What lost in a task conflict, for the people involved; None when it does not concern me."""
        me = self.store.current_user_id()
        losers = {c.overwritten_by for c in event.conflicts}
        if me is None or (event.actor != me and me not in losers):
            return None
        try:
            title = self.store.task(event.task_id).title
        except KeyError:
            title = event.task_id

        def lost(conflict: FieldConflict) -> str:
            value = json.dumps(conflict.overwritten_value)
            by = conflict.overwritten_by
            who = "you" if by == me else self.user_name(by) if by is not None else "someone"
            return f"{conflict.field.replace('_', ' ')} (was {value}, set by {who})"

        fields = "; ".join(lost(c) for c in event.conflicts)
        if event.actor == me:
            return (
                f"Your change to task “{title}” replaced newer values you had not seen: {fields}. "
                "Check the task and set them again if needed."
            )
        return (
            f"{self.user_name(event.actor)} changed task “{title}” without seeing your newer values, "
            f"which were overwritten: {fields}."
        )

    def project_name(self, project_id: int) -> str:
        known = self.store.projects(include_deleted=True)  # a deleted project's notice names it
        return next((p.name for p in known if p.id == project_id), f"project {project_id}")

    def describe_attention(
        self, event: EventsUnreadable | ChangesHeld | ServerRolledBack | ProjectDeleted
    ) -> str:
        """Sync did something on the user's behalf that they must know of, in one sentence or two."""
        if isinstance(event, ProjectDeleted):
            return deleted_project_notice(event.name, event.project_id)
        if isinstance(event, EventsUnreadable):
            project = self.project_name(event.project_id)
            seqs = ", ".join(str(item.seq) for item in event.events)
            plural = "s" if len(event.events) > 1 else ""
            return (
                f"{len(event.events)} change{plural} in {project} could not be read by this app and "
                f"{'were' if plural else 'was'} skipped (event{plural} {seqs}); the rest keeps syncing. "
                f"An administrator can remove {'them' if plural else 'it'} with "
                f"“stratopipe-server event redact '{project}' SEQ”."
            )
        if isinstance(event, ChangesHeld):
            count = event.held.count
            return (
                f"{count:,} unsent change{'s' if count != 1 else ''} written under another sign-in "
                "(another user or server) were kept, not sent: they go out when that account signs "
                "in again, or you can send them as yourself or discard them."
            )
        return (
            f"The server was restored from an older backup and lost changes in "
            f"{self.project_name(event.project_id)}; {event.resent:,} of yours were sent again."
        )
