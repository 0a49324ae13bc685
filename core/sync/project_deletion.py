"""A server project deleted by its owner or an admin (``server.project_admin``), on this machine.

The sync client reports it (``ProjectDeleted``: from the project's tombstone event, or from the project
list at sign-in when it missed the event); the host then unlinks the local projects shared with it.
Nothing local is deleted: the catalog project, its assets and files stay, no longer shared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.sync.links import ProjectLinks


def unlink_deleted_project(links: ProjectLinks, server_project_id: int) -> list[int]:
    """Stop sharing every local project linked to the deleted server project; their ids."""
    unlinked = links.local_projects(server_project_id)
    for local_project_id in unlinked:
        links.link(local_project_id, None)
    return unlinked


def deleted_project_notice(name: str, server_project_id: int) -> str:
    """One sentence for the status bar, a notification or the CLI."""
    what = f"“{name}”" if name else f"{server_project_id}"
    return (
        f"Server project {what} was deleted by its owner or an admin: it is no longer shared. "
        "Your local project and its files were kept."
    )
