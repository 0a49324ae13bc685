"""Signing in to the sync server and linking a local project to a server project.

``ui.shell.sync_wiring`` puts this dialog, the comments and the tasks into the main window.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.sync.links import LINKS_FILE
from core.sync.links import ProjectLinks as SharedProjectLinks
from core.sync.sign_in import normalise_server_url
from core.sync.tls import insecure_connection_warning
from ui.collab.account_section import AccountSection

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from core.catalog.records import ProjectRecord
    from core.sync.account import AccountChanged
    from core.sync.sign_in import SignInFailure, SignInOutcome
    from workers.sync_bridge import SyncBridge

log = logging.getLogger(__name__)

DEFAULT_URL = "ws://localhost:8765"
NOTICE_STYLE = (
    "color: #ffd9a0; background: #3a2f1c; border: 1px solid #6b5524; border-radius: 4px; padding: 6px;"
)


class ProjectLinks(SharedProjectLinks):
    """The links file shared with ``stratopipe sync``, found beside the window's ``ui.ini`` (the config
    dir). Links the app kept in ``ui.ini`` before are moved into it once and dropped from ``ui.ini``, so
    a later save of the window state cannot bring stale ones back."""

    def __init__(self, state: QSettings) -> None:
        ui_state_file = Path(state.fileName())
        state.sync()  # the migration reads the file: values still held in memory must be on disk
        super().__init__(ui_state_file.parent / LINKS_FILE, ui_state_file)
        state.remove("sync/links")


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
        self.ca_edit = QLineEdit(bridge.settings.ca_file)
        self.ca_edit.setPlaceholderText("only for a studio certificate authority (PEM)")
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_ca_file)
        ca_row.addWidget(browse)
        form.addRow("Server", self.url_edit)
        form.addRow("CA file", ca_row)
        form.addRow("User name", self.user_edit)
        form.addRow("Password", self.password_edit)
        # An invitation creates the account: the user name and password typed above are the new ones.
        self.invitation_check = QCheckBox("I have an invitation")
        self.invitation_edit = QLineEdit()
        self.invitation_edit.setPlaceholderText("the code you were given")
        form.addRow("", self.invitation_check)
        form.addRow("Invitation code", self.invitation_edit)
        form.setRowVisible(self.invitation_edit, False)
        self.invitation_check.toggled.connect(self._toggle_invitation)
        self.form = form
        layout.addLayout(form)
        self.insecure_label = QLabel()
        self.insecure_label.setObjectName("WarningText")
        self.insecure_label.setWordWrap(True)
        layout.addWidget(self.insecure_label)
        self.url_edit.textChanged.connect(self._warn_if_insecure)
        self._warn_if_insecure(self.url_edit.text())
        self.error_label = QLabel()
        self.error_label.setObjectName("ErrorText")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet(NOTICE_STYLE)
        self.insecure_label.setStyleSheet(NOTICE_STYLE)
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
        self.account_section = AccountSection(bridge)
        layout.addWidget(self.account_section)

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
        bridge.account_changed.connect(self._on_account_changed)
        bridge.account_failed.connect(self._on_account_failed)
        self._refresh()
        (self.password_edit if self.user_edit.text() else self.user_edit).setFocus()

    def _warn_if_insecure(self, text: str) -> None:
        try:
            warning = insecure_connection_warning(normalise_server_url(text))
        except ValueError:  # half-typed: the sign-in itself says what is wrong with it
            warning = ""
        self.insecure_label.setText(warning)
        self.insecure_label.setVisible(bool(warning))

    def _browse_ca_file(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(
            self,
            "Studio CA certificate",
            self.ca_edit.text(),
            "PEM certificates (*.pem *.crt);;All files (*)",
        )
        if chosen:
            self.ca_edit.setText(chosen)

    def _refresh(self) -> None:
        signed_in = self.bridge.client is not None
        me = self.bridge.wording.user_name(self.bridge.store.current_user_id()) if signed_in else ""
        self.account_label.setText(
            f"Signed in as <b>{me}</b> on {self.bridge.url}" if signed_in else "Not signed in."
        )
        self.sign_out_button.setVisible(signed_in)
        self.account_section.setVisible(signed_in)
        if signed_in:
            self.account_section.refresh()
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

    def _toggle_invitation(self, checked: bool) -> None:
        self.form.setRowVisible(self.invitation_edit, checked)
        self.password_edit.setPlaceholderText("choose your password" if checked else "")
        self.sign_in_button.setText("Create account" if checked else "Sign in")
        if checked:
            self.invitation_edit.setFocus()

    def _idle_button_text(self) -> str:
        return "Create account" if self.invitation_check.isChecked() else "Sign in"

    def sign_in(self) -> None:
        self.error_label.hide()
        self.info_label.hide()
        self.sign_in_button.setEnabled(False)
        self.sign_in_button.setText("Signing in…")
        self.bridge.sign_in(
            self.url_edit.text(),
            self.user_edit.text(),
            self.password_edit.text(),
            ca_file=self.ca_edit.text().strip(),
            invitation=self.invitation_edit.text() if self.invitation_check.isChecked() else "",
        )

    def _on_failed(self, failure: SignInFailure) -> None:
        self.sign_in_button.setEnabled(True)
        self.sign_in_button.setText(self._idle_button_text())
        self.error_label.setText(failure.message)
        self.error_label.show()
        if failure.code in ("certificate", "bad_ca"):
            target = self.ca_edit
        elif failure.code in ("unreachable", "bad_url"):
            target = self.url_edit
        elif self.invitation_check.isChecked() and failure.code in ("expired", "auth_failed"):
            target = self.invitation_edit
        else:
            target = self.password_edit
        target.setFocus()
        target.selectAll()

    def _on_signed_in(self, outcome: SignInOutcome) -> None:
        self.invitation_check.setChecked(False)  # used up: the account exists now
        self.invitation_edit.clear()
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
        self.info_label.setText("Signing out on the server…")
        self.info_label.show()
        self._refresh()

    def _on_account_changed(self, changed: AccountChanged) -> None:
        if changed.action == "logout":
            self.info_label.setText(changed.message)
            self.info_label.show()
        else:  # a new display name shows in "Signed in as"
            self._refresh()

    def _on_account_failed(self, action: str, failure: SignInFailure) -> None:
        if action == "logout":  # offline: signed out here only, and the words say so
            self.info_label.setText(failure.message)
            self.info_label.show()
