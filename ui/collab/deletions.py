"""Deleting tasks and shared assets from the UI, shown only as far as the signed-in role allows: an action
the role may not take stays visible but disabled, its tooltip saying why (``core.sync.roles``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox, QWidget

from core.sync.roles import asset_deletion_refusal, task_deletion_refusal

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtCore import QObject

    from core.catalog.records import AssetRecord
    from core.sync.local_store import LocalStore, TaskView

log = logging.getLogger(__name__)

DELETE_SHARED_ASSET = "Delete from server project…"


def owns_project(store: LocalStore, project_id: int) -> bool:
    """Whether the signed-in user owns this server project, as the server said at sign-in."""
    me = store.current_user_id()
    return me is not None and any(p.id == project_id and p.owner == me for p in store.projects())


def my_role(store: LocalStore) -> str | None:
    me = store.current_user_id()
    return next((user.role for user in store.users() if user.id == me), None)


def task_deletion_reason(store: LocalStore, task: TaskView | None) -> str | None:
    """Why the signed-in user may not delete ``task`` now, or None when they may."""
    if task is None:
        return "Select a task to delete it"
    return task_deletion_refusal(my_role(store), task.creator == store.current_user_id())


def shared_asset_deletion(
    store: LocalStore,
    server_project: int | None,
    why_not: str,
    records: list[AssetRecord],
    parent: QObject,
    on_error: Callable[[str], None],
) -> QAction:
    """The asset menu's "Delete from server project…" for the grid's selection: removes the shared
    asset with its notes, tasks and sign-off for everyone; the file and this catalog entry stay."""
    action = QAction(DELETE_SHARED_ASSET, parent)
    asset_id: str | None = None
    if why_not:
        reason: str | None = why_not
    elif len(records) != 1 or server_project is None:
        reason = "Select one asset of a shared project"
    else:
        asset_id = store.find_asset(server_project, records[0].content_hash)
        reason = (
            "This asset is not shared with the server project"
            if asset_id is None
            # The server judges again; a server from before owners were sent says no owner, so there
            # the app offers it to admins only.
            else asset_deletion_refusal(my_role(store), is_owner=owns_project(store, server_project))
        )
    action.setEnabled(reason is None)
    action.setToolTip(
        reason or "Remove it, its notes and tasks from the project for everyone; your file stays here"
    )
    if asset_id is not None and reason is None:
        found = asset_id
        name = records[0].name

        def delete() -> None:
            widget = parent if isinstance(parent, QWidget) else None
            text = (
                f"Delete {name} from the server project for everyone, with its notes and tasks?\n"
                "Your file and this catalog entry stay; it is no longer shared."
            )
            if QMessageBox.question(widget, "Delete shared asset", text) != QMessageBox.StandardButton.Yes:
                return
            try:
                store.delete_asset(found)
            except (KeyError, ValueError, PermissionError, RuntimeError) as exc:
                on_error(str(exc))

        action.triggered.connect(delete)
    return action
