"""Watch folders in the UI: "Watch a folder…" for a project, and the list of watched folders.

Both edit ``watches.json`` (``core.watch.store``) as ``stratopipe watch add|remove`` do; the running
watcher reads that file again on every pass, so the dialogs need no watcher of their own. They say
what changed through ``watches_changed`` so the shell can wake the watcher at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
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

from core.profiles import ProfileError, load_profiles, profiles_file
from core.watch.store import WatchError, WatchFolder, load_watches, save_watches, watches_file

if TYPE_CHECKING:
    from core.paths import AppPaths

_PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class AddWatchDialog(QDialog):
    """Which folder to watch for a project, with which processing profile; saved on OK."""

    watches_changed = Signal()

    def __init__(self, paths: AppPaths, project: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Watch a folder")
        self.setMinimumWidth(520)
        self._paths = paths
        self._project = project
        book = load_profiles(profiles_file(paths))  # ProfileError: the caller says why to the user

        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("A folder where renders or deliveries land")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.profile_combo = QComboBox()
        self.profile_combo.addItem(f"The project's profile ({book.for_ingest(project).name})", None)
        for name in book.names():
            self.profile_combo.addItem(name, name)
        self.polling_box = QCheckBox("Network share: list it on a timer (shares send no file events)")

        form = QFormLayout()
        form.addRow("Project", QLabel(f"<b>{project}</b>"))
        form.addRow("Folder", folder_row)
        form.addRow("Profile", self.profile_combo)
        form.addRow("", self.polling_box)
        note = QLabel(
            "Files are ingested once they stop changing; files already in the folder are ingested too."
        )
        note.setObjectName("Dim")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.watch_button = self.buttons.addButton("Watch", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.folder_edit.textChanged.connect(lambda text: self.watch_button.setEnabled(bool(text.strip())))
        self.watch_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder to watch", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def accept(self) -> None:
        """Save the watch; a folder that is missing or watched already keeps the dialog open."""
        folder = Path(self.folder_edit.text().strip()).expanduser().absolute()
        if not folder.is_dir():
            QMessageBox.warning(self, "Watch a folder", f"{folder} is not a folder.")
            return
        watch = WatchFolder(
            path=str(folder),
            project=self._project,
            profile=self.profile_combo.currentData(),
            polling=self.polling_box.isChecked(),
        )
        file = watches_file(self._paths)
        try:
            book = load_watches(file)
            book.add(watch)
        except WatchError as exc:
            QMessageBox.warning(self, "Watch a folder", str(exc))
            return
        save_watches(book, file)
        self.watches_changed.emit()
        super().accept()


class WatchedFoldersDialog(QDialog):
    """Every watched folder of this machine (folder, project, profile) with Remove."""

    watches_changed = Signal()

    def __init__(self, paths: AppPaths, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Watched folders")
        self.resize(720, 320)
        self._file = watches_file(paths)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Folder", "Project", "Profile"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.empty_label = QLabel("No folder is watched. Right-click a project and choose “Watch a folder…”.")
        self.empty_label.setObjectName("Dim")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Stop watching the folder (its files stay in the catalog)")
        self.remove_button.clicked.connect(self.remove_selected)
        self.tree.itemSelectionChanged.connect(
            lambda: self.remove_button.setEnabled(bool(self.tree.selectedItems()))
        )
        # Remove sits apart from Close and is never the default button: Enter must not drop a watch.
        self.remove_button.setAutoDefault(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.remove_button)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(self.empty_label)
        layout.addLayout(row)
        self.reload()

    def reload(self) -> None:
        """Read ``watches.json`` again (``watch add`` from a terminal shows up here too)."""
        self.tree.clear()
        try:
            watches = load_watches(self._file).watches
        except WatchError as exc:
            self.empty_label.setText(str(exc))
            watches = []
        for watch in watches:
            profile = watch.profile or "the project's"
            item = QTreeWidgetItem(self.tree, [watch.path, watch.project, profile])
            item.setToolTip(0, f"{watch.path} (listed on a timer)" if watch.polling else watch.path)
            item.setData(0, _PATH_ROLE, watch.path)
        self.tree.setVisible(bool(watches))
        self.empty_label.setVisible(not watches)
        self.remove_button.setEnabled(False)

    def remove_selected(self) -> None:
        paths = [item.data(0, _PATH_ROLE) for item in self.tree.selectedItems()]
        if not paths:
            return
        try:
            book = load_watches(self._file)
            for path in paths:
                book.remove(path)
        except WatchError as exc:
            QMessageBox.warning(self, "Watched folders", str(exc))
        else:
            save_watches(book, self._file)
            self.watches_changed.emit()
        self.reload()


def open_add_watch(paths: AppPaths, project: str, parent: QWidget) -> AddWatchDialog | None:
    """The "Watch a folder…" dialog, or None (and a message) when the profiles cannot be read."""
    try:
        return AddWatchDialog(paths, project, parent)
    except ProfileError as exc:
        QMessageBox.warning(parent, "Watch a folder", str(exc))
        return None
