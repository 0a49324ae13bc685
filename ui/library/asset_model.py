"""The grid's model: a window of pages onto the catalog, loaded around the rows the view shows.

``rowCount`` is the whole view (``count_assets``), so the scrollbar is honest, but only ``window_pages``
pages of records are held: a page is loaded when a row of it is painted and the pages farthest from the
latest request are dropped, so scrolling through 1,000,000 assets holds a few thousand records.
``data()`` only looks up: a row whose page is not loaded answers a placeholder and asks for its page,
and the asks are debounced, so a fast scroll loads where it stops, not every page it passed. A page
right after a loaded one continues it by keyset; any other page, or a jump, seeks by row
(``Catalog.page_at``) or by sort value (``Catalog.count_before``). Thumbnail arrivals and record
changes are coalesced into a few ``dataChanged`` ranges per short timer tick.
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

from core.catalog.queries import RECORD_FIELDS, sort_columns
from core.catalog.records import AssetQuery, SortKey
from ui.library.drag import URI_LIST, asset_mime_data

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from ui.library.thumbnail_cache import ThumbnailCache

log = logging.getLogger(__name__)

PAGE_SIZE = 200
# Pages held at most: 3,200 records, more than the smallest tiles fill on a 4K screen (so no visible page
# is ever dropped) and a few MB, where keeping every row seen cost 227 MB by row 100,000.
WINDOW_PAGES = 16
COALESCE_MS = 40
FETCH_DEBOUNCE_MS = 30
PLACEHOLDER_TEXT = "…"

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
        window_pages: int = WINDOW_PAGES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._thumbnails = thumbnails
        self._page_size = page_size
        self._window_pages = window_pages
        self._query = AssetQuery()
        self._pages: dict[int, list[AssetRecord]] = {}  # page number -> its records, rows page*size...
        self._row_of_id: dict[int, int] = {}
        self._rows_of_hash: dict[str, list[int]] = {}
        self._reviews: Mapping[str, str] = {}
        self._total = 0
        self._wanted: dict[int, None] = {}  # pages asked for by data(), oldest first
        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(FETCH_DEBOUNCE_MS)
        self._fetch_timer.timeout.connect(self._fetch_wanted)
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

    @property
    def loaded_pages(self) -> list[int]:
        return sorted(self._pages)

    def set_query(self, query: AssetQuery) -> None:
        """Show another view; loads its first page only."""
        self._query = query
        self._reload([0])

    def refresh(self) -> None:
        """Re-read the current view (after ingest or deletes), reloading the pages that were loaded."""
        self._reload(sorted(self._pages) or [0])

    def _reload(self, pages: list[int]) -> None:
        self.beginResetModel()
        self._dirty_rows.clear()
        self._wanted.clear()
        self._pages = {}
        self._total = self._catalog.count_assets(self._query)
        for page in pages:
            self._load_page(page)
        self._reindex()
        self.endResetModel()
        self.total_changed.emit(self._total)

    def load_row(self, row: int) -> AssetRecord | None:
        """The record at ``row``, loading its page now if needed: for a jump or a step, never data()."""
        if not 0 <= row < self._total:
            return None
        page = row // self._page_size
        if page not in self._pages:
            self._load_pages([page], focus=page)
        return self.record_at(row)

    def row_of_value(self, value: object) -> int:
        """The row of the first asset at or past ``value`` of the order's leading column (a jump),
        loaded; the last row when every asset comes before it."""
        row = min(self._catalog.count_before(self._query, [value]), self._total - 1)
        self.load_row(row)
        return row

    def locate(self, asset_id: int) -> int | None:
        """The row of an asset in this view, loading its page; None when the view does not show it."""
        if (row := self._row_of_id.get(asset_id)) is not None:
            return row
        record = self._catalog.get_asset(asset_id)
        if record is None or self._query.sort == SortKey.RELEVANCE:
            return None  # relevance has no sort key to count by
        key = [getattr(record, RECORD_FIELDS[c.name]) for c in sort_columns(self._query)]
        self.load_row(self._catalog.count_before(self._query, key))
        return self._row_of_id.get(asset_id)

    def _request(self, page: int) -> None:
        if page in self._wanted:
            return  # a repaint of the same rows must not push the fetch back (an animation would starve it)
        self._wanted[page] = None
        self._fetch_timer.start()  # restarted by each new page: a scroll loads where it stops

    def _fetch_wanted(self) -> None:
        # The latest asks are what the view shows now; older ones were pages scrolled past.
        wanted = list(self._wanted)[-self._window_pages :]
        self._wanted.clear()
        if wanted:
            self._load_pages(wanted, focus=wanted[-1])

    def _load_pages(self, pages: list[int], *, focus: int) -> None:
        loaded = [page for page in pages if page not in self._pages and self._load_page(page)]
        # Drop the pages farthest from the view; the view never shows them without asking again.
        for page in sorted(self._pages, key=lambda p: abs(p - focus))[self._window_pages :]:
            del self._pages[page]
        self._reindex()
        for page in loaded:
            if page in self._pages:
                first = page * self._page_size
                self.dataChanged.emit(self.index(first), self.index(first + len(self._pages[page]) - 1))

    def _load_page(self, page: int) -> bool:
        first = page * self._page_size
        if not 0 <= first < self._total:
            return False
        previous = self._pages.get(page - 1)
        if page == 0 or (previous is not None and len(previous) == self._page_size):
            # Continuing a loaded page by keyset reads only this page, at any depth.
            after = previous[-1] if previous else None
            records = self._catalog.page_assets(self._query, after, self._page_size)
        else:
            records = self._catalog.page_at(self._query, first, self._page_size)
        self._pages[page] = records
        return bool(records)

    # ---- reading ---------------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._total

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self.record_at(index.row())
        if record is None:
            if index.row() // self._page_size not in self._pages and index.row() < self._total:
                self._request(index.row() // self._page_size)
            return PLACEHOLDER_TEXT if role == Qt.ItemDataRole.DisplayRole else None
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
        return asset_mime_data([r for row in rows if (r := self.record_at(row)) is not None])

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def record_at(self, row: int) -> AssetRecord | None:
        """The record at ``row`` if its page is loaded (a lookup; loads nothing)."""
        page = self._pages.get(row // self._page_size) if row >= 0 else None
        offset = row % self._page_size
        return page[offset] if page is not None and offset < len(page) else None

    def row_of(self, asset_id: int) -> int | None:
        return self._row_of_id.get(asset_id)

    def records(self) -> list[AssetRecord]:
        """The loaded records in row order: the whole view when it fits in the window of pages."""
        return [record for _, record in self.loaded_records(0, self._total)]

    def loaded_records(self, first: int, last: int) -> Iterator[tuple[int, AssetRecord]]:
        """(row, record) for the loaded rows from ``first`` to ``last``, walking loaded pages only."""
        for page, records in sorted(self._pages.items()):
            start = page * self._page_size
            for offset in range(max(first - start, 0), min(last - start + 1, len(records))):
                yield start + offset, records[offset]

    # ---- updates ---------------------------------------------------------------------------------

    def update_assets(self, records: Iterable[AssetRecord]) -> None:
        """Replace loaded records (a job changed their thumbnail/status/tags); repaint is batched."""
        for record in records:
            row = self._row_of_id.get(record.id)
            if row is None:
                continue
            page = self._pages[row // self._page_size]
            old, page[row % self._page_size] = page[row % self._page_size], record
            if old.content_hash != record.content_hash:
                self._reindex()
            self._dirty_rows.add(row)
        if self._dirty_rows and not self._flush_timer.isActive():
            self._flush_timer.start()

    def remove_assets(self, asset_ids: Iterable[int]) -> None:
        """Assets were deleted: their loaded rows go (the view keeps its place and selection), then the
        pages that were held are reread, as every row after a removed one moved up."""
        rows = sorted({r for i in asset_ids if (r := self._row_of_id.get(i)) is not None})
        for start, end in _ranges_descending(rows):
            self.beginRemoveRows(QModelIndex(), start, end)
            self._total -= end - start + 1
            self.endRemoveRows()
        pages, self._pages = sorted(self._pages), {}
        self._dirty_rows.clear()
        # Removed assets the window did not hold are not placeable any more: their rows come off the end.
        total = self._catalog.count_assets(self._query)
        if total < self._total:
            self.beginRemoveRows(QModelIndex(), total, self._total - 1)
            self._total = total
            self.endRemoveRows()
        if pages:
            self._load_pages(pages, focus=pages[len(pages) // 2])
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
        if self._row_of_id:
            self._dirty_rows.update(self._row_of_id.values())
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
        rows = sorted(r for r in self._dirty_rows if r < self._total)
        self._dirty_rows.clear()
        # Contiguous runs become one dataChanged each: a page of thumbnails arriving is one signal.
        for start, end in _ranges_ascending(rows):
            self.dataChanged.emit(self.index(start), self.index(end))

    def _reindex(self) -> None:
        self._row_of_id = {}
        self._rows_of_hash = {}
        for row, record in self.loaded_records(0, self._total):
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
