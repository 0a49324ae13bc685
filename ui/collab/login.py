"""Signing in to the sync server, linking a local project to a server project, and the wiring that puts
sync into the main window: the status bar's connection state (click it to sign in), File ▸ Sign in…/Sign
out, comments in the inspector and beside the viewer (with drawings), the Tasks dock, and server
notifications through the one notifier.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPointF, QRectF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.collab.annotation import AnnotationOverlay, AnnotationToolbar
from ui.collab.comments import CommentsPanel, thumbnail_b64
from ui.collab.tasks import TasksPanel
from workers.sync_bridge import describe_status

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord, ProjectRecord
    from core.sync.local_store import CommentView
    from ui.shell.main_window import MainWindow
    from workers.sync_bridge import SignInFailure, SignInOutcome, SyncBridge

log = logging.getLogger(__name__)

DEFAULT_URL = "ws://localhost:8765"


class ProjectLinks:
    """Which server project each local catalog project shares its comments and tasks with."""

    def __init__(self, state: QSettings) -> None:
        self._state = state

    def server_project(self, local_project_id: int | None) -> int | None:
        if local_project_id is None:
            return None
        value = self._state.value(f"sync/links/{local_project_id}", 0, type=int)
        return int(value) or None

    def link(self, local_project_id: int, server_project_id: int | None) -> None:
        self._state.setValue(f"sync/links/{local_project_id}", server_project_id or 0)
        self._state.sync()

    def local_projects(self, server_project_id: int) -> list[int]:
        self._state.beginGroup("sync/links")
        try:
            keys = self._state.childKeys()
            return [int(k) for k in keys if self._state.value(k, 0, type=int) == server_project_id]
        finally:
            self._state.endGroup()


class LoginDialog(QDialog):
    """Server, user name, password; errors inline; then which server project this local one syncs with."""

    link_changed = Signal(object)  # server project id | None

    def __init__(
        self,
        bridge: SyncBridge,
        links: ProjectLinks,
        local_project: ProjectRecord | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to the sync server")
        self.setMinimumWidth(460)
        self.bridge, self.links, self.local_project = bridge, links, local_project
        layout = QVBoxLayout(self)
        self.account_label = QLabel()
        self.account_label.setWordWrap(True)
        layout.addWidget(self.account_label)
        form = QFormLayout()
        self.url_edit = QLineEdit(bridge.settings.server_url or DEFAULT_URL)
        self.url_edit.setPlaceholderText("ws://studio-server:8765")
        self.user_edit = QLineEdit(bridge.settings.username)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.returnPressed.connect(self.sign_in)
        form.addRow("Server", self.url_edit)
        form.addRow("User name", self.user_edit)
        form.addRow("Password", self.password_edit)
        layout.addLayout(form)
        self.error_label = QLabel()
        self.error_label.setObjectName("ErrorText")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet(
            "color: #ffd9a0; background: #3a2f1c; border: 1px solid #6b5524; border-radius: 4px;"
            " padding: 6px;"
        )
        self.info_label.hide()
        layout.addWidget(self.info_label)

        self.link_row = QWidget()
        link_layout = QHBoxLayout(self.link_row)
        link_layout.setContentsMargins(0, 8, 0, 0)
        name = local_project.name if local_project else ""
        self.link_label = QLabel(f"Share “{name}” with server project")
        self.link_combo = QComboBox()
        self.link_combo.currentIndexChanged.connect(self._on_link_picked)
        link_layout.addWidget(self.link_label)
        link_layout.addWidget(self.link_combo, 1)
        layout.addWidget(self.link_row)

        buttons = QHBoxLayout()
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.clicked.connect(self.sign_out)
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setObjectName("Primary")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self.sign_in)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.accept)
        buttons.addWidget(self.sign_out_button)
        buttons.addStretch(1)
        buttons.addWidget(self.sign_in_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

        bridge.signed_in.connect(self._on_signed_in)
        bridge.sign_in_failed.connect(self._on_failed)
        self._refresh()
        (self.password_edit if self.user_edit.text() else self.user_edit).setFocus()

    def _refresh(self) -> None:
        signed_in = self.bridge.client is not None
        me = self.bridge.user_name(self.bridge.user_id) if signed_in else ""
        self.account_label.setText(
            f"Signed in as <b>{me}</b> on {self.bridge.url}" if signed_in else "Not signed in."
        )
        self.sign_out_button.setVisible(signed_in)
        self._fill_links()

    def _fill_links(self) -> None:
        projects = self.bridge.projects() if self.bridge.user_id is not None else []
        self.link_row.setVisible(self.local_project is not None and bool(projects))
        if self.local_project is None:
            return
        current = self.links.server_project(self.local_project.id)
        self.link_combo.blockSignals(True)
        self.link_combo.clear()
        self.link_combo.addItem("Not shared", None)
        for project in projects:
            self.link_combo.addItem(project.name, project.id)
        if current is None:
            # A server project with the local project's name is the likely match; suggested, not saved.
            same = next((p.id for p in projects if p.name == self.local_project.name), None)
            index = self.link_combo.findData(same) if same is not None else 0
        else:
            index = self.link_combo.findData(current)
        self.link_combo.setCurrentIndex(max(0, index))
        self.link_combo.blockSignals(False)
        if current is None and index > 0:
            self._on_link_picked(index)

    def _on_link_picked(self, index: int) -> None:
        if self.local_project is None or index < 0:
            return
        server_id = self.link_combo.itemData(index)
        self.links.link(self.local_project.id, server_id)
        self.link_changed.emit(server_id)

    def sign_in(self) -> None:
        self.error_label.hide()
        self.info_label.hide()
        self.sign_in_button.setEnabled(False)
        self.sign_in_button.setText("Signing in…")
        self.bridge.sign_in(self.url_edit.text(), self.user_edit.text(), self.password_edit.text())

    def _on_failed(self, failure: SignInFailure) -> None:
        self.sign_in_button.setEnabled(True)
        self.sign_in_button.setText("Sign in")
        self.error_label.setText(failure.message)
        self.error_label.show()
        target = self.url_edit if failure.code in ("unreachable", "bad_url") else self.password_edit
        target.setFocus()
        target.selectAll()

    def _on_signed_in(self, outcome: SignInOutcome) -> None:
        self.sign_in_button.setEnabled(True)
        self.sign_in_button.setText("Sign in")
        self.password_edit.clear()
        self.url_edit.setText(outcome.url)
        if not outcome.credentials.persistent:
            self.info_label.setText(outcome.credentials.message)
            self.info_label.show()
        if not outcome.projects:
            self.error_label.setText("You are not a member of any project on this server yet.")
            self.error_label.show()
        self.close_button.setText("Done")
        self._refresh()

    def sign_out(self) -> None:
        self.bridge.sign_out()
        self.info_label.hide()
        self._refresh()


def _fitted_rect(host: QWidget) -> QRectF:
    """Where a host paints its picture: its own ``image_rect()``, else its ``image()`` fitted, centred."""
    image_rect = getattr(host, "image_rect", None)
    if callable(image_rect):
        rect = image_rect()
        return rect if isinstance(rect, QRectF) else QRectF(rect)
    image = getattr(host, "image", None)
    picture = image() if callable(image) else None
    if picture is None or picture.isNull():
        return QRectF()
    size = picture.size().scaled(host.size(), Qt.AspectRatioMode.KeepAspectRatio)
    left = (host.width() - size.width()) / 2
    top = (host.height() - size.height()) / 2
    return QRectF(QPointF(left, top), QRectF(0, 0, size.width(), size.height()).size())


def _frame_widget(page: QWidget | None) -> Any:
    """The video player inside a viewer page (``current_frame`` and ``seek``), if there is one."""
    if page is None:
        return None
    for widget in (page, *page.findChildren(QWidget)):
        if hasattr(widget, "current_frame") and callable(getattr(widget, "seek", None)):
            return widget
    return None


class SyncUi(QObject):
    """Puts sync into a built ``MainWindow``; ``app/gui.py`` makes one when it makes the bridge."""

    def __init__(self, window: MainWindow, bridge: SyncBridge) -> None:
        super().__init__(window)
        self.window, self.bridge = window, bridge
        self.links = ProjectLinks(window.ui_state)
        self._records: list[AssetRecord] = []

        # Inspector: comments on the selected asset.
        self.inspector_comments = CommentsPanel(bridge)
        window.inspector.add_section("Comments", self.inspector_comments)
        # Viewer: comments at the shown frame, with a drawing over the picture.
        viewer = window.viewer
        self.overlay = AnnotationOverlay(viewer.canvas, lambda: _fitted_rect(viewer.canvas))
        self.viewer_comments = CommentsPanel(bridge, frame_source=self._viewer_frame, overlay=self.overlay)
        self.viewer_comments.comment_selected.connect(self._jump_to_comment)
        self.annotation_tools = AnnotationToolbar(self.overlay)
        side = QWidget()
        side.setObjectName("ViewerComments")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(10, 10, 10, 10)
        title = QLabel("COMMENTS")
        title.setObjectName("SectionTitle")
        side_layout.addWidget(title)
        side_layout.addWidget(self.annotation_tools)
        side_layout.addWidget(self.viewer_comments, 1)
        side.setMinimumWidth(280)
        viewer.add_side_panel(side)
        viewer.asset_shown.connect(self._on_viewer_asset)
        viewer.closed.connect(self._on_viewer_closed)

        # Tasks dock, tabbed with Jobs and Notifications.
        self.tasks = TasksPanel(bridge, selected_asset=self._selected_asset)
        self.tasks_dock = QDockWidget("Tasks", window)
        self.tasks_dock.setObjectName("TasksDock")
        self.tasks_dock.setWidget(self.tasks)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.tasks_dock)
        window.tabifyDockWidget(window.jobs_dock, self.tasks_dock)
        window.jobs_dock.raise_()

        # File menu and status bar.
        file_menu = window.menuBar().actions()[0].menu()
        quit_action = file_menu.actions()[-1]
        self.sign_in_action = QAction("Sign in…", window)
        self.sign_in_action.triggered.connect(lambda _c=False: self.open_login())
        self.sign_out_action = QAction("Sign out", window)
        self.sign_out_action.triggered.connect(lambda _c=False: bridge.sign_out())
        file_menu.insertAction(quit_action, self.sign_in_action)
        file_menu.insertAction(quit_action, self.sign_out_action)
        file_menu.insertSeparator(quit_action)
        window.connection_clicked.connect(self.open_login)

        bridge.status_changed.connect(self._on_status)
        bridge.signed_in.connect(lambda _o: self._on_account_changed())
        bridge.signed_out.connect(self._on_account_changed)
        bridge.auth_problem.connect(self._on_auth_problem)
        bridge.notifications_arrived.connect(self._on_notifications)
        bridge.conflict.connect(self._on_conflict)
        bridge.records_changed.connect(self._on_records_changed)
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
        if self.bridge.user_id is None:
            return "Sign in (File ▸ Sign in…) to comment and see the team's comments."
        if self.window.current_project is None:
            return ""
        if self.server_project is None:
            return "This project is not shared: pick a server project in File ▸ Sign in…"
        return ""

    def update_context(self) -> None:
        project, why = self.server_project, self._why_not()
        if why:
            project = None
        record = self._records[0] if len(self._records) == 1 else None
        self.inspector_comments.set_context(project, record, why)
        self.viewer_comments.set_context(project, self.window.viewer.record, why)
        self.tasks.set_project(project, why or "Open a project to see its tasks.")

    def _on_selection(self, records: list[AssetRecord]) -> None:
        self._records = list(records)
        self.update_context()

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
            return self.bridge.asset_key(project, record.content_hash), record.name
        asset_id = self.bridge.ensure_asset(
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
        player = _frame_widget(self.window.viewer.current_page())
        if player is None:
            return None
        frame = player.current_frame
        return int(frame() if callable(frame) else frame)

    def _on_viewer_asset(self, record: AssetRecord) -> None:
        """Emitted as the viewer starts showing ``record``; its page (a player) exists a moment later."""
        self._on_viewer_closed()  # off the previous page before it is deleted
        why = self._why_not()
        self.viewer_comments.set_context(None if why else self.server_project, record, why)
        QTimer.singleShot(0, self._follow_viewer_page)

    def _follow_viewer_page(self) -> None:
        player = _frame_widget(self.window.viewer.current_page())
        if player is None:
            return
        # The video's picture widget: the largest child that paints an image().
        canvases = [w for w in player.findChildren(QWidget) if callable(getattr(w, "image", None))]
        if not canvases:
            return
        host = max(canvases, key=lambda w: w.width() * w.height())
        self.overlay.attach(host, lambda: _fitted_rect(host))
        frame_shown = getattr(player, "frame_shown", None)
        if frame_shown is not None:
            frame_shown.connect(lambda _f: self.viewer_comments.refresh_frame())
        self.viewer_comments.refresh_frame()

    def _on_viewer_closed(self) -> None:
        canvas = self.window.viewer.canvas
        self.annotation_tools.draw_button.setChecked(False)
        self.overlay.attach(canvas, lambda: _fitted_rect(canvas))
        self.overlay.set_strokes([])

    def _jump_to_comment(self, comment: CommentView) -> None:
        player = _frame_widget(self.window.viewer.current_page())
        if player is not None and comment.frame is not None:
            player.seek(comment.frame)

    # ---- what the server says ----------------------------------------------------------------

    def _on_status(self, status: Any) -> None:
        text = describe_status(status)
        self.window.set_connection_state(text)

    def _on_auth_problem(self, problem: Any) -> None:
        self.window.set_connection_state("sign in again")
        self.window.statusBar().showMessage(f"Sync stopped: {problem.message}. Sign in again.", 10000)

    def _on_records_changed(self, event: Any) -> None:
        if event.kind == "asset":
            self.bridge.forget_names()

    def _on_conflict(self, event: Any) -> None:
        text = self.bridge.describe_conflict(event)
        if text:
            self.window.statusBar().showMessage(text, 15000)

    def _on_notifications(self, event: Any) -> None:
        for item in event.items:
            notice = self.bridge.describe_notification(item)
            target: dict[str, Any] = {"sync_record": [notice.record_kind, notice.record_id]}
            local = self._local_asset(notice.asset_id)
            if local is not None:
                target["asset_id"] = local
            self.window.notifier.notify(notice.kind, notice.title, notice.body, "info", target)

    def _local_asset(self, sync_asset_id: str | None) -> int | None:
        """The catalog asset with the same content in a local project linked to that server project."""
        if sync_asset_id is None:
            return None
        found = self.bridge.asset_content_hash(sync_asset_id)
        if found is None:
            return None
        server_project, content_hash = found
        for local_project in self.links.local_projects(server_project):
            hits = self.window.catalog.existing_hashes(local_project, [content_hash])
            if content_hash in hits:
                return int(hits[content_hash])
        return None
