"""The grid's model: a window onto ``Catalog.page_assets`` that loads pages as the view scrolls.

Keyset paging: each ``fetchMore`` asks for the next page strictly after the last loaded record, so
scrolling to row 500,000 costs the same as row 200. ``data()`` only reads loaded records and asks the
thumbnail cache (a dict lookup); thumbnail arrivals and record changes are coalesced into a few
``dataChanged`` ranges per short timer tick instead of one signal per asset.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from core.catalog.records import AssetQuery
from ui.library.drag import URI_LIST, asset_mime_data

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from ui.library.thumbnail_cache import ThumbnailCache

log = logging.getLogger(__name__)

PAGE_SIZE = 200
COALESCE_MS = 40

AnyIndex = QModelIndex | QPersistentModelIndex


class AssetRole(IntEnum):
    Record = Qt.ItemDataRole.UserRole + 1
    Thumbnail = Qt.ItemDataRole.UserRole + 2
    Kind = Qt.ItemDataRole.UserRole + 3
    Status = Qt.ItemDataRole.UserRole + 4
    AssetId = Qt.ItemDataRole.UserRole + 5
    ThumbnailFailed = Qt.ItemDataRole.UserRole + 6
    Rating = Qt.ItemDataRole.UserRole + 7  # int, 0 (unrated) to 5
    Label = Qt.ItemDataRole.UserRole + 8  # ColourLabel
    Review = Qt.ItemDataRole.UserRole + 9  # str: the synced review status, None when not reviewed


AssetRecordRole = AssetRole.Record
ThumbnailRole = AssetRole.Thumbnail
KindRole = AssetRole.Kind
StatusRole = AssetRole.Status


class AssetListModel(QAbstractListModel):
    total_changed = Signal(object)  # int: how many assets the current query matches

    def __init__(
        self,
        catalog: Catalog,
        thumbnails: ThumbnailCache,
        *,
        page_size: int = PAGE_SIZE,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._thumbnails = thumbnails
        self._page_size = page_size
        self._query = AssetQuery()
        self._rows: list[AssetRecord] = []
        self._row_of_id: dict[int, int] = {}
        self._rows_of_hash: dict[str, list[int]] = {}
        self._reviews: Mapping[str, str] = {}
        self._exhausted = True
        self._total = 0
        self.thumbnail_size = 256
        self._dirty_rows: set[int] = set()
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(COALESCE_MS)
        self._flush_timer.timeout.connect(self._flush_changes)
        thumbnails.thumbnail_ready.connect(self._on_thumbnail_ready)

    # ---- query and paging ------------------------------------------------------------------------

    @property
    def query(self) -> AssetQuery:
        return self._query

    @property
    def total(self) -> int:
        return self._total

    def set_query(self, query: AssetQuery) -> None:
        """Show another view; loads its first page only."""
        self._query = query
        self._reload(self._page_size)

    def refresh(self) -> None:
        """Re-read the current view (after ingest or deletes), keeping as many rows loaded as before."""
        self._reload(max(self._page_size, len(self._rows)))

    def _reload(self, limit: int) -> None:
        self.beginResetModel()
        self._dirty_rows.clear()
        page = self._catalog.page_assets(self._query, None, limit)
        self._rows = page
        self._exhausted = len(page) < limit
        self._reindex()
        self.endResetModel()
        self._total = self._catalog.count_assets(self._query)
        self.total_changed.emit(self._total)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008 - Qt's signature
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted:
            return
        after = self._rows[-1] if self._rows else None
        page = self._catalog.page_assets(self._query, after, self._page_size)
        self._exhausted = len(page) < self._page_size
        if not page:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(page)
        for offset, record in enumerate(page):
            self._index_row(first + offset, record)
        self.endInsertRows()

    # ---- reading ---------------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        record = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return record.name
        if role == AssetRole.Record:
            return record
        if role in (AssetRole.Thumbnail, Qt.ItemDataRole.DecorationRole):
            return self._thumbnails.get(record, self.thumbnail_size)
        if role == AssetRole.ThumbnailFailed:
            return self._thumbnails.failed(record, self.thumbnail_size)
        if role == AssetRole.Kind:
            return record.kind
        if role == AssetRole.Status:
            return record.status
        if role == AssetRole.AssetId:
            return record.id
        if role == AssetRole.Rating:
            return record.rating
        if role == AssetRole.Label:
            return record.label
        if role == AssetRole.Review:
            return self._reviews.get(record.content_hash)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                record.path if record.status != "failed" else f"{record.path}\n\n{record.error or 'Failed'}"
            )
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        # Drag-enabled so assets can be dragged out as files; the window's ingest drop ignores drags
        # that start in this app, so a drag that ends back on the grid ingests nothing.
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsDragEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def mimeTypes(self) -> list[str]:
        return [URI_LIST, "text/plain"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """The dragged assets' files (a sequence's frames are read from its stored pattern, no disk I/O)."""
        rows = sorted({i.row() for i in indexes if i.isValid()})
        return asset_mime_data([self._rows[row] for row in rows if row < len(self._rows)])

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def record_at(self, row: int) -> AssetRecord | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, asset_id: int) -> int | None:
        return self._row_of_id.get(asset_id)

    def records(self) -> Sequence[AssetRecord]:
        return self._rows

    # ---- updates ---------------------------------------------------------------------------------

    def update_assets(self, records: Iterable[AssetRecord]) -> None:
        """Replace loaded records (a job changed their thumbnail/status/tags); repaint is batched."""
        for record in records:
            row = self._row_of_id.get(record.id)
            if row is None:
                continue
            old = self._rows[row]
            self._rows[row] = record
            if old.content_hash != record.content_hash:
                self._reindex()
            self._dirty_rows.add(row)
        if self._dirty_rows and not self._flush_timer.isActive():
            self._flush_timer.start()

    def remove_assets(self, asset_ids: Iterable[int]) -> None:
        rows = sorted({r for i in asset_ids if (r := self._row_of_id.get(i)) is not None}, reverse=True)
        if not rows:
            return
        for start, end in _ranges_descending(rows):
            self.beginRemoveRows(QModelIndex(), start, end)
            del self._rows[start : end + 1]
            self.endRemoveRows()
        self._dirty_rows.clear()
        self._reindex()
        self._total = max(0, self._total - len(rows))
        self.total_changed.emit(self._total)

    def set_review_statuses(self, statuses: Mapping[str, str]) -> None:
        """Content hash -> review status, computed by whoever knows the synced records; the tiles whose
        status changed repaint (batched)."""
        old, self._reviews = self._reviews, statuses
        changed = {h for h in old.keys() | statuses.keys() if old.get(h) != statuses.get(h)}
        for content_hash in changed:
            self._dirty_rows.update(self._rows_of_hash.get(content_hash, ()))
        if self._dirty_rows and not self._flush_timer.isActive():
            self._flush_timer.start()

    def set_thumbnail_size(self, size: int) -> None:
        self.thumbnail_size = size
        if self._rows:
            self._dirty_rows.update(range(len(self._rows)))
            self._flush_changes()

    def _on_thumbnail_ready(self, content_hash: str) -> None:
        rows = self._rows_of_hash.get(content_hash)
        if not rows:
            return
        self._dirty_rows.update(rows)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush_changes(self) -> None:
        if not self._dirty_rows:
            return
        rows = sorted(r for r in self._dirty_rows if r < len(self._rows))
        self._dirty_rows.clear()
        # Contiguous runs become one dataChanged each: a page of thumbnails arriving is one signal.
        for start, end in _ranges_ascending(rows):
            self.dataChanged.emit(self.index(start), self.index(end))

    def _reindex(self) -> None:
        self._row_of_id = {}
        self._rows_of_hash = {}
        for row, record in enumerate(self._rows):
            self._index_row(row, record)

    def _index_row(self, row: int, record: AssetRecord) -> None:
        self._row_of_id[record.id] = row
        self._rows_of_hash.setdefault(record.content_hash, []).append(row)


def _ranges_ascending(rows: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for row in rows:
        if ranges and row == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], row)
        else:
            ranges.append((row, row))
    return ranges


def _ranges_descending(rows: list[int]) -> list[tuple[int, int]]:
    """Runs of rows from the bottom up, so removing one run leaves the others' numbers valid."""
    return [(s, e) for s, e in reversed(_ranges_ascending(sorted(rows)))]
