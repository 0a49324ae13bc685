"""Puts sync into the main window: the status bar's connection state (click it to sign in), File ▸ Sign
in…/Sign out, File ▸ Project members…/Delete server project… for the shown project, comments in the
inspector and beside the viewer (with drawings over the shown page), the shown asset's review sign-off
beside the viewer and the verdicts on the grid's tiles and filter, the Tasks dock, and server
notifications through the one notifier.

This is where ``ui.collab`` meets the library and the viewer; the collab widgets know neither.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QLabel, QMessageBox, QVBoxLayout, QWidget

from core.review.shared_playlists import sharing_project
from core.sync.account import AccountChanged
from core.sync.client_events import ChangesHeld, ProjectDeleted
from core.sync.local_store import private_project
from core.sync.project_deletion import unlink_deleted_project
from core.sync.wording import describe_status
from ui.collab.annotation import AnnotationOverlay, AnnotationToolbar
from ui.collab.comments import CommentsPanel, thumbnail_b64
from ui.collab.delete_project import DeleteProjectDialog
from ui.collab.deletions import shared_asset_deletion
from ui.collab.login import LoginDialog, ProjectLinks
from ui.collab.project_admin import project_access
from ui.collab.project_members import ProjectMembersDialog
from ui.collab.review_status import ReviewStatusPanel
from ui.collab.tasks import TasksPanel
from ui.shell.review_wiring import SharedPlaylists

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from core.catalog.records import AssetRecord
    from core.sync.client_events import (
        AuthProblem,
        EventsUnreadable,
        NotificationsArrived,
        RecordsChanged,
        ServerRolledBack,
        SyncStatus,
        TaskConflicts,
    )
    from core.sync.local_store import CommentView
    from core.sync.sign_in import SignInFailure
    from ui.common.viewer_page import ViewerPage
    from ui.shell.main_window import MainWindow
    from workers.sync_bridge import SyncBridge

log = logging.getLogger(__name__)

_ProjectDialog = TypeVar("_ProjectDialog", ProjectMembersDialog, DeleteProjectDialog)

PRIVATE_NOTE = "Notes stay on this computer until the project is linked to a server (File ▸ Sign in…)."


class SyncUi(QObject):
    """Puts sync into a built ``MainWindow``; ``app/gui.py`` makes one when it makes the bridge."""

    def __init__(self, window: MainWindow, bridge: SyncBridge) -> None:
        super().__init__(window)
        self.window, self.bridge = window, bridge
        self.links = ProjectLinks(window.ui_state)
        self._records: list[AssetRecord] = []
        window.review.attach_shared(SharedPlaylists(bridge.store, self._playlists_project))
        window.asset_actions.shared_actions.append(self._delete_shared_asset_action)

        # Inspector: comments on the selected asset.
        self.inspector_comments = CommentsPanel(bridge)
        window.inspector.add_section("Comments", self.inspector_comments)
        # Viewer: comments at the shown frame, with a drawing over the shown page's picture.
        viewer = window.viewer
        page = viewer.current_page()
        self.overlay = AnnotationOverlay(page.picture_widget(), page.picture_rect)
        self.viewer_comments = CommentsPanel(bridge, frame_source=self._viewer_frame, overlay=self.overlay)
        self.viewer_comments.comment_selected.connect(self._jump_to_comment)
        self.annotation_tools = AnnotationToolbar(self.overlay)
        side = QWidget()
        side.setObjectName("ViewerComments")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(10, 10, 10, 10)
        self.review = ReviewStatusPanel(bridge)
        review_title = QLabel("REVIEW")
        review_title.setObjectName("SectionTitle")
        side_layout.addWidget(review_title)
        side_layout.addWidget(self.review)
        side_layout.addSpacing(8)
        title = QLabel("COMMENTS")
        title.setObjectName("SectionTitle")
        side_layout.addWidget(title)
        side_layout.addWidget(self.annotation_tools)
        side_layout.addWidget(self.viewer_comments, 1)
        side.setMinimumWidth(280)
        viewer.add_side_panel(side)
        viewer.asset_shown.connect(self._on_viewer_asset)
        viewer.page_changed.connect(self._follow_viewer_page)
        viewer.closed.connect(lambda: self._follow_viewer_page(viewer.current_page()))

        # Tasks dock, tabbed with Jobs and Notifications.
        self.tasks = TasksPanel(bridge, selected_asset=self._selected_asset)
        self.tasks_dock = QDockWidget("Tasks", window)
        self.tasks_dock.setObjectName("TasksDock")
        self.tasks_dock.setWidget(self.tasks)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.tasks_dock)
        window.tabifyDockWidget(window.jobs_dock, self.tasks_dock)
        window.jobs_dock.raise_()
        window.menus.panels.addAction(self.tasks_dock.toggleViewAction())

        # File menu and status bar.
        file_menu, quit_action = window.menus.file, window.menus.quit
        self.sign_in_action = QAction("Sign in…", window)
        self.sign_in_action.triggered.connect(lambda _c=False: self.open_login())
        self.sign_out_action = QAction("Sign out", window)
        self.sign_out_action.triggered.connect(lambda _c=False: bridge.sign_out())
        self.members_action = QAction("Project members…", window)
        self.members_action.triggered.connect(lambda _c=False: self.open_members())
        self.delete_project_action = QAction("Delete server project…", window)
        self.delete_project_action.triggered.connect(lambda _c=False: self.open_project_deletion())
        file_menu.insertActions(
            quit_action,
            [self.sign_in_action, self.sign_out_action, self.members_action, self.delete_project_action],
        )
        file_menu.insertSeparator(quit_action)
        file_menu.setToolTipsVisible(True)  # a disabled project entry says why
        window.connection_clicked.connect(self.open_login)

        bridge.status_changed.connect(self._on_status)
        bridge.signed_in.connect(lambda _o: self._on_account_changed())
        bridge.signed_out.connect(self._on_account_changed)
        bridge.auth_problem.connect(self._on_auth_problem)
        # Signing out from File ▸ Sign out: say whether the server revoked the token (the dialog, when
        # open, says it too); offline, the user must know the token still works until it expires.
        bridge.account_changed.connect(self._on_account_answer)
        bridge.account_failed.connect(lambda action, failure: self._on_account_answer(failure, action))
        bridge.notifications_arrived.connect(self._on_notifications)
        bridge.conflict.connect(self._on_conflict)
        bridge.attention.connect(self._on_attention)
        bridge.records_changed.connect(self._on_records_changed)
        bridge.project_deletion_done.connect(self._on_project_deletion_done)
        bridge.local_change.connect(lambda kind: self._show_reviews() if kind == "asset" else None)
        window.sidebar.project_selected.connect(lambda _p: self.update_context())
        window.grid.selection_changed.connect(self._on_selection)
        self._on_status(bridge.status)
        self._on_account_changed()

    # ---- context -----------------------------------------------------------------------------

    @property
    def server_project(self) -> int | None:
        project = self.window.current_project
        return self.links.server_project(project.id if project else None)

    def _why_not(self) -> str:
        if self.bridge.store.current_user_id() is None:
            return "Sign in (File ▸ Sign in…) to see the team's comments and tasks."
        if self.window.current_project is None:
            return ""
        if self.server_project is None:
            return "This project is not shared: pick a server project in File ▸ Sign in…"
        return ""

    def _notes_project(self, record: AssetRecord | None) -> tuple[int | None, str]:
        """Where notes on ``record`` go, and what to say about it: the server project its local project
        is linked to once signed in (its private notes are shared then, once); until then a private
        project on this machine, so a note never waits for a server."""
        if record is None:
            return None, ""
        server = self.links.server_project(record.project_id)
        if server is not None and self.bridge.store.current_user_id() is not None:
            self.bridge.store.share_private_notes(record.project_id, server)
            return server, ""
        return private_project(record.project_id), PRIVATE_NOTE

    def _delete_shared_asset_action(self, records: list[AssetRecord], menu: QMenu) -> QAction:
        server = self.links.server_project(records[0].project_id) if records else None
        return shared_asset_deletion(
            self.bridge.store, server, self._why_not(), records, menu, self.window.statusBar().showMessage
        )

    def _playlists_project(self, local_project_id: int) -> int:
        """Where a local project's playlists are shared: as its notes are (``_notes_project``)."""
        return sharing_project(
            self.bridge.store, self.links.server_project(local_project_id), local_project_id
        )

    def update_context(self) -> None:
        self._selection_context()
        self._show_reviews()
        self._project_actions()

    def _project_actions(self) -> None:
        """File ▸ Project members… for any member of the shown shared project (read-only where the
        role may not change them); Delete server project… disabled, saying why, for those who may not."""
        project = self.server_project
        why = self._why_not() or ("" if project is not None else "Open a project to see its members.")
        self.members_action.setEnabled(not why)
        self.members_action.setToolTip(why or "Who is in the shared project; add or remove members")
        refusal = why or (project_access(self.bridge.store, project).deletion_refusal if project else None)
        self.delete_project_action.setEnabled(refusal is None)
        self.delete_project_action.setToolTip(refusal or "Delete the shared project for every member")

    def open_members(self) -> ProjectMembersDialog | None:
        return self._open_for_project(ProjectMembersDialog)

    def open_project_deletion(self) -> DeleteProjectDialog | None:
        return self._open_for_project(DeleteProjectDialog)

    def _open_for_project(self, dialog_type: type[_ProjectDialog]) -> _ProjectDialog | None:
        project = self.server_project
        if project is None:
            return None
        name = self.bridge.wording.project_name(project)
        dialog = dialog_type(self.bridge, project, name, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _selection_context(self) -> None:
        project, why = self.server_project, self._why_not()
        if why:
            project = None
        record = self._records[0] if len(self._records) == 1 else None
        self.inspector_comments.set_context(self._notes_project(record)[0], record)
        self._viewer_context(self.window.viewer.record)
        self.tasks.set_project(project, why or "Open a project to see its tasks.")

    def _on_selection(self, records: list[AssetRecord]) -> None:
        self._records = list(records)
        self._selection_context()  # the project's verdicts are as they were

    def _on_account_changed(self) -> None:
        signed_in = self.bridge.client is not None
        self.sign_in_action.setText("Sync account…" if signed_in else "Sign in…")
        self.sign_out_action.setEnabled(signed_in)
        self.update_context()

    def _selected_asset(self, publish: bool) -> tuple[str, str] | None:
        """(synced asset id, name) of the one selected asset; shares it with the server when asked."""
        project = self.server_project
        record = self._records[0] if len(self._records) == 1 else None
        if project is None or record is None:
            return None
        if not publish:
            return self.bridge.store.asset_key(project, record.content_hash), record.name
        asset_id = self.bridge.store.ensure_asset(
            project, record.name, record.kind, record.content_hash, {}, thumbnail_b64(record)
        )
        return asset_id, record.name

    def open_login(self) -> LoginDialog:
        dialog = LoginDialog(self.bridge, self.links, self.window.current_project, self.window)
        dialog.link_changed.connect(lambda _id: self.update_context())
        dialog.finished.connect(lambda _r: self.update_context())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # ---- viewer ------------------------------------------------------------------------------

    def _viewer_frame(self) -> int | None:
        return self.window.viewer.current_page().display_frame

    def _on_viewer_asset(self, record: AssetRecord) -> None:
        """Emitted as the viewer starts showing ``record``: the last asset's drawings go."""
        self.overlay.set_drawing(False)
        self.overlay.reset()
        self._viewer_context(record)

    def _viewer_context(self, record: AssetRecord | None) -> None:
        project, message = self._notes_project(record)
        self.viewer_comments.set_context(project, record, message)
        self.review.set_context(*self._review_target(record))

    def _review_target(self, record: AssetRecord | None) -> tuple[str | None, str]:
        """(synced asset id, or why there is none) for the sign-off of ``record``: only the team's
        copy of an asset is reviewed, so a private project or an unshared asset has none."""
        if record is None:
            return None, "Open an asset to review it."
        if self.bridge.store.current_user_id() is None:
            return None, "Sign in (File ▸ Sign in…) to review assets with the team."
        server = self.links.server_project(record.project_id)
        if server is None:
            return None, "This project is not shared: pick a server project in File ▸ Sign in…"
        return self.bridge.store.find_asset(server, record.content_hash), ""

    # ---- grid ----------------------------------------------------------------------------------

    def _show_reviews(self) -> None:
        """The grid's badges and status filter follow the shown project's verdicts: one query per
        change of the synced assets, never one per tile."""
        project = self.window.current_project
        server = self.links.server_project(project.id) if project is not None else None
        if server is None or self.bridge.store.current_user_id() is None:
            self.window.grid.set_review_statuses(None)
        else:
            self.window.grid.set_review_statuses(self.bridge.store.review_statuses([server]))

    def _follow_viewer_page(self, page: ViewerPage) -> None:
        """Drawings go over the page now shown (the last one's go); notes follow its frames."""
        self.overlay.set_drawing(False)
        self.overlay.attach(page.picture_widget(), page.picture_rect)
        self.overlay.reset()
        page.watch_frames(lambda _frame: self.viewer_comments.refresh_frame())
        self.viewer_comments.refresh_frame()

    def _jump_to_comment(self, comment: CommentView) -> None:
        if comment.frame is not None:
            self.window.viewer.current_page().seek_display(comment.frame)

    # ---- what the server says ----------------------------------------------------------------

    def _on_status(self, status: SyncStatus | None) -> None:
        self.window.set_connection_state(describe_status(status))

    def _on_account_answer(self, outcome: AccountChanged | SignInFailure, action: str = "") -> None:
        if isinstance(outcome, AccountChanged):
            action = outcome.action
        if action == "logout":
            self.window.statusBar().showMessage(outcome.message, 15000)

    def _on_auth_problem(self, problem: AuthProblem) -> None:
        self.window.set_connection_state("sign in again")
        self.window.statusBar().showMessage(f"Sync stopped: {problem.message}. Sign in again.", 10000)

    def _on_records_changed(self, event: RecordsChanged) -> None:
        if event.kind == "asset":
            self.bridge.wording.forget_names()
            self._show_reviews()

    def _on_conflict(self, event: TaskConflicts) -> None:
        text = self.bridge.wording.describe_conflict(event)
        if text:
            self.window.statusBar().showMessage(text, 15000)

    def _on_project_deletion_done(self, project: int) -> None:
        """Unlinked at once: the project's tombstone says it again to every client, this one included."""
        name = self.bridge.wording.project_name(project)
        unlink_deleted_project(self.links, project)
        self.window.statusBar().showMessage(
            f"Server project “{name}” was deleted for everyone. Your local project and its files were kept.",
            20000,
        )
        self.update_context()

    def _on_attention(
        self, event: EventsUnreadable | ChangesHeld | ServerRolledBack | ProjectDeleted
    ) -> None:
        if isinstance(event, ProjectDeleted):
            if not event.name:  # a tombstone carries no name; the store still knows it
                event = replace(event, name=self.bridge.wording.project_name(event.project_id))
            unlink_deleted_project(self.links, event.project_id)
            self.update_context()
        text = self.bridge.wording.describe_attention(event)
        self.window.statusBar().showMessage(text, 20000)
        if isinstance(event, ChangesHeld):
            self._ask_about_held(text)

    def _ask_about_held(self, text: str) -> QMessageBox:
        """Held changes stay until the user chooses; closing the question keeps them for later."""
        box = QMessageBox(QMessageBox.Icon.Question, "Unsent changes kept", text, parent=self.window)
        send = box.addButton("Send as me", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard them", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Keep for later", QMessageBox.ButtonRole.RejectRole)

        def decided(_result: int) -> None:
            if box.clickedButton() is send:
                self.bridge.store.send_held_as_me()
            elif box.clickedButton() is discard:
                self.bridge.store.discard_held()

        box.finished.connect(decided)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def _on_notifications(self, event: NotificationsArrived) -> None:
        for item in event.items:
            notice = self.bridge.wording.describe_notification(item)
            target: dict[str, Any] = {"sync_record": [notice.record_kind, notice.record_id]}
            local = self._local_asset(notice.asset_id)
            if local is not None:
                target["asset_id"] = local
            self.window.notifier.notify(notice.kind, notice.title, notice.body, "info", target)

    def _local_asset(self, sync_asset_id: str | None) -> int | None:
        """The catalog asset with the same content in a local project linked to that server project."""
        if sync_asset_id is None:
            return None
        found = self.bridge.store.asset_content_hash(sync_asset_id)
        if found is None:
            return None
        server_project, content_hash = found
        for local_project in self.links.local_projects(server_project):
            hits = self.window.catalog.existing_hashes(local_project, [content_hash])
            if content_hash in hits:
                return int(hits[content_hash])
        return None
