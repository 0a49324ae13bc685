"""What the signed-in user may do with a server project's members and the project itself, and the words
for a request the server did not carry out; shared by the members and the deletion dialogs.

Roles, memberships and each project's owner are as the server said at sign-in (a server from before
owners were sent names none, and then only roles count); the server remains the judge of every request
that is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.sync.roles import member_management_refusal, project_deletion_refusal
from ui.collab.deletions import my_role, owns_project

if TYPE_CHECKING:
    from core.sync.local_store import LocalStore
    from core.sync.sign_in import SignInFailure

SIGN_IN_FIRST = "Sign in (File ▸ Sign in…) to manage a server project."
_WHAT = {"add": "Adding a member", "remove": "Removing a member", "delete": "Deleting the project"}
_UNREACHABLE = frozenset({"unreachable", "certificate", "bad_ca", "cancelled", "internal"})


@dataclass(frozen=True)
class ProjectAccess:
    """The signed-in user (None: nobody) and why they may not manage members / delete (None: they may)."""

    me: int | None
    members_refusal: str | None
    deletion_refusal: str | None


def project_access(store: LocalStore, project: int) -> ProjectAccess:
    me = store.current_user_id()
    if me is None:
        return ProjectAccess(None, SIGN_IN_FIRST, SIGN_IN_FIRST)
    role = my_role(store)
    is_member = any(user.id == me for user in store.users(project))
    is_owner = owns_project(store, project)
    return ProjectAccess(
        me,
        member_management_refusal(role, is_owner=is_owner, is_member=is_member),
        project_deletion_refusal(role, is_owner=is_owner),
    )


def request_failure_text(action: str, failure: SignInFailure) -> str:
    """Why ``action`` ("add", "remove", "delete") did not happen, in words; nothing was changed. An
    unreachable server's technical detail is left out (the dialogs show it as the tooltip)."""
    what = _WHAT.get(action, "The request")
    if failure.code == "not_signed_in":
        return f"{what} needs the server: sign in first (File ▸ Sign in…). Nothing was changed."
    if failure.code in _UNREACHABLE:
        # The app works offline, but these are decided by the server and never queued: say so.
        return (
            f"{what} needs the server, which cannot be reached now. Nothing was changed: try again "
            "when the status bar says online."
        )
    if failure.code == "forbidden":
        return f"Not allowed: {failure.message}."
    return f"{failure.message}." if failure.message[-1:].isalnum() else failure.message
