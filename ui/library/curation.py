"""The artist's curation in the library: ratings, colour labels, and batch tags/notes on a selection.

``Curator`` is the one write path for these edits, whether they come from the number keys on the grid,
the context menu's Label submenu or the inspector: it writes through the catalog in one transaction and
emits the re-read records, so the grid, the inspector and the counts all update from the same signal.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.catalog.records import MAX_RATING, ColourLabel

if TYPE_CHECKING:
    from collections.abc import Sequence

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord

# Saturated enough to read on a dark tile and on a thumbnail's edge; grey stays distinct from "none".
LABEL_COLOURS: dict[ColourLabel, QColor] = {
    ColourLabel.RED: QColor("#e5484d"),
    ColourLabel.ORANGE: QColor("#f08c2e"),
    ColourLabel.YELLOW: QColor("#f2c94c"),
    ColourLabel.GREEN: QColor("#46a758"),
    ColourLabel.BLUE: QColor("#3e8ef7"),
    ColourLabel.PURPLE: QColor("#8e5cf2"),
    ColourLabel.GREY: QColor("#9a9ca3"),
}


def stars(rating: int) -> str:
    """A rating as the stars a tile shows ("★★★☆☆"); empty for an unrated asset."""
    return "★" * rating + "☆" * (MAX_RATING - rating) if rating else ""


def label_text(label: ColourLabel) -> str:
    return "No label" if label == ColourLabel.NONE else label.value.capitalize()


def add_label_items(combo: QComboBox) -> None:
    """Every colour label as a combo item (data: the ``ColourLabel``) with its colour swatch."""
    for label in ColourLabel:
        combo.addItem(label_text(label), label)
        if label in LABEL_COLOURS:
            combo.setItemData(combo.count() - 1, LABEL_COLOURS[label], Qt.ItemDataRole.DecorationRole)


class Curator(QObject):
    assets_changed = Signal(object)  # list[AssetRecord], re-read after an edit

    def __init__(self, catalog: Catalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._catalog = catalog

    def set_rating(self, records: Sequence[AssetRecord], rating: int) -> None:
        self._catalog.curation.set_rating([r.id for r in records], rating)
        # Only the rating changed: no need to re-read thousands of records (a quarter second per 10,000).
        self._emit([replace(r, rating=rating) for r in records])

    def set_label(self, records: Sequence[AssetRecord], label: ColourLabel) -> None:
        self._catalog.curation.set_label([r.id for r in records], label)
        self._emit([replace(r, label=label) for r in records])

    def add_tags(self, records: Sequence[AssetRecord], names: Sequence[str]) -> None:
        ids = [r.id for r in records]
        self._catalog.curation.add_tags(ids, names)
        self._emit(self._catalog.get_assets(ids))

    def append_note(self, records: Sequence[AssetRecord], note: str) -> None:
        ids = [r.id for r in records]
        self._catalog.curation.append_note(ids, note)
        self._emit(self._catalog.get_assets(ids))

    def _emit(self, records: list[AssetRecord]) -> None:
        if records:
            self.assets_changed.emit(records)


class RatingLabelEditor(QWidget):
    """Rating and label pickers for the inspector; they show the selection's common value, if any."""

    def __init__(self, curator: Curator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._curator = curator
        self._records: list[AssetRecord] = []
        self.rating_combo = QComboBox()
        self.rating_combo.addItem("Unrated", 0)
        for rating in range(1, MAX_RATING + 1):
            self.rating_combo.addItem(stars(rating), rating)
        self.label_combo = QComboBox()
        add_label_items(self.label_combo)
        # Shown when the selected assets differ (the combos then hold no current item).
        self.rating_combo.setPlaceholderText("Mixed ratings")
        self.label_combo.setPlaceholderText("Mixed labels")
        # activated, not currentIndexChanged: showing a selection must never write to it.
        self.rating_combo.activated.connect(lambda _i: self._rate())
        self.label_combo.activated.connect(lambda _i: self._label())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.rating_combo, 1)
        row.addWidget(self.label_combo, 1)

    def set_records(self, records: Sequence[AssetRecord]) -> None:
        self._records = list(records)
        ratings = {r.rating for r in records}
        labels = {r.label for r in records}
        # A mixed selection shows no value rather than the first asset's.
        self.rating_combo.setCurrentIndex(
            self.rating_combo.findData(ratings.pop()) if len(ratings) == 1 else -1
        )
        self.label_combo.setCurrentIndex(self.label_combo.findData(labels.pop()) if len(labels) == 1 else -1)

    def _rate(self) -> None:
        self._curator.set_rating(self._records, int(self.rating_combo.currentData()))

    def _label(self) -> None:
        self._curator.set_label(self._records, ColourLabel(self.label_combo.currentData()))


class BatchEditor(QWidget):
    """For a multi-selection: tags added to, and a note appended to, every selected asset at once."""

    def __init__(self, curator: Curator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._curator = curator
        self._records: list[AssetRecord] = []
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("Add tags to all…  (comma separated)")
        self.tags_edit.returnPressed.connect(self.add_tags)
        self.add_tags_button = QPushButton("Add tags to all")
        self.add_tags_button.clicked.connect(self.add_tags)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setPlaceholderText("Append note to all…")
        self.note_edit.setFixedHeight(72)
        self.append_note_button = QPushButton("Append note to all")
        self.append_note_button.clicked.connect(self.append_note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for widget in (self.tags_edit, self.add_tags_button, self.note_edit, self.append_note_button):
            layout.addWidget(widget)

    def set_records(self, records: Sequence[AssetRecord]) -> None:
        self._records = list(records)

    def add_tags(self) -> None:
        names = [t.strip() for t in self.tags_edit.text().split(",") if t.strip()]
        if names:
            self._curator.add_tags(self._records, names)
            self.tags_edit.clear()

    def append_note(self) -> None:
        note = self.note_edit.toPlainText().strip()
        if note:
            self._curator.append_note(self._records, note)
            self.note_edit.clear()
