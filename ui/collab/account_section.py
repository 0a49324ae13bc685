"""The "Account" part of the sign-in dialog, shown while signed in: the user's display name and email,
and changing their password (old one required; their other sign-ins are revoked, this one stays).

Requests go through ``SyncBridge`` (off the UI thread); answers come back as ``account_changed`` /
``account_failed`` and are shown inline here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

if TYPE_CHECKING:
    from core.sync.account import AccountChanged
    from core.sync.sign_in import SignInFailure
    from workers.sync_bridge import SyncBridge


class AccountSection(QGroupBox):
    def __init__(self, bridge: SyncBridge, parent: QWidget | None = None) -> None:
        super().__init__("Account", parent)
        self.bridge = bridge
        form = QFormLayout(self)
        self.display_name_edit = QLineEdit()
        self.email_edit = QLineEdit()
        # The local store does not keep the email: until the server has sent it this session, an empty
        # field means "unknown" and is not sent (``_shown_email``).
        self.email_edit.setPlaceholderText("as on the server")
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save_profile)
        form.addRow("Display name", self.display_name_edit)
        email_row = QHBoxLayout()
        email_row.addWidget(self.email_edit, 1)
        email_row.addWidget(self.save_button)
        form.addRow("Email", email_row)
        self.old_password_edit = self._password_edit()
        self.new_password_edit = self._password_edit()
        self.repeat_password_edit = self._password_edit()
        self.repeat_password_edit.returnPressed.connect(self.change_password)
        self.change_password_button = QPushButton("Change password")
        self.change_password_button.clicked.connect(self.change_password)
        form.addRow("Current password", self.old_password_edit)
        form.addRow("New password", self.new_password_edit)
        form.addRow("Repeat new password", self.repeat_password_edit)
        form.addRow("", self.change_password_button)
        self.error_label = QLabel()
        self.error_label.setObjectName("ErrorText")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.hide()
        form.addRow(self.error_label)
        form.addRow(self.info_label)
        self._shown_email = ""
        bridge.account_changed.connect(self._on_changed)
        bridge.account_failed.connect(self._on_failed)

    @staticmethod
    def _password_edit() -> QLineEdit:
        edit = QLineEdit()
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        return edit

    def refresh(self) -> None:
        """Fill the fields from what is known of the signed-in user."""
        me = self.bridge.me
        if me is not None:
            self.display_name_edit.setText(me.display_name or me.name)
            self._shown_email = me.email
        else:
            user_id = self.bridge.store.current_user_id()
            self.display_name_edit.setText(self.bridge.wording.user_name(user_id) if user_id else "")
            self._shown_email = ""
        self.email_edit.setText(self._shown_email)

    def save_profile(self) -> None:
        email = self.email_edit.text().strip()
        self._busy(self.save_button, "Saving…")
        self.bridge.update_profile(
            self.display_name_edit.text().strip(), email if email != self._shown_email else None
        )

    def change_password(self) -> None:
        new = self.new_password_edit.text()
        if not new:
            self._show_error("Enter the new password.")
            return
        if new != self.repeat_password_edit.text():
            self._show_error("The new passwords do not match.")
            self.repeat_password_edit.setFocus()
            self.repeat_password_edit.selectAll()
            return
        self._busy(self.change_password_button, "Changing…")
        self.bridge.change_password(self.old_password_edit.text(), new)

    def _busy(self, button: QPushButton, text: str) -> None:
        self.error_label.hide()
        self.info_label.hide()
        button.setEnabled(False)
        button.setText(text)

    def _ready(self) -> None:
        self.save_button.setEnabled(True)
        self.save_button.setText("Save")
        self.change_password_button.setEnabled(True)
        self.change_password_button.setText("Change password")

    def _show_error(self, message: str) -> None:
        self.info_label.hide()
        self.error_label.setText(message)
        self.error_label.show()

    def _on_changed(self, changed: AccountChanged) -> None:
        if changed.action == "logout":
            return  # the dialog says it: this section is hidden once signed out
        self._ready()
        if changed.action == "password":
            for edit in (self.old_password_edit, self.new_password_edit, self.repeat_password_edit):
                edit.clear()
        self.refresh()
        self.error_label.hide()
        self.info_label.setText(changed.message)
        self.info_label.show()

    def _on_failed(self, action: str, failure: SignInFailure) -> None:
        if action == "logout":
            return
        self._ready()
        self._show_error(failure.message)
        if action == "password":
            target = self.old_password_edit if failure.code == "auth_failed" else self.new_password_edit
            target.setFocus()
            target.selectAll()
