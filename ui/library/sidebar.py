"""The left panel: projects (create, rename, describe, delete), smart collections with counts, and the
project's saved searches (save, restore, rename, delete)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.catalog.errors import CatalogError
from core.catalog.records import SavedSearch
from core.media.kinds import AssetKind
from ui.common import theme
from ui.common.formatting import KIND_PLURALS

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetQuery, ProjectRecord

DataRole = Qt.ItemDataRole.UserRole + 1
RECENT_DAYS = 7.0


@dataclass(frozen=True)
class Collection:
    """A smart collection: a filter over the current project."""

    label: str
    kind: str | None = None
    tag: str | None = None
    recent_days: float | None = None


ALL_ASSETS = Collection("All assets")


def _tree() -> QTreeWidget:
    tree = QTreeWidget()
    tree.setObjectName("SidebarTree")
    tree.setColumnCount(2)
    tree.setHeaderHidden(True)
    tree.setRootIsDecorated(False)
    tree.setIndentation(8)
    tree.setIconSize(QSize(16, 16))
    tree.setUniformRowHeights(True)
    header = tree.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    return tree


def _count_item(
    parent: QTreeWidget | QTreeWidgetItem, label: str, count: int | None, icon: str
) -> QTreeWidgetItem:
    item = QTreeWidgetItem(parent, [label, f"{count:,}" if count is not None else ""])
    item.setIcon(0, theme.kind_icon(icon) if icon in KIND_PLURALS else theme.icon(icon))
    item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    item.setForeground(1, theme.TEXT_DIM)
    return item


class Sidebar(QFrame):
    project_selected = Signal(object)  # ProjectRecord | None
    collection_selected = Signal(object)  # Collection
    saved_search_selected = Signal(object)  # SavedSearch
    new_project_requested = Signal()
    edit_project_requested = Signal(object)  # ProjectRecord
    delete_project_requested = Signal(object)  # ProjectRecord
    watch_folder_requested = Signal(object)  # ProjectRecord
    watched_folders_requested = Signal()

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self._catalog = catalog
        self._project: ProjectRecord | None = None

        header = QHBoxLayout()
        header.setContentsMargins(12, 10, 6, 2)
        title = QLabel("PROJECTS")
        title.setObjectName("SectionTitle")
        add = QToolButton()
        add.setObjectName("Flat")
        add.setIcon(theme.icon("add"))
        add.setToolTip("New project (Ctrl+N)")
        add.clicked.connect(self.new_project_requested)
        header.addWidget(title, 1)
        header.addWidget(add)

        self.projects = _tree()
        self.projects.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.projects.customContextMenuRequested.connect(self._project_menu)
        self.projects.currentItemChanged.connect(self._on_project_changed)
        self.projects.itemDoubleClicked.connect(
            lambda item, _c: self.edit_project_requested.emit(item.data(0, DataRole))
        )
        self.collections = _tree()
        self.collections.setRootIsDecorated(False)
        self.collections.currentItemChanged.connect(self._on_collection_changed)
        # A click on the saved search already current restores it too (the filters may have moved since).
        # (the grid ignores a query it already shows, so the click after a change costs nothing).
        self.collections.itemClicked.connect(self._on_item_clicked)
        self.collections.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.collections.customContextMenuRequested.connect(self._collection_menu)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(2)
        top_layout.addLayout(header)
        top_layout.addWidget(self.projects)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.collections)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([200, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    # ---- projects --------------------------------------------------------------------------------

    @property
    def current_project(self) -> ProjectRecord | None:
        return self._project

    def reload_projects(self, select_id: int | None = None) -> None:
        """Re-read projects and keep (or move) the selection without emitting a spurious change."""
        wanted = select_id if select_id is not None else (self._project.id if self._project else None)
        self.projects.blockSignals(True)
        self.projects.clear()
        items: list[QTreeWidgetItem] = []
        for project in self._catalog.list_projects():
            item = _count_item(self.projects, project.name, project.asset_count, "project")
            item.setData(0, DataRole, project)
            item.setToolTip(0, project.description or project.name)
            items.append(item)
        chosen = next((i for i in items if i.data(0, DataRole).id == wanted), items[0] if items else None)
        if chosen is not None:
            self.projects.setCurrentItem(chosen)
        self.projects.blockSignals(False)
        self._on_project_changed(chosen, None)

    def select_project(self, project_id: int) -> None:
        for i in range(self.projects.topLevelItemCount()):
            item = self.projects.topLevelItem(i)
            if item is not None and item.data(0, DataRole).id == project_id:
                self.projects.setCurrentItem(item)
                return

    def _on_project_changed(self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        project = current.data(0, DataRole) if current is not None else None
        changed = (project.id if project else None) != (self._project.id if self._project else None)
        self._project = project
        self.reload_collections(keep=not changed)
        self.project_selected.emit(project)

    def _project_menu(self, pos: QPoint) -> None:
        item = self.projects.itemAt(pos)
        menu = QMenu(self)
        new = QAction("New project…", menu)
        new.triggered.connect(self.new_project_requested)
        menu.addAction(new)
        project = item.data(0, DataRole) if item is not None else None
        if project is not None:
            edit = QAction("Rename / describe…", menu)
            edit.triggered.connect(lambda: self.edit_project_requested.emit(project))
            delete = QAction("Delete project…", menu)
            delete.triggered.connect(lambda: self.delete_project_requested.emit(project))
            menu.addSeparator()
            menu.addAction(edit)
            menu.addAction(delete)
        menu.addSeparator()
        if project is not None:
            watch = QAction("Watch a folder…", menu)
            watch.triggered.connect(lambda: self.watch_folder_requested.emit(project))
            menu.addAction(watch)
        watched = QAction("Watched folders…", menu)
        watched.triggered.connect(self.watched_folders_requested)
        menu.addAction(watched)
        menu.exec(self.projects.viewport().mapToGlobal(pos))

    # ---- collections -----------------------------------------------------------------------------

    @property
    def current_collection(self) -> Collection:
        item = self.collections.currentItem()
        data = item.data(0, DataRole) if item is not None else None
        return data if isinstance(data, Collection) else ALL_ASSETS

    def reload_collections(self, *, keep: bool = True) -> None:
        """Counts per kind, AI category and tag for the current project (a few GROUP BYs)."""
        current = self.collections.currentItem()
        previous = current.data(0, DataRole) if keep and current is not None else ALL_ASSETS
        self.collections.blockSignals(True)
        self.collections.clear()
        project = self._project
        if project is None:
            self.collections.blockSignals(False)
            return
        kinds = self._catalog.kind_counts(project.id)
        all_tags = self._catalog.tag_counts(project.id)
        categories = dict(self._catalog.tag_counts(project.id, categories_only=True))
        library = self._section("LIBRARY")
        items = [_count_item(library, ALL_ASSETS.label, sum(kinds.values()), "all")]
        items[-1].setData(0, DataRole, ALL_ASSETS)
        recent = _count_item(library, f"Recent ({RECENT_DAYS:.0f} days)", None, "recent")
        recent.setData(0, DataRole, Collection("Recent", recent_days=RECENT_DAYS))
        items.append(recent)
        for kind in AssetKind:
            if kinds.get(kind):
                item = _count_item(library, KIND_PLURALS[kind], kinds[kind], str(kind))
                item.setData(0, DataRole, Collection(KIND_PLURALS[kind], kind=str(kind)))
                items.append(item)
        for title, names, icon in (
            ("CATEGORIES", [(n, c) for n, c in all_tags if n in categories], "category"),
            ("TAGS", [(n, c) for n, c in all_tags if n not in categories], "tag"),
        ):
            if not names:
                continue
            section = self._section(title)
            for name, count in names:
                item = _count_item(section, name, count, icon)
                item.setData(0, DataRole, Collection(name, tag=name))
                items.append(item)
        searches = self._catalog.curation.saved_searches(project.id)
        if searches:
            section = self._section("SAVED SEARCHES")
            for search in searches:
                item = _count_item(section, search.name, None, "search")
                item.setData(0, DataRole, search)
                items.append(item)
        self.collections.expandAll()
        chosen = next((i for i in items if i.data(0, DataRole) == previous), items[0])
        self.collections.setCurrentItem(chosen)
        self.collections.blockSignals(False)

    def select_all_assets(self) -> None:
        if self.collections.topLevelItemCount():
            library = self.collections.topLevelItem(0)
            first = library.child(0) if library is not None else None
            if first is not None:
                self.collections.setCurrentItem(first)

    def _section(self, title: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.collections, [title, ""])
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = QFont(item.font(0))
        font.setPointSizeF(max(7.0, font.pointSizeF() - 2))
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 1.0)
        item.setFont(0, font)
        item.setForeground(0, theme.TEXT_DIM)
        return item

    def _on_collection_changed(
        self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None
    ) -> None:
        data = current.data(0, DataRole) if current is not None else None
        if isinstance(data, Collection):
            self.collection_selected.emit(data)
        elif isinstance(data, SavedSearch):
            self.saved_search_selected.emit(data)

    def _on_item_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        data = item.data(0, DataRole)
        if isinstance(data, SavedSearch):
            self.saved_search_selected.emit(data)

    # ---- saved searches --------------------------------------------------------------------------

    def save_search(self, query: AssetQuery, name: str | None = None) -> SavedSearch | None:
        """Store ``query`` in the current project under ``name`` (asked for when not given)."""
        project = self._project
        if project is None:
            return None
        if name is None:
            name, ok = QInputDialog.getText(self, "Save search", "Name of this search:")
            if not ok:
                return None
        try:
            saved = self._catalog.curation.save_search(project.id, name, query)
        except CatalogError as exc:
            QMessageBox.warning(self, "Save search", str(exc))
            return None
        self.reload_collections()
        self._select_data(saved)
        return saved

    def rename_saved_search(self, search: SavedSearch, name: str | None = None) -> None:
        if name is None:
            name, ok = QInputDialog.getText(self, "Rename saved search", "New name:", text=search.name)
            if not ok:
                return
        try:
            self._catalog.curation.rename_search(search.id, name)
        except CatalogError as exc:
            QMessageBox.warning(self, "Rename saved search", str(exc))
            return
        self.reload_collections()

    def delete_saved_search(self, search: SavedSearch) -> None:
        self._catalog.curation.delete_search(search.id)
        self.reload_collections()

    def _select_data(self, data: object) -> None:
        """Make the item holding ``data`` current without emitting (the grid already shows it)."""
        self.collections.blockSignals(True)
        for section in range(self.collections.topLevelItemCount()):
            parent = self.collections.topLevelItem(section)
            for row in range(parent.childCount() if parent is not None else 0):
                item = parent.child(row) if parent is not None else None
                if item is not None and item.data(0, DataRole) == data:
                    self.collections.setCurrentItem(item)
        self.collections.blockSignals(False)

    def _collection_menu(self, pos: QPoint) -> None:
        item = self.collections.itemAt(pos)
        search = item.data(0, DataRole) if item is not None else None
        if not isinstance(search, SavedSearch):
            return
        menu = QMenu(self)
        rename = QAction("Rename…", menu)
        rename.triggered.connect(lambda: self.rename_saved_search(search))
        delete = QAction("Delete saved search", menu)
        delete.triggered.connect(lambda: self.delete_saved_search(search))
        menu.addAction(rename)
        menu.addAction(delete)
        menu.exec(self.collections.viewport().mapToGlobal(pos))
