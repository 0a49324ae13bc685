"""Signing in to the sync server and linking a local project to a server project.

``ui.shell.sync_wiring`` puts this dialog, the comments and the tasks into the main window.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.common.stored_values import stored_int

if TYPE_CHECKING:
    from core.catalog.records import ProjectRecord
    from core.sync.sign_in import SignInFailure, SignInOutcome
    from workers.sync_bridge import SyncBridge

log = logging.getLogger(__name__)

DEFAULT_URL = "ws://localhost:8765"


class ProjectLinks:
    """Which server project each local catalog project shares its comments and tasks with."""

    def __init__(self, state: QSettings) -> None:
        self._state = state

    def server_project(self, local_project_id: int | None) -> int | None:
        if local_project_id is None:
            return None
        return stored_int(self._state, f"sync/links/{local_project_id}") or None

    def link(self, local_project_id: int, server_project_id: int | None) -> None:
        self._state.setValue(f"sync/links/{local_project_id}", server_project_id or 0)
        self._state.sync()

    def local_projects(self, server_project_id: int) -> list[int]:
        self._state.beginGroup("sync/links")
        try:
            keys = self._state.childKeys()
            return [int(k) for k in keys if stored_int(self._state, k) == server_project_id]
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
        me = self.bridge.wording.user_name(self.bridge.store.current_user_id()) if signed_in else ""
        self.account_label.setText(
            f"Signed in as <b>{me}</b> on {self.bridge.url}" if signed_in else "Not signed in."
        )
        self.sign_out_button.setVisible(signed_in)
        self._fill_links()

    def _fill_links(self) -> None:
        projects = self.bridge.store.projects() if self.bridge.store.current_user_id() is not None else []
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
