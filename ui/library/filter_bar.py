"""The asset grid's filter bar: search, jump, sort and its direction, the filters that narrow the
assets (kind, tag, rating, label, review status), the count, the tile size and the details switch.

The bar only shows the filters; ``AssetGrid`` turns them into an ``AssetQuery`` and reacts to their
signals, so choosing a filter here sends exactly one query.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.catalog.records import MAX_RATING, AssetQuery, SortKey
from core.media.kinds import AssetKind
from ui.common import theme
from ui.common.formatting import KIND_PLURALS
from ui.library.curation import add_label_items
from ui.library.jump import JUMP_HINTS

MIN_TILE, MAX_TILE = 64, 512
SORTS: dict[str, SortKey] = {
    "Relevance": SortKey.RELEVANCE,
    "Name": SortKey.NAME,
    "Date added": SortKey.CREATED,
    "Size": SortKey.SIZE,
    "Kind": SortKey.KIND,
    "Rating": SortKey.RATING,
}
# The direction a key starts in when chosen: newest and largest first, as artists look for them.
STARTS_DESCENDING = {SortKey.CREATED, SortKey.SIZE, SortKey.RATING}
REVIEW_FILTERS = {"Pending": "pending", "Approved": "approved", "Changes requested": "changes_requested"}


class AssetFilterBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GridToolbar")
        self.search_box = QLineEdit()
        self.search_box.setObjectName("SearchBox")
        self.search_box.setPlaceholderText("Search names, paths, tags…  (Ctrl+F)")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.addAction(theme.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        # Made before the sort widgets (choosing a sort sets its hint and shows it) and parented at once, so
        # being shown before it is laid out never opens it as a window of its own.
        self.jump_box = QLineEdit(self)
        self.jump_box.setObjectName("JumpBox")
        self.jump_box.setClearButtonEnabled(True)
        self.jump_box.setMaximumWidth(170)
        self.jump_box.setMinimumWidth(16)  # gives way first in a narrow window: the filters matter more
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("All kinds", None)
        for kind in AssetKind:
            self.kind_combo.addItem(theme.kind_icon(str(kind)), KIND_PLURALS[kind], str(kind))
        self.tag_combo = QComboBox()
        self.tag_combo.addItem("Any tag", None)
        self.rating_combo = QComboBox()
        self.rating_combo.addItem("Any rating", None)
        for rating in range(1, MAX_RATING):
            self.rating_combo.addItem(f"≥{rating}★", rating)
        self.rating_combo.addItem(f"{MAX_RATING}★", MAX_RATING)
        self.label_combo = QComboBox()
        self.label_combo.addItem("Any label", None)
        add_label_items(self.label_combo)
        # The team's verdicts live in the sync store, not the catalog: whoever knows them hands the grid
        # a content hash -> status map (``set_review_statuses``), which shows the combo.
        self.review_combo = QComboBox()
        self.review_combo.addItem("Any review status", None)
        for text, status in REVIEW_FILTERS.items():
            self.review_combo.addItem(text, status)
        self.review_combo.setToolTip("Review status: the team's sign-off of shared assets")
        self.review_combo.setVisible(False)
        self.save_search_button = QToolButton()
        self.save_search_button.setObjectName("Flat")
        # An icon: the bar is full, and the saved search shows up in the sidebar, which explains it.
        self.save_search_button.setIcon(theme.icon("add"))
        self.save_search_button.setToolTip("Save search… (these filters and this order, in the sidebar)")
        self.sort_combo = QComboBox()
        for label, key in SORTS.items():
            self.sort_combo.addItem(label, key)
        self.sort_combo.setCurrentIndex(self.sort_combo.findData(SortKey.NAME))
        self.reverse_button = QToolButton()
        self.reverse_button.setObjectName("SortDirection")
        self.reverse_button.setCheckable(True)
        self.reverse_button.toggled.connect(self._show_direction)
        self._show_direction(False)
        self.filter_combos = (
            self.kind_combo,
            self.tag_combo,
            self.rating_combo,
            self.label_combo,
            self.review_combo,
        )
        for combo in (self.kind_combo, self.tag_combo, self.review_combo):
            # Long tag names must not force a wide window: combos shrink and elide.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(4)
        for combo in (self.rating_combo, self.label_combo):
            # Short, fixed items: shown whole when there is room, yet they give way in a narrow window.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumWidth(56)
        self.search_box.setMinimumWidth(120)  # the filters give way before the search box does
        self.count_label = QLabel()
        self.count_label.setObjectName("Dim")
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(MIN_TILE, MAX_TILE)
        self.size_slider.setMinimumWidth(70)
        self.size_slider.setMaximumWidth(130)
        self.size_slider.setToolTip("Thumbnail size (Ctrl+= / Ctrl+-)")
        self.details_button = QToolButton()
        self.details_button.setObjectName("Flat")
        self.details_button.setCheckable(True)
        self.details_button.setText("Details")
        self.details_button.setToolTip("Show the assets as a table of details (click again for the grid)")
        # Two rows: what to look for and how to show it on top, the filters that narrow it below (one
        # row squeezed every combo to a few letters in a window of ordinary width).
        rows = QVBoxLayout(self)
        rows.setContentsMargins(10, 7, 10, 7)
        rows.setSpacing(6)
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.search_box, 2)
        sort_label = QLabel("Sort")
        sort_label.setObjectName("Dim")
        row.addWidget(sort_label)
        row.addWidget(self.sort_combo)
        row.addWidget(self.reverse_button)
        row.addWidget(self.save_search_button)
        row.addWidget(self.jump_box)
        row.addStretch(1)
        row.addWidget(self.count_label)
        row.addSpacing(8)
        row.addWidget(self.size_slider)
        row.addWidget(self.details_button)
        filters = QHBoxLayout()
        filters.setSpacing(8)
        for combo in self.filter_combos:
            filters.addWidget(combo)
        filters.addStretch(1)
        rows.addLayout(row)
        rows.addLayout(filters)

    def set_tags(self, tags: list[tuple[str, int]]) -> None:
        """Refill the tag filter, keeping the chosen tag when it still exists."""
        current = self.tag_combo.currentData()
        self.tag_combo.blockSignals(True)
        self.tag_combo.clear()
        self.tag_combo.addItem("Any tag", None)
        for name, count in tags:
            self.tag_combo.addItem(f"{name}  ({count:,})", name)
        index = self.tag_combo.findData(current)
        self.tag_combo.setCurrentIndex(max(0, index))
        self.tag_combo.blockSignals(False)

    def show_filters(self, query: AssetQuery) -> None:
        """Show a saved search's filters, search text and order without emitting: the grid then sends
        one query."""
        choose(self.kind_combo, query.kind)
        choose(self.tag_combo, query.tag)
        choose(self.rating_combo, query.min_rating)
        choose(self.label_combo, query.label)
        choose(self.review_combo, None)  # a saved search keeps no review status (a sync-side snapshot)
        self.search_box.blockSignals(True)
        self.search_box.setText(query.search)
        self.search_box.blockSignals(False)
        self.show_sort(query.sort, query.descending)

    def show_sort(self, key: SortKey, descending: bool | None = None) -> None:
        """Show ``key`` in its natural direction (or ``descending``) without emitting: the grid then
        sends one query."""
        for widget in (self.sort_combo, self.reverse_button):
            widget.blockSignals(True)
        self.sort_combo.setCurrentIndex(self.sort_combo.findData(key))
        self.reverse_button.setChecked(key in STARTS_DESCENDING if descending is None else descending)
        self._show_direction(self.reverse_button.isChecked())
        for widget in (self.sort_combo, self.reverse_button):
            widget.blockSignals(False)

    def _show_direction(self, descending: bool) -> None:
        key = self.sort_combo.currentData()
        if key == SortKey.RELEVANCE:
            words = ("best matches first", "best matches last")
        elif key in (SortKey.NAME, SortKey.KIND):
            words = ("A to Z", "Z to A")
        elif key == SortKey.CREATED:
            words = ("oldest first", "newest first")
        elif key == SortKey.RATING:
            words = ("lowest rated first", "highest rated first")
        else:
            words = ("smallest first", "largest first")
        self.jump_box.setPlaceholderText(JUMP_HINTS.get(key, ""))
        self.jump_box.setVisible(key in JUMP_HINTS)  # a relevance order has no value to jump to
        self.reverse_button.setText("↓" if descending else "↑")
        self.reverse_button.setToolTip(f"Order: {words[descending]} (click to reverse)")


def choose(combo: QComboBox, value: object) -> None:
    """Select ``value`` without emitting; a tag the combo does not list yet is added (a collection's)."""
    combo.blockSignals(True)
    index = combo.findData(value)
    if index < 0 and value is not None:
        combo.addItem(str(value), value)
        index = combo.count() - 1
    combo.setCurrentIndex(max(0, index))
    combo.blockSignals(False)
