"""The grid's view repaints changed tiles without laying out every row again (a 1M-row grid paid
~1.5 s per page of thumbnails arriving) and still shows the changed data."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QObject, QPersistentModelIndex, QSize, Qt
from PySide6.QtWidgets import QListView

from ui.library.tile_view import TileListView

ROWS = 100_000


class Rows(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self.label = "before"

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else ROWS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{self.label} {index.row()}"
        return None


def counting(base: type[QListView]) -> type[QListView]:
    class Counting(base):  # type: ignore[valid-type, misc]
        layouts = 0

        def doItemsLayout(self) -> None:
            type(self).layouts += 1
            super().doItemsLayout()

    return Counting


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def grid(qtbot: Any, view_class: type[QListView], model: Rows) -> QListView:
    view = view_class()
    qtbot.addWidget(view)
    view.setFlow(QListView.Flow.LeftToRight)
    view.setWrapping(True)
    view.setUniformItemSizes(True)
    view.setLayoutMode(QListView.LayoutMode.SinglePass)
    view.setGridSize(QSize(120, 40))
    view.setModel(model)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    view.scrollTo(model.index(ROWS // 2))
    qtbot.wait(50)
    return view


def test_changed_rows_repaint_without_a_layout_of_every_row(qtbot: Any) -> None:
    model = Rows()
    plain_class, tile_class = counting(QListView), counting(TileListView)
    plain, tiles = grid(qtbot, plain_class, model), grid(qtbot, tile_class, model)
    plain_class.layouts = tile_class.layouts = 0
    painted = PaintCounter()
    tiles.viewport().installEventFilter(painted)

    model.label = "after"
    model.dataChanged.emit(model.index(ROWS // 2), model.index(ROWS // 2 + 20))
    qtbot.wait(100)

    assert plain_class.layouts >= 1  # what Qt's list view does: the cost this view avoids
    assert tile_class.layouts == 0
    assert painted.paints >= 1  # the changed tiles were painted again, with the new data
    tiles.viewport().removeEventFilter(painted)
    assert plain.isVisible()
