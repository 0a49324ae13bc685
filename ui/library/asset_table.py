"""The details view: the grid's assets as a table (name, kind, size, resolution, …) over the same model.

``AssetTableModel`` adds columns to :class:`AssetListModel` rather than keeping rows of its own, so both
views show the same pages, the same placeholders and the same batched updates; it forwards the list
model's signals with the column range widened. Header clicks ask for a catalog sort (``sort_clicked``):
sorting the loaded rows on the client would order a partial list and show a false order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from core.catalog.records import SortKey
from ui.common.formatting import KIND_LABELS, human_duration, human_size, video_duration
from ui.library.asset_model import PLACEHOLDER_TEXT, AssetRole
from ui.library.curation import label_text, stars

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from PySide6.QtCore import QMimeData, QObject
    from PySide6.QtWidgets import QWidget

    from core.catalog.records import AssetRecord
    from ui.library.asset_model import AnyIndex, AssetListModel

ROW_HEIGHT = 24


@dataclass(frozen=True)
class TableColumn:
    title: str
    text: Callable[[AssetRecord], str]
    sort: SortKey | None = None  # the catalog order a click on the header asks for; None: not sortable
    right_aligned: bool = False


def _resolution(record: AssetRecord) -> str:
    width, height = record.metadata.get("width"), record.metadata.get("height")
    return f"{width} × {height}" if isinstance(width, int) and isinstance(height, int) else ""


def _duration(record: AssetRecord) -> str:
    seconds = video_duration(record.metadata)
    return human_duration(seconds) if seconds is not None else ""


def _added(record: AssetRecord) -> str:
    return datetime.fromtimestamp(record.created_at).strftime("%Y-%m-%d %H:%M")


COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("Name", lambda r: r.name, SortKey.NAME),
    TableColumn("Kind", lambda r: KIND_LABELS.get(r.kind, str(r.kind)), SortKey.KIND),
    TableColumn("Size", lambda r: human_size(r.size_bytes), SortKey.SIZE, right_aligned=True),
    TableColumn("Resolution", _resolution, right_aligned=True),
    TableColumn("Duration", _duration, right_aligned=True),
    TableColumn("Rating", lambda r: stars(r.rating), SortKey.RATING),
    TableColumn("Label", lambda r: label_text(r.label)),
    TableColumn("Date added", _added, SortKey.CREATED),
    TableColumn("Path", lambda r: r.path),
)
LAST_COLUMN = len(COLUMNS) - 1
# Roles any column answers as the grid does, so actions and tests read a row the same in either view.
FORWARDED_ROLES = frozenset({int(Qt.ItemDataRole.ToolTipRole), *(int(r) for r in AssetRole)})


class AssetTableModel(QAbstractTableModel):
    """Columns over an :class:`AssetListModel`'s rows; row ``n`` here is row ``n`` there."""

    def __init__(self, source: AssetListModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        # Bound methods, not lambdas: Qt drops them when this model goes, though the source lives on.
        source.modelAboutToBeReset.connect(self.beginResetModel)
        source.modelReset.connect(self.endResetModel)
        source.rowsAboutToBeRemoved.connect(self._rows_about_to_be_removed)
        source.rowsRemoved.connect(self.endRemoveRows)
        source.dataChanged.connect(self._data_changed)

    def _rows_about_to_be_removed(self, _parent: QModelIndex, first: int, last: int) -> None:
        self.beginRemoveRows(QModelIndex(), first, last)

    def _data_changed(self, top: QModelIndex, bottom: QModelIndex) -> None:
        self.dataChanged.emit(self.index(top.row(), 0), self.index(bottom.row(), LAST_COLUMN))

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self.source.rowCount()

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        source_index = self.source.index(index.row())
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            record: AssetRecord | None = self.source.data(source_index, AssetRole.Record)
            if record is None:  # not loaded yet: its page was asked for
                return PLACEHOLDER_TEXT if index.column() == 0 else ""
            return column.text(record)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.right_aligned:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role in FORWARDED_ROLES:
            return self.source.data(source_index, role)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return (
            self.source.flags(self.source.index(index.row())) if index.isValid() else Qt.ItemFlag.NoItemFlags
        )

    def mimeTypes(self) -> list[str]:
        return self.source.mimeTypes()

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        rows = {i.row() for i in indexes if i.isValid()}
        return self.source.mimeData([self.source.index(row) for row in sorted(rows)])

    def supportedDragActions(self) -> Qt.DropAction:
        return self.source.supportedDragActions()


class AssetTable(QTableView):
    """The details view. ``sort_clicked(SortKey)``: a sortable header was clicked (the grid picks the
    direction: the same key again reverses it)."""

    sort_clicked = Signal(object)

    def __init__(self, source: AssetListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AssetTable")
        self.table_model = AssetTableModel(source, self)
        self.setModel(self.table_model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        rows = self.verticalHeader()
        rows.setVisible(False)
        # Fixed heights: the header never measures rows, so a long project costs nothing to lay out.
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(ROW_HEIGHT)
        header = self.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setStretchLastSection(True)
        header.resizeSection(0, 280)
        header.sectionClicked.connect(self._header_clicked)
        source.modelReset.connect(self.show_sort)
        self.show_sort()

    def show_sort(self) -> None:
        """The header's arrow on the column of the model's order (none for relevance)."""
        query = self.table_model.source.query
        column = next((n for n, c in enumerate(COLUMNS) if c.sort == query.sort), -1)
        order = Qt.SortOrder.DescendingOrder if query.descending else Qt.SortOrder.AscendingOrder
        self.horizontalHeader().setSortIndicator(column, order)

    def _header_clicked(self, column: int) -> None:
        key = COLUMNS[column].sort
        # The header moved its arrow itself on the click; the model's order says where it belongs.
        self.show_sort()
        if key is not None:
            self.sort_clicked.emit(key)
