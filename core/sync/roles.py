"""Who may make which change, decided in one place for both ends.

The client refuses a change before it is queued, so a user never sees a pending change that cannot
succeed; the server refuses it again when it arrives, because a queued change may come from a client
that had not yet heard that its user's role was taken away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.sync.protocol import Role

WRITER_ROLES: frozenset[Role] = frozenset({"admin", "supervisor", "artist"})
# Sign-off, setting it back to pending included: an artist gets back to pending by publishing new
# content (which resets the status), never by undoing a reviewer's verdict.
REVIEWER_ROLES: frozenset[Role] = frozenset({"admin", "supervisor"})
# Changes only writers may make, named as the refusal says it; every role may comment.
_WRITER_CHANGES: dict[str, str] = {
    "upsert_asset": "publish assets",
    "create_task": "create tasks",
    "update_task": "change tasks",
}


def change_refusal(role: str | None, change_type: str) -> str | None:
    """Why ``role`` may not make a change of ``change_type`` (a protocol change type), or None when it
    may. An unknown role is not refused here: the server decides."""
    if change_type == "set_review":
        if role is None or role in REVIEWER_ROLES:
            return None
        return f"The {role} role cannot approve or request changes; supervisors and admins can"
    what = _WRITER_CHANGES.get(change_type)
    if what is None or role is None or role in WRITER_ROLES:
        return None
    return f"The {role} role can comment but cannot {what}"
