"""Deleting a server project for everyone: a confirmation that wants the project's name typed, as GitHub
does, because one click here takes the project away from every member at once."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from ui.collab.project_admin import request_failure_text

if TYPE_CHECKING:
    from core.sync.sign_in import SignInFailure
    from workers.sync_bridge import SyncBridge

DELETE_LABEL = "Delete this project"


class DeleteProjectDialog(QDialog):
    """Sends the deletion once the typed name matches; closes when the server confirmed it, stays open
    with the server's words (or "needs the server" offline) when it did not."""

    deleted = Signal(int)  # the server project id, once the server confirmed

    def __init__(self, bridge: SyncBridge, project: int, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge, self.project, self.name = bridge, project, name
        self.setWindowTitle("Delete server project")
        self.setMinimumWidth(500)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        heading = QLabel(f"Delete “{name}” for everyone?")
        heading.setObjectName("AssetTitle")
        heading.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(heading)
        explanation = QLabel(
            "Every member loses the shared project at once: its comments, drawings, tasks, sign-offs "
            "and playlists stop syncing, and nobody can send changes to it any more. Each member's app "
            "stops sharing it (an offline one at its next sign-in).<br><br>"
            "Local projects, their catalogs and files stay on every computer. "
            "<b>This cannot be undone from the app.</b>"
        )
        explanation.setWordWrap(True)
        layout.addWidget(explanation)
        prompt = QLabel(f"Type <b>{html.escape(name)}</b> to confirm:")
        layout.addWidget(prompt)
        self.name_edit = QLineEdit()
        self.name_edit.textChanged.connect(lambda _text: self._update_button())
        self.name_edit.returnPressed.connect(self.confirm)
        layout.addWidget(self.name_edit)
        self.error_label = QLabel()
        self.error_label.setObjectName("ErrorText")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        # Enter in the name field confirms (when the name matches) and never falls through to a button.
        self.cancel_button.setAutoDefault(False)
        self.delete_button = QPushButton(DELETE_LABEL)
        self.delete_button.setObjectName("Danger")
        self.delete_button.setAutoDefault(False)
        self.delete_button.clicked.connect(self.confirm)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.delete_button)
        layout.addLayout(buttons)
        self._sending = False
        bridge.project_deletion_done.connect(self._on_deleted)
        bridge.project_request_failed.connect(self._on_failed)
        self._update_button()
        self.name_edit.setFocus()

    def name_matches(self) -> bool:
        return self.name_edit.text().strip() == self.name

    def _update_button(self) -> None:
        self.delete_button.setEnabled(self.name_matches() and not self._sending)
        self.delete_button.setToolTip("" if self.name_matches() else f"Type {self.name} above to confirm")

    def confirm(self) -> None:
        """Send the deletion; does nothing while the typed name differs from the project's."""
        if not self.name_matches() or self._sending:
            return
        self._sending = True
        self.error_label.hide()
        self.delete_button.setText("Deleting…")
        self._update_button()
        self.bridge.delete_project(self.project)

    def _on_deleted(self, project: int) -> None:
        if project == self.project:
            self.deleted.emit(project)
            self.accept()

    def _on_failed(self, project: int, action: str, failure: SignInFailure) -> None:
        if project != self.project or action != "delete":
            return
        self._sending = False
        self.delete_button.setText(DELETE_LABEL)
        self.error_label.setText(request_failure_text(action, failure))
        self.error_label.setToolTip(failure.message)
        self.error_label.show()
        self._update_button()
        self.adjustSize()  # room for the error without squeezing the explanation
