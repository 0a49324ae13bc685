"""The grid's list view: a wrapping ``QListView`` whose repaint for changed rows costs what it shows.

``QListView::dataChanged`` lays out every row again (a wrapping list recomputes its flow whenever an
item's data changes, in case its size did): at 1,000,000 rows that is ~1.5-2 s for each page or batch of
thumbnails arriving. Here a tile's size never follows its data: every cell is the grid size the window
sets from the tile-size slider, which asks for its own layout when it changes. So changed rows take
the base item view's path: repaint what is visible, no layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QAbstractItemView, QListView

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PySide6.QtCore import QModelIndex, QPersistentModelIndex


class TileListView(QListView):
    def dataChanged(
        self,
        top_left: QModelIndex | QPersistentModelIndex,
        bottom_right: QModelIndex | QPersistentModelIndex,
        roles: Sequence[int] = (),
    ) -> None:
        QAbstractItemView.dataChanged(self, top_left, bottom_right, list(roles))
