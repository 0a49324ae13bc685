"""The selected assets' records, kept while the model drops the pages they were on.

The model holds only the pages near the view; a selection scrolled far away is still the selection the
actions (rate, delete, export) work on, so each selected row's record is taken when it is selected and
kept until it is deselected, the view is reset, or the row moves (a removal above it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from PySide6.QtCore import QItemSelection

    from core.catalog.records import AssetRecord
    from ui.library.asset_model import AssetListModel


class SelectionMemory:
    def __init__(self, model: AssetListModel) -> None:
        self._model = model
        self._records: dict[int, AssetRecord] = {}  # row -> record
        model.modelReset.connect(self._forget)
        model.rowsRemoved.connect(lambda _parent, first, last: self._rows_removed(first, last))

    def records(self, rows: Iterable[int]) -> list[AssetRecord]:
        """The records of ``rows``: loaded ones fresh from the model, dropped ones as remembered."""
        return [r for row in rows if (r := self._model.record_at(row) or self._records.get(row)) is not None]

    def edit(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        for span in (deselected.at(n) for n in range(deselected.count())):
            for row in [r for r in self._records if span.top() <= r <= span.bottom()]:
                del self._records[row]
        for span in (selected.at(n) for n in range(selected.count())):
            self._records.update(self._model.loaded_records(span.top(), span.bottom()))

    def _forget(self) -> None:
        # A method, not ``dict.clear`` itself: PySide mis-counts None returned by a builtin slot.
        self._records = {}

    def _rows_removed(self, first: int, last: int) -> None:
        removed = last - first + 1
        self._records = {
            row - removed if row > last else row: record
            for row, record in self._records.items()
            if not first <= row <= last
        }
