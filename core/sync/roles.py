"""Who may do what, decided in one place for both ends, and the permission matrix shown in
``docs/permissions.md`` (a test regenerates it from ``PERMISSIONS`` and fails if the page drifted).

The client refuses a change before it is queued, so a user never sees a pending change that cannot
succeed; the server refuses it again when it arrives, because a queued change may come from a client
that had not yet heard that its user's role was taken away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.sync.protocol import Role

ALL_ROLES: tuple[Role, ...] = ("admin", "supervisor", "artist", "client")
WRITER_ROLES: frozenset[Role] = frozenset({"admin", "supervisor", "artist"})
# Sign-off, setting it back to pending included: an artist gets back to pending by publishing new
# content (which resets the status), never by undoing a reviewer's verdict.
REVIEWER_ROLES: frozenset[Role] = frozenset({"admin", "supervisor"})
# Moderation: deleting someone else's comment. Everyone may delete their own.
MODERATOR_ROLES: frozenset[Role] = frozenset({"admin", "supervisor"})
# Leads invite people; an administrator alone may invite with a role above artist.
INVITER_ROLES: frozenset[Role] = frozenset({"admin", "supervisor"})
ADMIN_ROLES: frozenset[Role] = frozenset({"admin"})


@dataclass(frozen=True)
class Permission:
    action: str  # the key code asks with
    wording: str  # how a refusal and the matrix say it: "The artist role cannot <wording>"
    roles: frozenset[Role]
    enforced_by: str  # where the server checks it (the matrix names it)


PERMISSIONS: tuple[Permission, ...] = (
    Permission("comment", "comment, and edit or delete their own comments", frozenset(ALL_ROLES), "changes"),
    Permission("upsert_asset", "publish assets", WRITER_ROLES, "changes"),
    Permission("create_task", "create tasks", WRITER_ROLES, "changes"),
    Permission("update_task", "change tasks", WRITER_ROLES, "changes"),
    Permission("set_review", "approve or request changes", REVIEWER_ROLES, "changes"),
    Permission("moderate_comment", "delete other people's comments", MODERATOR_ROLES, "changes"),
    Permission("delete_task", "delete tasks they created", WRITER_ROLES, "changes"),
    Permission("moderate_task", "delete other people's tasks", MODERATOR_ROLES, "changes"),
    # A project's owner (whatever their role) may too: ``asset_deletion_refusal``.
    Permission("delete_any_asset", "delete shared assets with their notes and tasks", ADMIN_ROLES, "changes"),
    # A project's owner (whatever their role) may too: ``project_deletion_refusal``.
    Permission("delete_any_project", "delete projects", ADMIN_ROLES, "changes"),
    Permission("save_playlist", "create playlists, and edit or delete their own", WRITER_ROLES, "changes"),
    Permission("moderate_playlist", "edit or delete other people's playlists", MODERATOR_ROLES, "changes"),
    # Supervisors only in projects they are members of; a project's owner (any role) may too.
    Permission("manage_members", "add or remove project members", INVITER_ROLES, "member requests"),
    Permission("publish_media", "publish media files", WRITER_ROLES, "media channel"),
    Permission("fetch_media", "download published media", frozenset(ALL_ROLES), "media channel"),
    Permission("invite", "invite people (artist or client; admins: any role)", INVITER_ROLES, "invitations"),
    Permission("reset_password", "reset other people's passwords", ADMIN_ROLES, "invitations"),
)
_BY_ACTION = {permission.action: permission for permission in PERMISSIONS}


def may(role: str | None, action: str) -> bool:
    return role in _BY_ACTION[action].roles


def refusal(role: str | None, action: str) -> str | None:
    """Why ``role`` may not do ``action`` (a ``PERMISSIONS`` key), or None when it may."""
    permission = _BY_ACTION[action]
    if role in permission.roles:
        return None
    allowed = " and ".join(f"{r}s" for r in ALL_ROLES if r in permission.roles)
    return f"The {role} role cannot {permission.wording}; {allowed} can"


def change_refusal(role: str | None, change_type: str) -> str | None:
    """Why ``role`` may not make a change of ``change_type`` (a protocol change type), or None when it
    may. An unknown role is not refused here: the server decides."""
    if change_type == "set_review":
        if role is None or role in REVIEWER_ROLES:
            return None
        return f"The {role} role cannot approve or request changes; supervisors and admins can"
    # Deleting a playlist is asked as saving one: the same people may do both.
    permission = _BY_ACTION.get("save_playlist" if change_type == "delete_playlist" else change_type)
    if permission is None or role is None or role in permission.roles:
        return None
    return f"The {role} role can comment but cannot {permission.wording}"


def may_delete_comment(role: str | None, is_author: bool) -> bool:
    return is_author or role in MODERATOR_ROLES


def playlist_refusal(role: str | None, is_author: bool) -> str | None:
    """Why ``role`` may not change or delete an existing playlist, or None: its author (a writer), or a
    supervisor or admin for anyone's."""
    if is_author:
        return refusal(role, "save_playlist")
    return refusal(role, "moderate_playlist")


def task_deletion_refusal(role: str | None, is_creator: bool) -> str | None:
    """Why ``role`` may not delete a task (its creator: ``is_creator``), or None when it may."""
    if is_creator:
        return refusal(role, "delete_task")
    return refusal(role, "moderate_task")


def asset_deletion_refusal(role: str | None, is_owner: bool) -> str | None:
    """Why ``role`` may not delete a shared asset of a project (owned by them: ``is_owner``), or None."""
    if is_owner:
        return None
    reason = refusal(role, "delete_any_asset")
    return None if reason is None else f"{reason}, and so can the project's owner"


def project_deletion_refusal(role: str | None, is_owner: bool) -> str | None:
    """Why ``role`` may not delete a project (owned by them: ``is_owner``), or None."""
    if is_owner:
        return None
    reason = refusal(role, "delete_any_project")
    return None if reason is None else f"{reason}, and so can the project's owner"


def member_management_refusal(role: str | None, is_owner: bool, is_member: bool) -> str | None:
    """Why ``role`` may not add or remove a project's members, or None: its owner, an admin, or a
    supervisor who is a member of it."""
    if is_owner or role == "admin":
        return None
    reason = refusal(role, "manage_members")
    if reason is not None:
        return f"{reason}, and so can the project's owner"
    return None if is_member else "Supervisors manage the members of their own projects only"


def may_invite(inviter_role: str | None, invited_role: str) -> str | None:
    """Why ``inviter_role`` may not invite someone as ``invited_role``, or None."""
    if inviter_role not in INVITER_ROLES:
        return refusal(inviter_role, "invite")
    if inviter_role != "admin" and invited_role not in ("artist", "client"):
        return f"Only admins can invite someone as {invited_role}"
    return None


def permission_matrix_markdown() -> str:
    """``docs/permissions.md``: one row per permission, one column per role."""
    lines = [
        "# Permissions",
        "",
        "Generated from `core/sync/roles.py` (`PERMISSIONS`); `tests/core/sync/test_permissions_doc.py`",
        "fails when this page and the code differ. Regenerate it with",
        "`python -c \"from core.sync.roles import permission_matrix_markdown as m; print(m(), end='')\"",
        "> docs/permissions.md`.",
        "",
        "Roles: admin > supervisor > artist > client. Everyone acts only inside projects they are a member",
        "of; accounts and memberships are managed with `stratopipe-server user|project ...`.",
        "",
        "| May … | " + " | ".join(ALL_ROLES) + " | Enforced in |",
        "|---|" + "---|" * len(ALL_ROLES) + "---|",
    ]
    for permission in PERMISSIONS:
        marks = " | ".join("yes" if role in permission.roles else "—" for role in ALL_ROLES)
        lines.append(f"| {permission.wording} | {marks} | {permission.enforced_by} |")
    lines += [
        "",
        "A deleted comment stays as a tombstone: its text and drawing are removed on the server and on",
        "every client (offline ones when they reconnect); its author, time and the event's actor (who",
        "deleted it, when) are kept.",
        "",
        "Deleting a task or a shared asset is a synced event too (a tombstone in the project's sequence):",
        "every client removes the task, or the asset with its notes, tasks and sign-off, when it hears of",
        "it (offline ones when they reconnect). Files and catalog entries on anyone's machine are never",
        "touched: the local asset stays, no longer shared.",
        "",
        "A project's owner deletes its shared assets whatever their role; an administrator names the",
        "owner (`stratopipe-server project add NAME --owner USER`, `project owner NAME USER`).",
        "",
        "A project's owner or an administrator deletes the project (a `delete_project` change): the server",
        "marks it deleted and refuses further changes and subscriptions to it; every client unlinks its",
        "local project (connected ones from the project's tombstone event, the others from the project",
        "list at their next sign-in), and keeps its local files and catalog.",
        "",
    ]
    return "\n".join(lines)
