"""Sign-off beside the viewer: the shown asset's review status, with Approve and Request changes….

The buttons write through ``LocalStore.set_review`` (the one write path: it checks the role and queues
the linked tasks' moves in the same transaction), so a verdict given offline waits in the outbox like a
comment. The panel knows only a synced asset id; the shell works out which one the viewer shows.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from core.sync.client_events import RecordsChanged
    from workers.sync_bridge import SyncBridge

log = logging.getLogger(__name__)

STATUS_TEXT = {
    "pending": "Pending review",
    "approved": "✓ Approved",
    "changes_requested": "✗ Changes requested",
}
# The grid's badge colours, so a verdict reads the same in both places.
STATUS_COLOURS = {"pending": "#8b8e96", "approved": "#5fcf8a", "changes_requested": "#f08c2e"}
NOT_REVIEWER = "Only supervisors and admins can approve or request changes."
NOT_SHARED_YET = "Not shared with the team yet: comment on it or link a task to it to share it."


class ReasonDialog(QDialog):
    """Asks what has to change; OK stays disabled until there is a reason (the protocol requires one)."""

    def __init__(self, asset_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Request changes")
        prompt = QLabel(f"What has to change in <b>{asset_name or 'this asset'}</b>?")
        prompt.setTextFormat(Qt.TextFormat.RichText)
        self.reason_edit = QPlainTextEdit()
        self.reason_edit.setPlaceholderText("The artist sees this with the verdict.")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Request changes")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.reason_edit.textChanged.connect(self._update_ok)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt)
        layout.addWidget(self.reason_edit)
        layout.addWidget(self.buttons)
        self._update_ok()

    def reason(self) -> str:
        return self.reason_edit.toPlainText().strip()

    def _update_ok(self) -> None:
        self.ok_button.setEnabled(bool(self.reason()))


class ReviewStatusPanel(QWidget):
    """The review status of one synced asset and the reviewer's two buttons."""

    def __init__(self, bridge: SyncBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReviewStatus")
        self.bridge = bridge
        self.asset_id: str | None = None
        self._why_not = ""
        self.status_label = QLabel()
        self.status_label.setObjectName("ReviewVerdict")
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.approve_button = QPushButton("Approve")
        self.approve_button.clicked.connect(lambda _c=False: self.approve())
        self.request_button = QPushButton("Request changes…")
        self.request_button.clicked.connect(lambda _c=False: self.request_changes())
        self.note_label = QLabel()  # why the buttons are disabled, or why a verdict was refused
        self.note_label.setObjectName("Dim")
        self.note_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.request_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status_label)
        layout.addWidget(self.reason_label)
        layout.addLayout(buttons)
        layout.addWidget(self.note_label)
        bridge.records_changed.connect(self._on_records_changed)
        bridge.local_change.connect(lambda kind: self.refresh() if kind == "asset" else None)
        bridge.signed_in.connect(lambda _o: self.refresh())
        bridge.signed_out.connect(self.refresh)
        self.set_context(None, "")

    def set_context(self, asset_id: str | None, why_not: str) -> None:
        """Show ``asset_id``'s status, or ``why_not`` (not signed in, project not shared…) without one."""
        self.asset_id, self._why_not = asset_id, why_not
        self.refresh()

    def refresh(self) -> None:
        review = self.bridge.store.asset_review(self.asset_id) if self.asset_id else None
        if review is None:
            self.status_label.setText("Not reviewed")
            self.status_label.setStyleSheet(f"color: {STATUS_COLOURS['pending']};")
            self.reason_label.setVisible(False)
            self._set_buttons(self._why_not or NOT_SHARED_YET)
            return
        status, reason = review
        self.status_label.setText(STATUS_TEXT.get(status, status))
        self.status_label.setStyleSheet(
            f"color: {STATUS_COLOURS.get(status, STATUS_COLOURS['pending'])}; font-weight: bold;"
        )
        self.reason_label.setText(reason)
        self.reason_label.setVisible(status == "changes_requested" and bool(reason))
        self._set_buttons("" if self.bridge.store.may("set_review") else NOT_REVIEWER)

    def _set_buttons(self, why_not: str) -> None:
        for button in (self.approve_button, self.request_button):
            button.setEnabled(not why_not)
            button.setToolTip(why_not)
        self.note_label.setText(why_not)
        self.note_label.setVisible(bool(why_not))

    def approve(self) -> None:
        self._set_review("approved", "")

    def request_changes(self) -> ReasonDialog | None:
        """Ask for the reason (window-modal, so the viewer stays responsive behind it); the verdict is
        written when the dialog is accepted."""
        if self.asset_id is None:
            return None
        dialog = ReasonDialog(self.bridge.store.asset_name(self.asset_id), self)
        dialog.accepted.connect(lambda: self._set_review("changes_requested", dialog.reason()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _set_review(self, status: str, reason: str) -> None:
        if self.asset_id is None:
            return
        try:
            self.bridge.store.set_review(self.asset_id, status, reason)
        except (PermissionError, KeyError, ValueError) as error:
            # The store refuses what the buttons should have prevented (a role changed meanwhile).
            log.info("Review not set: %s", error)
            self.note_label.setText(str(error).strip("'\""))
            self.note_label.setVisible(True)
            return
        self.refresh()

    def _on_records_changed(self, event: RecordsChanged) -> None:
        if event.kind == "asset":
            self.refresh()
