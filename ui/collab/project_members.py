"""The "Project members…" dialog: who belongs to a server project, with their roles; adding and removing
members for those allowed (``ui.collab.project_admin``), and the way to "Delete project…".

Changes go to the server at once through the bridge, never through the outbox: the server decides who
may, so an offline app says the change needs the server instead of pretending. The list is what the
sync connection last heard (``LocalStore.users``); after a confirmed change the bridge reconnects and
the list is read again as the connection's status moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.collab.delete_project import DeleteProjectDialog
from ui.collab.login import NOTICE_STYLE
from ui.collab.project_admin import (
    ProjectAccess,
    project_access,
    request_failure_text,
)

if TYPE_CHECKING:
    from core.sync.client_events import SyncStatus
    from core.sync.member_protocol import MemberChanged
    from core.sync.protocol import UserInfo
    from core.sync.sign_in import SignInFailure
    from workers.sync_bridge import SyncBridge

ROLE_NOTE = "Roles belong to each account and are set by an administrator."
_USER_NAME = Qt.ItemDataRole.UserRole  # where an item keeps its member's user name


class ProjectMembersDialog(QDialog):
    """Members of one server project; read-only, with the reason, for users who may not change them."""

    def __init__(self, bridge: SyncBridge, project: int, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge, self.project, self.name = bridge, project, name
        self.setWindowTitle("Project members")
        self.setMinimumSize(520, 460)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        title = QLabel(f"Members of “{name}”")
        title.setObjectName("AssetTitle")
        title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(title)
        self.count_label = QLabel()
        self.count_label.setObjectName("Dim")
        layout.addWidget(self.count_label)
        self.read_only_label = QLabel()
        self.read_only_label.setWordWrap(True)
        self.read_only_label.setStyleSheet(NOTICE_STYLE)
        layout.addWidget(self.read_only_label)

        self.member_list = QTreeWidget()
        self.member_list.setHeaderLabels(["Name", "User name", "Role"])
        self.member_list.setRootIsDecorated(False)
        self.member_list.setAlternatingRowColors(True)
        self.member_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.member_list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.member_list.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.member_list, 1)

        self.edit_row = QWidget()
        edit_row = QHBoxLayout(self.edit_row)
        edit_row.setContentsMargins(0, 0, 0, 0)
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText("user name to add, e.g. carol")
        self.user_edit.textChanged.connect(lambda _text: self._update_buttons())
        self.user_edit.returnPressed.connect(self.add_member)
        self.add_button = QPushButton("Add member")
        self.add_button.setObjectName("Primary")
        self.add_button.setAutoDefault(False)
        self.add_button.setToolTip("Add this account to the project")
        self.add_button.clicked.connect(self.add_member)
        self.remove_button = QPushButton("Remove selected…")
        self.remove_button.setAutoDefault(False)
        self.remove_button.setToolTip("Remove the selected member from the project (asks first)")
        self.remove_button.clicked.connect(self.remove_selected)
        edit_row.addWidget(self.user_edit, 1)
        edit_row.addWidget(self.add_button)
        edit_row.addSpacing(12)
        edit_row.addWidget(self.remove_button)
        layout.addWidget(self.edit_row)
        self.info_label = QLabel()
        self.info_label.setObjectName("Dim")
        self.error_label = QLabel()
        self.error_label.setObjectName("ErrorText")
        for label in (self.info_label, self.error_label):
            label.setWordWrap(True)
            label.hide()
            layout.addWidget(label)

        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 8, 0, 0)
        self.delete_button = QPushButton("Delete project…")
        self.delete_button.setObjectName("Danger")
        self.delete_button.setAutoDefault(False)
        self.delete_button.setToolTip("Delete this server project for every member (asks first)")
        self.delete_button.clicked.connect(self.open_deletion)
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.clicked.connect(self.accept)
        bottom.addWidget(self.delete_button)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout.addLayout(bottom)

        self._sending: str | None = None  # "add" | "remove" while a request is with the server
        self.access = ProjectAccess(None, None, None)
        bridge.member_changed.connect(self._on_member_changed)
        bridge.project_request_failed.connect(self._on_failed)
        bridge.status_changed.connect(self._on_status)
        self.reload()

    # ---- reading ---------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the members and the user's rights again (a local read: no network)."""
        self.access = project_access(self.bridge.store, self.project)
        selected = self.selected_member()
        members = sorted(
            self.bridge.store.users(self.project), key=lambda u: (u.display_name or u.name).lower()
        )
        owner = next((p.owner for p in self.bridge.store.projects() if p.id == self.project), None)
        self.member_list.clear()
        for user in members:
            role = f"{user.role} · owner" if user.id == owner else user.role
            item = QTreeWidgetItem([_shown_name(user, self.access.me), user.name, role])
            item.setData(0, _USER_NAME, user.name)
            self.member_list.addTopLevelItem(item)
            if selected is not None and user.name == selected:
                item.setSelected(True)
        self.count_label.setText(f"{len(members)} member{'s' if len(members) != 1 else ''} · {ROLE_NOTE}")
        reason = self.access.members_refusal
        self.read_only_label.setText(f"You can see who is in this project. {reason}." if reason else "")
        self.read_only_label.setVisible(bool(reason))
        # Read-only: the list alone, the notice says why (File ▸ Delete server project… too).
        self.edit_row.setVisible(reason is None)
        self.delete_button.setVisible(self.access.deletion_refusal is None)
        self._update_buttons()

    def member_names(self) -> list[str]:
        """The user names listed, in the order shown."""
        return [str(item.data(0, _USER_NAME)) for item in self._items()]

    def selected_member(self) -> str | None:
        items = self.member_list.selectedItems()
        return str(items[0].data(0, _USER_NAME)) if items else None

    def select_member(self, username: str) -> None:
        for item in self._items():
            item.setSelected(item.data(0, _USER_NAME) == username)

    def _items(self) -> list[QTreeWidgetItem]:
        found = (self.member_list.topLevelItem(i) for i in range(self.member_list.topLevelItemCount()))
        return [item for item in found if item is not None]

    def _update_buttons(self) -> None:
        may_edit = self.access.members_refusal is None and self._sending is None
        self.user_edit.setEnabled(may_edit)
        self.add_button.setEnabled(may_edit and bool(self.user_edit.text().strip()))
        self.remove_button.setEnabled(may_edit and self.selected_member() is not None)

    # ---- changing --------------------------------------------------------------------------------

    def add_member(self) -> None:
        username = self.user_edit.text().strip()
        if not username or not self.add_button.isEnabled():
            return
        if username in self.member_names():
            self._say(f"{username} is already a member.", error=False)
            return
        self._send("add", username, f"Adding {username}…")

    def remove_selected(self) -> None:
        """Asks first; the removed member loses the project within seconds, their local files stay."""
        username = self.selected_member()
        if username is None or not self.remove_button.isEnabled():
            return
        yourself = " You will no longer see it yourself." if self._is_me(username) else ""
        text = (
            f"Remove {username} from “{self.name}”?\n"
            f"They lose access to its comments, tasks and media within seconds; what is on their "
            f"computer stays.{yourself}"
        )
        if QMessageBox.question(self, "Remove member", text) != QMessageBox.StandardButton.Yes:
            return
        self._send("remove", username, f"Removing {username}…")

    def _send(self, action: str, username: str, progress: str) -> None:
        self._sending = action
        self._say(progress, error=False)
        self._update_buttons()
        self.bridge.change_member(self.project, username, add=action == "add")

    def open_deletion(self) -> DeleteProjectDialog:
        dialog = DeleteProjectDialog(self.bridge, self.project, self.name, self)
        dialog.deleted.connect(lambda _project: self.accept())  # nothing left to show here
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    # ---- what the server said --------------------------------------------------------------------

    def _on_member_changed(self, answer: MemberChanged) -> None:
        if answer.project != self.project:
            return
        self._sending = None
        if answer.member:
            self.user_edit.clear()
            done = "is now a member" if answer.changed else "was already a member"
        else:
            done = "was removed" if answer.changed else "was not a member"
        self._say(f"{answer.username} {done}.", error=False)
        self.reload()  # the list itself follows once the reconnected client has the server's

    def _on_failed(self, project: int, action: str, failure: SignInFailure) -> None:
        if project != self.project or action not in ("add", "remove"):
            return
        self._sending = None
        self._say(request_failure_text(action, failure), error=True, detail=failure.message)
        self._update_buttons()

    def _on_status(self, status: SyncStatus | None) -> None:
        # Online means subscribed and caught up, so the member lists are the server's; the steps in
        # between (one per change while syncing) would only redraw the same list.
        if status is None or status.state == "online":
            self.reload()

    def _say(self, text: str, *, error: bool, detail: str = "") -> None:
        shown, other = (self.error_label, self.info_label) if error else (self.info_label, self.error_label)
        other.hide()
        shown.setText(text)
        shown.setToolTip(detail)
        shown.show()

    def message(self) -> str:
        """What the dialog says about the last change (an error or not), "" when nothing."""
        shown = next((label for label in (self.error_label, self.info_label) if not label.isHidden()), None)
        return "" if shown is None else shown.text()

    def _is_me(self, username: str) -> bool:
        return any(u.id == self.access.me and u.name == username for u in self.bridge.store.users())


def _shown_name(user: UserInfo, me: int | None) -> str:
    name = user.display_name or user.name
    return f"{name} (you)" if user.id == me else name
