"""The project's tasks, synced with the server: a list and a board (open / in progress / review /
completed; drag a card to another column to change its status), a task dialog (title, description,
assignee, status, due date, link to the selected asset), "assigned to me", and a clear message when a
change of ours or someone else's overwrote newer values (a task conflict).
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QDate, QMimeData, Qt, Signal
from PySide6.QtGui import QColor, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.collab.deletions import task_deletion_reason

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.sync.local_store import TaskView
    from core.sync.protocol import UserInfo
    from workers.sync_bridge import SyncBridge

log = logging.getLogger(__name__)

STATUSES = (
    ("open", "Open"),
    ("in_progress", "In progress"),
    ("review", "Review"),
    ("completed", "Completed"),
)
STATUS_LABELS = dict(STATUSES)
STATUS_COLOURS = {"open": "#8b8e96", "in_progress": "#4a9eff", "review": "#f0b454", "completed": "#5fcf8a"}
TASK_MIME = "application/x-stratopipe-task-ids"
TaskRole = Qt.ItemDataRole.UserRole + 1


class TaskDialog(QDialog):
    """Create or edit one task. ``values()`` gives the fields the user set."""

    def __init__(
        self,
        members: list[UserInfo],
        *,
        task: TaskView | None = None,
        asset_name: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit task" if task else "New task")
        self.setMinimumWidth(420)
        form = QFormLayout(self)
        self.title_edit = QLineEdit(task.title if task else "")
        self.title_edit.setPlaceholderText("What needs doing")
        self.description_edit = QPlainTextEdit(task.description if task else "")
        self.description_edit.setFixedHeight(90)
        self.assignee_combo = QComboBox()
        self.assignee_combo.addItem("Nobody", None)
        for user in members:
            self.assignee_combo.addItem(user.display_name or user.name, user.id)
        if task is not None and task.assignee is not None:
            index = self.assignee_combo.findData(task.assignee)
            self.assignee_combo.setCurrentIndex(max(0, index))
        self.status_combo = QComboBox()
        for value, label in STATUSES:
            self.status_combo.addItem(label, value)
        self.status_combo.setCurrentIndex(max(0, self.status_combo.findData(task.status if task else "open")))
        self.due_check = QCheckBox("Due")
        self.due_edit = QDateEdit()
        self.due_edit.setCalendarPopup(True)
        self.due_edit.setDisplayFormat("yyyy-MM-dd")
        due = task.due_date if task else None
        self.due_check.setChecked(due is not None)
        self.due_edit.setDate(QDate.fromString(due, "yyyy-MM-dd") if due else QDate.currentDate().addDays(7))
        self.due_edit.setEnabled(due is not None)
        self.due_check.toggled.connect(self.due_edit.setEnabled)
        due_row = QHBoxLayout()
        due_row.addWidget(self.due_check)
        due_row.addWidget(self.due_edit, 1)
        self.link_check = QCheckBox(f"Link to {asset_name}" if asset_name else "Link to the selected asset")
        self.link_check.setVisible(bool(asset_name))
        self.link_check.setChecked(bool(asset_name) and task is None)
        self.error_label = QLabel()
        self.error_label.setObjectName("ErrorText")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        form.addRow("Title", self.title_edit)
        form.addRow("Description", self.description_edit)
        form.addRow("Assignee", self.assignee_combo)
        form.addRow("Status", self.status_combo)
        form.addRow("", due_row)
        form.addRow("", self.link_check)
        form.addRow(self.error_label)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept(self) -> None:
        if not self.title_edit.text().strip():
            self.error_label.setText("A task needs a title")
            self.error_label.show()
            return
        self.accept()

    def values(self) -> dict[str, Any]:
        return {
            "title": self.title_edit.text().strip(),
            "description": self.description_edit.toPlainText().strip(),
            "assignee": self.assignee_combo.currentData(),
            "status": self.status_combo.currentData(),
            "due_date": self.due_edit.date().toString("yyyy-MM-dd") if self.due_check.isChecked() else None,
        }


class BoardColumn(QListWidget):
    """One status column; cards dragged in from another column change their task's status."""

    task_dropped = Signal(str, str)  # task id, this column's status

    def __init__(self, status: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status = status
        self.setObjectName("BoardColumn")
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(True)
        self.setSpacing(4)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setStyleSheet(
            "QListWidget#BoardColumn { background: #1b1c1f; border: 1px solid #2c2e33; border-radius: 6px; }"
            "QListWidget#BoardColumn::item { background: #26282d; border: 1px solid #34363c;"
            " border-left: 3px solid " + STATUS_COLOURS[status] + "; border-radius: 4px; padding: 6px; }"
            "QListWidget#BoardColumn::item:selected { background: #2f3a4c; border-color: #4a9eff; }"
        )

    def mimeTypes(self) -> list[str]:
        return [TASK_MIME]

    def mimeData(self, items: Any) -> QMimeData:
        data = QMimeData()
        ids = [item.data(TaskRole) for item in items]
        data.setData(TASK_MIME, QByteArray(json.dumps(ids).encode()))
        return data

    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(TASK_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(TASK_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """The board, not Qt, moves the card: the status changes and the columns are rebuilt."""
        mime = event.mimeData()
        if not mime.hasFormat(TASK_MIME):
            event.ignore()
            return
        try:
            ids = json.loads(bytes(mime.data(TASK_MIME).data()).decode())
        except ValueError:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)  # nothing for the source list to remove
        event.accept()
        for task_id in ids:
            if isinstance(task_id, str):
                self.task_dropped.emit(task_id, self.status)


class TasksPanel(QWidget):
    """Tasks of the linked server project (``set_project``), as a list or a board."""

    asset_requested = Signal(str)  # synced asset id of a task's linked asset

    def __init__(
        self,
        bridge: SyncBridge,
        *,
        selected_asset: Callable[[bool], tuple[str, str] | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("TasksPanel")
        self.bridge = bridge
        # Tasks are read and written through the local store (sent to the server from there).
        self.store, self.wording = bridge.store, bridge.wording
        # (publish) -> (synced asset id, name) of the asset selected in the grid; publish=True shares it.
        self.selected_asset = selected_asset
        self.project_id: int | None = None
        self._tasks: list[TaskView] = []
        self._selected: str | None = None  # task id selected in the list or on the board

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        header = QHBoxLayout()
        self.project_label = QLabel()
        self.project_label.setObjectName("Dim")
        self.new_button = QPushButton("New task…")
        self.new_button.clicked.connect(self.ask_new_task)
        self.mine_check = QCheckBox("Assigned to me")
        self.mine_check.toggled.connect(lambda _on: self.reload())
        self.list_button = QPushButton("List")
        self.board_button = QPushButton("Board")
        for button in (self.list_button, self.board_button):
            button.setCheckable(True)
            button.setAutoExclusive(True)
            button.setStyleSheet("QPushButton:checked { background: #2f5f9e; border-color: #4a9eff; }")
        self.board_button.setChecked(True)
        self.list_button.toggled.connect(lambda on: self.views.setCurrentIndex(0 if on else 1))
        header.addWidget(self.project_label, 1)
        header.addWidget(self.mine_check)
        header.addSpacing(8)
        header.addWidget(self.list_button)
        header.addWidget(self.board_button)
        header.addSpacing(8)
        header.addWidget(self.new_button)
        self.delete_button = QPushButton("Delete task")
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        header.addWidget(self.delete_button)
        layout.addLayout(header)

        self.conflict_bar = QWidget()
        conflict_row = QHBoxLayout(self.conflict_bar)
        conflict_row.setContentsMargins(0, 0, 0, 0)
        self.conflict_label = QLabel()
        self.conflict_label.setWordWrap(True)
        self.conflict_label.setStyleSheet(
            "color: #ffd9a0; background: #3a2f1c; border: 1px solid #6b5524;"
            " border-radius: 4px; padding: 6px;"
        )
        dismiss = QPushButton("Dismiss")
        dismiss.clicked.connect(self.conflict_bar.hide)
        conflict_row.addWidget(self.conflict_label, 1)
        conflict_row.addWidget(dismiss)
        self.conflict_bar.hide()
        layout.addWidget(self.conflict_bar)
        self.error_label = QLabel()
        self.error_label.setObjectName("ErrorText")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(["Title", "Status", "Assignee", "Due", "Asset", ""])
        self.table.setColumnWidth(0, 280)
        self.table.itemDoubleClicked.connect(lambda item, _c: self.ask_edit(item.data(0, TaskRole)))
        self.table.currentItemChanged.connect(
            lambda item, _p: self.select(item.data(0, TaskRole) if item else None)
        )
        board = QWidget()
        board_row = QHBoxLayout(board)
        board_row.setContentsMargins(0, 0, 0, 0)
        board_row.setSpacing(8)
        self.columns: dict[str, BoardColumn] = {}
        self.column_titles: dict[str, QLabel] = {}
        for status, label in STATUSES:
            column = BoardColumn(status)
            column.task_dropped.connect(self.move_task)
            column.itemDoubleClicked.connect(lambda item: self.ask_edit(item.data(TaskRole)))
            column.currentItemChanged.connect(
                lambda item, _p: self.select(item.data(TaskRole) if item else None)
            )
            title = QLabel(label)
            title.setStyleSheet(f"color: {STATUS_COLOURS[status]}; font-weight: 600;")
            box = QVBoxLayout()
            box.setSpacing(4)
            box.addWidget(title)
            box.addWidget(column, 1)
            board_row.addLayout(box, 1)
            self.columns[status] = column
            self.column_titles[status] = title
        self.views: QStackedWidget = QStackedWidget()
        self.views.addWidget(self.table)
        self.views.addWidget(board)
        self.views.setCurrentIndex(1)
        layout.addWidget(self.views, 1)

        bridge.records_changed.connect(lambda e: self.reload() if e.kind == "task" else None)
        bridge.local_change.connect(lambda kind: self.reload() if kind == "task" else None)
        bridge.conflict.connect(self.on_conflict)
        bridge.change_rejected.connect(self._on_rejected)
        self.set_project(None, "Sign in and link this project to a server project to see its tasks.")

    # ---- showing ---------------------------------------------------------------------------------

    def set_project(self, project_id: int | None, message: str = "") -> None:
        self.project_id = project_id
        names = {p.id: p.name for p in self.store.projects(include_deleted=True)}
        if project_id is None:
            self.project_label.setText(message)
        else:
            self.project_label.setText(f"Server project: {names.get(project_id, project_id)}")
        self.new_button.setEnabled(project_id is not None and self.store.may("create_task"))
        self.reload()

    def reload(self) -> None:
        if self.project_id is None:
            self._tasks = []
        else:
            me = self.store.current_user_id() if self.mine_check.isChecked() else None
            self._tasks = self.store.list_tasks(self.project_id, me)
            if self.mine_check.isChecked() and me is None:
                self._tasks = []
        self.table.clear()
        for column in self.columns.values():
            column.clear()
        for task in self._tasks:
            self._add_row(task)
            self._add_card(task)
        for status, label in STATUSES:
            count = self.columns[status].count()
            self.column_titles[status].setText(f"{label}  {count}" if count else label)
        self._update_delete_button()

    def select(self, task_id: str | None) -> None:
        self._selected = task_id
        self._update_delete_button()

    def selected_task(self) -> TaskView | None:
        return next((task for task in self._tasks if task.id == self._selected), None)

    def _update_delete_button(self) -> None:
        reason = task_deletion_reason(self.store, self.selected_task())
        self.delete_button.setEnabled(reason is None)
        self.delete_button.setToolTip(reason or "Delete this task for everyone in the project")

    def delete_selected(self, *, confirm: bool = True) -> None:
        task = self.selected_task()
        if task is None or task_deletion_reason(self.store, task) is not None:
            return
        if confirm:
            answer = QMessageBox.question(
                self, "Delete task", f"Delete the task {task.title!r} for everyone?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        try:
            self.store.delete_task(task.id)
        except (KeyError, ValueError, PermissionError, RuntimeError) as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        self.reload()

    def _who(self, task: TaskView) -> str:
        return self.wording.user_name(task.assignee) if task.assignee is not None else "unassigned"

    def _add_row(self, task: TaskView) -> None:
        asset = self.store.asset_name(task.asset_id) if task.asset_id else ""
        pending = "pending" if task.sync_state == "pending" else ""
        row = QTreeWidgetItem(
            [task.title, STATUS_LABELS.get(task.status, task.status), self._who(task), task.due_date or "",
             asset, pending]
        )  # fmt: skip
        row.setData(0, TaskRole, task.id)
        row.setForeground(1, QColor(STATUS_COLOURS.get(task.status, "#8b8e96")))
        row.setToolTip(0, task.description or task.title)
        self.table.addTopLevelItem(row)

    def _add_card(self, task: TaskView) -> None:
        column = self.columns.get(task.status)
        if column is None:
            return
        details = [self._who(task)]
        if task.due_date:
            overdue = task.status != "completed" and task.due_date < date.today().isoformat()
            details.append(("overdue " if overdue else "due ") + task.due_date)
        if task.asset_id:
            details.append("on " + (self.store.asset_name(task.asset_id) or "an asset"))
        if task.sync_state == "pending":
            details.append("pending")
        item = QListWidgetItem(f"{task.title}\n{'  ·  '.join(details)}")
        item.setData(TaskRole, task.id)
        item.setToolTip(task.description or task.title)
        column.addItem(item)

    def tasks(self) -> list[TaskView]:
        return list(self._tasks)

    def card_titles(self, status: str) -> list[str]:
        column = self.columns[status]
        return [column.item(i).text().split("\n")[0] for i in range(column.count())]

    # ---- changing --------------------------------------------------------------------------------

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def move_task(self, task_id: str, status: str) -> None:
        """A card dropped on another column (or a status picked): change the task's status."""
        try:
            current = self.store.task(task_id)
            if current.status == status:
                return
            self.store.update_task(task_id, {"status": status})
        except (KeyError, ValueError, PermissionError, RuntimeError) as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        self.reload()

    def ask_new_task(self) -> None:
        if self.project_id is None:
            return
        linked = self._selected_asset_name()
        dialog = TaskDialog(self.store.users(self.project_id), asset_name=linked, parent=self)
        if dialog.exec():
            self.create_from(dialog.values(), link_asset=dialog.link_check.isChecked())

    def _selected_asset_name(self) -> str:
        if self.selected_asset is None:
            return ""
        found = self.selected_asset_info(publish=False)
        return found[1] if found else ""

    def selected_asset_info(self, *, publish: bool) -> tuple[str, str] | None:
        if self.selected_asset is None:
            return None
        try:
            return self.selected_asset(publish)
        except (ValueError, PermissionError, RuntimeError) as exc:
            self._show_error(str(exc))
            return None

    def create_from(self, values: dict[str, Any], *, link_asset: bool = False) -> TaskView | None:
        if self.project_id is None:
            return None
        asset_id = None
        if link_asset:
            found = self.selected_asset_info(publish=True)
            asset_id = found[0] if found else None
        try:
            task = self.store.create_task(self.project_id, asset_id=asset_id, **values)
        except (ValueError, PermissionError, RuntimeError) as exc:
            self._show_error(str(exc))
            return None
        self._show_error("")
        self.reload()
        return task

    def ask_edit(self, task_id: str | None) -> None:
        if task_id is None or self.project_id is None:
            return
        try:
            task = self.store.task(task_id)
        except KeyError:
            return
        dialog = TaskDialog(self.store.users(self.project_id), task=task, parent=self)
        if dialog.exec():
            self.apply_edit(task, dialog.values())

    def apply_edit(self, task: TaskView, values: dict[str, Any]) -> None:
        """Send only what the user changed, against the version they saw (so conflicts are named)."""
        changed = {k: v for k, v in values.items() if getattr(task, k) != v}
        if not changed:
            return
        try:
            self.store.update_task(task.id, changed)
        except (KeyError, ValueError, PermissionError, RuntimeError) as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        self.reload()

    # ---- what the server said --------------------------------------------------------------------

    def on_conflict(self, event: Any) -> None:
        text = self.wording.describe_conflict(event)
        if text:
            self.conflict_label.setText(text)
            self.conflict_bar.show()

    def _on_rejected(self, event: Any) -> None:
        if event.record_kind == "task":
            self._show_error(f"The server refused a task change: {event.message}")
            self.reload()
