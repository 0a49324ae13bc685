"""Dialogs: project name/description, delete confirmations, and the list of files an ingest refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from core.catalog.records import ProjectRecord


class ProjectDialog(QDialog):
    """New project, or rename/describe an existing one. OK stays disabled until there is a name."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        title: str = "New project",
        name: str = "",
        description: str = "",
        message: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        if message:
            intro = QLabel(message)
            intro.setWordWrap(True)
            layout.addWidget(intro)
        form = QFormLayout()
        self.name_edit = QLineEdit(name)
        self.name_edit.setPlaceholderText("e.g. Falcon – shot 040")
        self.description_edit = QPlainTextEdit(description)
        self.description_edit.setPlaceholderText("What is this project for? (optional)")
        self.description_edit.setFixedHeight(90)
        form.addRow("Name", self.name_edit)
        form.addRow("Description", self.description_edit)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.name_edit.textChanged.connect(self._update_ok)
        self._update_ok()
        self.name_edit.selectAll()

    def _update_ok(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.name_edit.text().strip()))

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()

    @property
    def description(self) -> str:
        return self.description_edit.toPlainText().strip()


class ConfirmDialog(QDialog):
    """A yes/no question whose "yes" button names the action (never a bare "OK" for a delete)."""

    def __init__(
        self,
        parent: QWidget | None,
        *,
        title: str,
        text: str,
        detail: str,
        action: str,
        danger: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        heading = QLabel(text)
        heading.setObjectName("AssetTitle")
        heading.setWordWrap(True)
        body = QLabel(detail)
        body.setWordWrap(True)
        body.setObjectName("Dim")
        layout.addWidget(heading)
        layout.addWidget(body)
        layout.addSpacing(8)
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Cancel")
        self.confirm_button = QPushButton(action)
        self.confirm_button.setObjectName("Danger" if danger else "Primary")
        cancel.clicked.connect(self.reject)
        self.confirm_button.clicked.connect(self.accept)
        cancel.setDefault(True)  # Enter must not delete by accident
        row.addWidget(cancel)
        row.addWidget(self.confirm_button)
        layout.addLayout(row)


def delete_project_dialog(
    parent: QWidget | None, project: ProjectRecord, copied: int | None
) -> ConfirmDialog:
    """``copied``: how many assets were copied into the library, when known (None: say it generally)."""
    count = project.asset_count
    assets = f"{count:,} asset" + ("" if count == 1 else "s")
    detail = (
        f"This removes the project and its {assets} from the catalog, with their tags, notes and "
        "job history. Files on disk are kept"
    )
    if copied is None:
        detail += ", except files that were copied into the project library, which are deleted."
    elif copied:
        copies = f"{copied:,} file" + ("" if copied == 1 else "s")
        detail += f", except the {copies} that were copied into the project library, which are deleted."
    else:
        detail += " (none of them were copied into the project library)."
    return ConfirmDialog(
        parent,
        title="Delete project",
        text=f"Delete the project “{project.name}” and its {assets}?",
        detail=detail,
        action="Delete project",
    )


def delete_assets_dialog(parent: QWidget | None, count: int, copied: int) -> ConfirmDialog:
    what = "this asset" if count == 1 else f"these {count:,} assets"
    detail = "They are removed from the catalog. Files on disk are kept"
    detail += f", except {copied:,} copied into the project library, which are deleted." if copied else "."
    return ConfirmDialog(
        parent, title="Remove assets", text=f"Remove {what}?", detail=detail, action="Remove"
    )


class IngestFailuresDialog(QDialog):
    """Every file a batch refused, each with the reason in plain words, copyable as text."""

    def __init__(
        self, failures: Sequence[tuple[str, str]], parent: QWidget | None = None, *, title: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files that could not be ingested")
        self.resize(820, 420)
        self._failures = list(failures)
        layout = QVBoxLayout(self)
        count = len(self._failures)
        heading = QLabel(title or f"{count:,} file{'s' if count != 1 else ''} could not be ingested")
        heading.setObjectName("AssetTitle")
        hint = QLabel(
            "Nothing else in the batch was affected. Fix or replace these files and drop them again."
        )
        hint.setObjectName("Dim")
        hint.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(hint)
        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        self.table.setHeaderLabels(["File", "Problem"])
        self.table.setUniformRowHeights(True)
        for path, error in self._failures:
            item = QTreeWidgetItem([path, error])
            item.setToolTip(0, path)
            item.setToolTip(1, error)
            self.table.addTopLevelItem(item)
        self.table.setColumnWidth(0, 360)
        self.table.setWordWrap(True)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy list", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)
        close.setDefault(True)
        for button in (copy, close):
            button.setIcon(QIcon())  # the platform's stock icons clash with the theme
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def as_text(self) -> str:
        return "\n".join(f"{path}\t{error}" for path, error in self._failures)

    def copy_to_clipboard(self) -> None:
        QGuiApplication.clipboard().setText(self.as_text())
