"""The centre panel: the filter bar (search, kind, tag, rating, label, review status, sort, tile size;
``filter_bar.py``) over the lazily paged asset grid or its details table (one model, a switch in the
bar). Keys 0-5 rate the selection."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListView,
    QStackedLayout,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qdebounced

from core.catalog.records import MAX_RATING, AssetQuery, SortKey
from core.media.kinds import AssetKind
from ui.library.asset_delegate import PADDING, AssetDelegate
from ui.library.asset_table import AssetTable
from ui.library.filter_bar import MAX_TILE, MIN_TILE, AssetFilterBar, choose
from ui.library.jump import jump_value
from ui.library.selection_memory import SelectionMemory
from ui.library.tile_view import TileListView

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.catalog.records import AssetRecord
    from ui.library.asset_model import AssetListModel
    from ui.library.filmstrip import FilmstripCache

DEFAULT_TILE = 176
SEARCH_DEBOUNCE_MS = 150
RATING_KEYS = {getattr(Qt.Key, f"Key_{n}"): n for n in range(MAX_RATING + 1)}


class AssetGrid(QWidget):
    query_changed = Signal(object)  # AssetQuery
    selection_changed = Signal(object)  # list[AssetRecord]
    open_requested = Signal(object)  # AssetRecord
    tile_size_changed = Signal(int)
    context_menu_requested = Signal(object, object)  # list[AssetRecord], QPoint (global)
    rating_keyed = Signal(object, int)  # list[AssetRecord] (the selection), stars 0-5
    save_search_requested = Signal(object)  # AssetQuery: the filters shown now

    def __init__(
        self,
        model: AssetListModel,
        parent: QWidget | None = None,
        *,
        filmstrips: FilmstripCache | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("GridPanel")
        self.model = model
        self.filmstrips = filmstrips
        self._project_id: int | None = None
        self._recent_days: float | None = None
        self._reviews: Mapping[str, str] = MappingProxyType({})
        self._selected = SelectionMemory(model)

        self._sort_before_search = SortKey.NAME
        bar = self.filter_bar = AssetFilterBar()
        bar.search_box.textChanged.connect(self._search_typed)
        bar.jump_box.returnPressed.connect(lambda: self.jump_to(bar.jump_box.text()))
        bar.save_search_button.clicked.connect(lambda: self.save_search_requested.emit(self.current_query()))
        bar.sort_combo.currentIndexChanged.connect(self._sort_chosen)
        bar.reverse_button.toggled.connect(self._emit_query)
        for combo in bar.filter_combos:
            combo.currentIndexChanged.connect(self._emit_query)
        bar.size_slider.valueChanged.connect(self._apply_tile_size)
        bar.details_button.toggled.connect(self.set_details)

        # Made before the grid: the grid's event filter, live from its install on, checks the table too.
        self.table = AssetTable(model, self)
        self.table.sort_clicked.connect(self._sort_clicked)
        self.table.selectionModel().selectionChanged.connect(
            lambda selected, deselected: self._selection_edited(self.table, selected, deselected)
        )
        self.table.activated.connect(self._on_activated)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.installEventFilter(self)  # the rating keys, as on the grid
        self.delegate = AssetDelegate(self, DEFAULT_TILE)
        # Parented now: added to the not-yet-installed stack below, a parentless view stayed owned by
        # Python as well as by this widget, and at interpreter exit PySide destroyed it on its own while
        # this widget's event filter (on its viewport) was still live: a crash on quit.
        self.view = TileListView(self)
        self.view.setObjectName("AssetGrid")
        # A wrapping list, not icon mode: the delegate paints the whole tile either way, and icon mode
        # keeps an item object per row (1M rows: twice the layout time and memory of a flow position each).
        self.view.setFlow(QListView.Flow.LeftToRight)
        self.view.setWrapping(True)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setUniformItemSizes(True)
        # One pass: with uniform tiles it is arithmetic per row, and a jump needs row 500,000 placed now.
        self.view.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.view.setSpacing(4)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.verticalScrollBar().setSingleStep(24)
        # Assets drag out as files (the model's mimeData); drops belong to the main window (ingest).
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(False)
        self.view.viewport().setAcceptDrops(False)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.view.setMouseTracking(True)
        self.view.setItemDelegate(self.delegate)
        self.delegate.filmstrips = filmstrips
        if filmstrips is not None:
            filmstrips.ready.connect(self._on_filmstrip_ready)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_context_menu)
        self.view.viewport().installEventFilter(self)
        self.view.installEventFilter(self)  # the rating keys, before the view's type-to-find takes them
        self.view.setModel(model)
        self.view.selectionModel().selectionChanged.connect(
            lambda selected, deselected: self._selection_edited(self.view, selected, deselected)
        )
        self.view.activated.connect(self._on_activated)
        model.modelReset.connect(self._emit_selection)
        model.total_changed.connect(self._update_count)
        model.modelReset.connect(self._update_empty)

        self.empty_label = QLabel()
        self.empty_label.setObjectName("EmptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.view)
        self._stack.addWidget(self.table)
        self._stack.addWidget(self.empty_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addLayout(self._stack, 1)
        self.filter_bar.size_slider.setValue(DEFAULT_TILE)
        self._apply_tile_size(DEFAULT_TILE)

    # ---- query -----------------------------------------------------------------------------------

    def current_query(self) -> AssetQuery:
        bar = self.filter_bar
        return AssetQuery(
            project_id=self._project_id,
            kind=bar.kind_combo.currentData(),
            tag=bar.tag_combo.currentData(),
            search=bar.search_box.text().strip(),
            sort=bar.sort_combo.currentData(),
            descending=bar.reverse_button.isChecked(),
            recent_days=self._recent_days,
            min_rating=bar.rating_combo.currentData(),
            label=bar.label_combo.currentData(),
            content_hashes=self._reviewed_hashes(),
        )

    def _reviewed_hashes(self) -> frozenset[str] | None:
        status = self.filter_bar.review_combo.currentData()
        if status is None:
            return None
        return frozenset(h for h, s in self._reviews.items() if s == status)

    def set_review_statuses(self, statuses: Mapping[str, str] | None) -> None:
        """The project's review statuses (content hash -> status) for the tiles and the status filter;
        None when the project is not shared, which hides the filter."""
        shared = statuses is not None
        review_combo = self.filter_bar.review_combo
        self._reviews = MappingProxyType(dict(statuses or {}))
        self.model.set_review_statuses(self._reviews)
        if not shared and review_combo.currentData() is not None:
            choose(review_combo, None)
            self._emit_query()
        review_combo.setVisible(shared)
        if review_combo.currentData() is not None and self.model.query != self.current_query():
            self._emit_query()  # the filtered assets changed status

    def set_project(self, project_id: int | None, tags: list[tuple[str, int]]) -> None:
        self._project_id = project_id
        self.filter_bar.set_tags(tags)
        self._emit_query()

    def apply_collection(self, kind: str | None, tag: str | None, recent_days: float | None) -> None:
        """A sidebar collection sets the filters in one go (one query, not three)."""
        choose(self.filter_bar.kind_combo, kind)
        choose(self.filter_bar.tag_combo, tag)
        self._recent_days = recent_days
        self._emit_query()

    def apply_query(self, query: AssetQuery) -> None:
        """Show a saved search: every filter, the search text and the order, as one query."""
        if query == self.current_query():
            return
        self._sort_before_search = SortKey.NAME if query.sort == SortKey.RELEVANCE else query.sort
        self.filter_bar.show_filters(query)
        self._recent_days = None
        self._emit_query()

    def _emit_query(self) -> None:
        query = self.current_query()
        if self._project_id is None:
            self.model.set_query(AssetQuery(project_id=-1))  # no project: an empty grid, not everything
        else:
            self.model.set_query(query)
        self.query_changed.emit(query)

    @qdebounced(timeout=SEARCH_DEBOUNCE_MS)
    def _search_typed(self) -> None:
        # A search starts in relevance order; clearing it returns to the order chosen before.
        searching = bool(self.filter_bar.search_box.text().strip())
        current = self.filter_bar.sort_combo.currentData()
        if searching and current != SortKey.RELEVANCE and not self.model.query.search:
            self._sort_before_search = current
            self.filter_bar.show_sort(SortKey.RELEVANCE)
        elif not searching and current == SortKey.RELEVANCE:
            self.filter_bar.show_sort(self._sort_before_search)
        self._emit_query()

    def set_sort(self, key: SortKey, *, descending: bool | None = None) -> None:
        """Order the grid by ``key``; its natural direction unless ``descending`` says otherwise."""
        self.filter_bar.show_sort(key, descending)
        self._emit_query()

    def _sort_chosen(self) -> None:
        self.filter_bar.show_sort(self.filter_bar.sort_combo.currentData())
        self._emit_query()

    def _sort_clicked(self, key: SortKey) -> None:
        same = key == self.filter_bar.sort_combo.currentData()
        self.set_sort(key, descending=not self.filter_bar.reverse_button.isChecked() if same else None)

    def jump_to(self, text: str) -> bool:
        """Show and select the first asset at ``text`` in the current order (a letter, a date, …)."""
        query = self.model.query
        value = jump_value(query.sort, text, descending=query.descending)
        if value is None or not self.model.rowCount():
            return False
        row = self.model.row_of_value(value)
        self.select_row(row)
        self.active_view.scrollTo(self.active_view.currentIndex(), QAbstractItemView.ScrollHint.PositionAtTop)
        return True

    def _update_count(self, total: int) -> None:
        self.filter_bar.count_label.setText(f"{total:,} asset{'s' if total != 1 else ''}")
        self._update_empty()

    def _update_empty(self) -> None:
        if self.model.rowCount():
            self._stack.setCurrentWidget(self.active_view)
            return
        query = self.current_query()
        if self._project_id is None:
            text = "Create a project (Ctrl+N), then drop files or folders anywhere in this window."
        elif query.kind or query.narrowed:
            text = "No assets match these filters."
        else:
            text = "This project is empty.\nDrop files or folders anywhere in this window, or press Ctrl+I."
        self.empty_label.setText(text)
        self._stack.setCurrentWidget(self.empty_label)

    # ---- grid or details -------------------------------------------------------------------------

    @property
    def details_shown(self) -> bool:
        return self.filter_bar.details_button.isChecked()

    @property
    def active_view(self) -> QAbstractItemView:
        return self.table if self.details_shown else self.view

    def set_details(self, shown: bool) -> None:
        """Show the details table (or the grid), keeping the selection and the current asset."""
        if self.filter_bar.details_button.isChecked() != shown:
            self.filter_bar.details_button.setChecked(shown)  # toggled calls back here
            return
        before, after = (self.view, self.table) if shown else (self.table, self.view)
        rows = self._selected_rows(before)
        current = before.currentIndex()
        selection = QItemSelection()
        for row in rows:
            selection.select(after.model().index(row, 0), after.model().index(row, 0))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        after.selectionModel().select(selection, flags)
        if current.isValid():
            after.selectionModel().setCurrentIndex(
                after.model().index(current.row(), 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )
            after.scrollTo(after.currentIndex())
        self._update_empty()
        after.setFocus()

    # ---- tiles and selection ---------------------------------------------------------------------

    @property
    def tile_size(self) -> int:
        return self.delegate.tile_size

    def set_tile_size(self, size: int) -> None:
        self.filter_bar.size_slider.setValue(max(MIN_TILE, min(MAX_TILE, size)))

    def step_tile_size(self, direction: int) -> None:
        self.set_tile_size(int(self.tile_size * (1.25 if direction > 0 else 0.8)))

    def _apply_tile_size(self, size: int) -> None:
        self.delegate.set_tile_size(size)
        self.model.set_thumbnail_size(size)
        self._fit_columns()
        self.view.setIconSize(QSize(size + 2 * PADDING, size))
        self.view.scheduleDelayedItemsLayout()
        self.tile_size_changed.emit(size)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched in (self.view, self.table)
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
        ):
            rating = RATING_KEYS.get(Qt.Key(event.key()))
            plain = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier == Qt.KeyboardModifier.NoModifier
            if rating is not None and plain and (records := self.selected_records()):
                self.rating_keyed.emit(records, rating)
                return True
        if watched is self.view.viewport():
            if event.type() == QEvent.Type.Resize:
                self._fit_columns()
            elif event.type() == QEvent.Type.MouseMove and isinstance(event, QMouseEvent):
                self.scrub_at(event.position().toPoint())
            elif event.type() == QEvent.Type.Leave:
                self._set_scrub(None)
        return False

    # ---- hover-scrub -----------------------------------------------------------------------------

    def scrub_at(self, pos: QPoint) -> None:
        """The mouse moved over the viewport: a video tile with a filmstrip shows the frame under x."""
        if self.filmstrips is None:
            return
        index = self.view.indexAt(pos)
        record = self.model.record_at(index.row()) if index.isValid() else None
        if record is None or record.kind != AssetKind.VIDEO or self.filmstrips.request(record) is None:
            self._set_scrub(None)
            return
        thumb_left = self.view.visualRect(index).x() + PADDING
        fraction = max(0.0, min(1.0, (pos.x() - thumb_left) / max(1, self.tile_size)))
        self._set_scrub((record.id, fraction))

    def _set_scrub(self, scrub: tuple[int, float] | None) -> None:
        previous = self.delegate.scrub
        if previous == scrub:
            return
        self.delegate.scrub = scrub
        for state in (previous, scrub):
            if state is not None:
                self._update_tile(state[0])

    def _update_tile(self, asset_id: int) -> None:
        row = self.model.row_of(asset_id)
        if row is not None:
            self.view.viewport().update(self.view.visualRect(self.model.index(row)))

    def _on_filmstrip_ready(self, asset_id: int) -> None:
        if self.delegate.scrub is not None and self.delegate.scrub[0] == asset_id:
            self._update_tile(asset_id)

    def _on_context_menu(self, pos: QPoint) -> None:
        view = self.active_view
        index = view.indexAt(pos)
        if not index.isValid():
            return
        if not view.selectionModel().isSelected(index):
            self.select_row(index.row())
        records = self.selected_records()
        if records:
            self.context_menu_requested.emit(records, view.viewport().mapToGlobal(pos))

    def _fit_columns(self) -> None:
        """Spread the columns over the full width so no ragged gap is left at the right edge."""
        tile = self.delegate.sizeHint(QStyleOptionViewItem(), QModelIndex())
        spacing = self.view.spacing()
        width = self.view.viewport().width() - 2 * spacing
        columns = max(1, width // (tile.width() + 2 * spacing))
        cell = QSize(max(tile.width() + 2 * spacing, width // columns), tile.height() + 2 * spacing)
        if self.view.gridSize() != cell:
            self.view.setGridSize(cell)

    def selected_records(self) -> list[AssetRecord]:
        return self._selected.records(self._selected_rows(self.active_view))

    def _selection_edited(
        self, view: QAbstractItemView, selected: QItemSelection, deselected: QItemSelection
    ) -> None:
        if view is not self.active_view:
            return  # the hidden view's selection is rewritten from this one when it is shown
        self._selected.edit(selected, deselected)
        self._emit_selection()

    @staticmethod
    def _selected_rows(view: QAbstractItemView) -> list[int]:
        # A table row is selected once per column: rows, not indexes, are the assets.
        return sorted({i.row() for i in view.selectionModel().selectedIndexes()})

    def current_record(self) -> AssetRecord | None:
        index = self.active_view.currentIndex()
        return self.model.record_at(index.row()) if index.isValid() else None

    def select_row(self, row: int) -> None:
        view = self.active_view
        index = view.model().index(row, 0)
        if not index.isValid():
            return
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        view.selectionModel().setCurrentIndex(index, flags)
        view.scrollTo(index)

    def select_asset(self, asset_id: int) -> bool:
        """Select an asset wherever it is in the view (its page is loaded by its row)."""
        row = self.model.locate(asset_id)
        if row is None:
            return False
        self.select_row(row)
        return True

    def _emit_selection(self) -> None:
        self.selection_changed.emit(self.selected_records())

    def _on_activated(self, index: QModelIndex) -> None:
        record = self.model.record_at(index.row())
        if record is not None:
            self.open_requested.emit(record)
