"""The details view: the same rows as the grid, catalog sorts from header clicks, the grid/table switch
keeping the selection and remembered across restarts. Through the real window over a real catalog."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt

from core.catalog.records import SortKey
from tests.ui.conftest import new_assets
from ui.library.asset_table import COLUMNS
from ui.shell.main_window import MainWindow
from ui.shell.notifications import Notifier

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog

SIZE_COLUMN = next(n for n, c in enumerate(COLUMNS) if c.sort == SortKey.SIZE)
PATH_COLUMN = next(n for n, c in enumerate(COLUMNS) if c.title == "Path")


def _open_project(window: MainWindow, catalog: Catalog, count: int) -> None:
    project = catalog.create_project("Desk")
    # Sizes run against the names, so name order and size order differ.
    catalog.add_assets(
        [replace(a, size_bytes=10_000 - n) for n, a in enumerate(new_assets(project.id, count))]
    )
    window.sidebar.reload_projects(project.id)


def _click_header(qtbot: Any, window: MainWindow, column: int) -> None:
    header = window.grid.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def _table_text(window: MainWindow, row: int, column: int) -> str:
    table_model = window.grid.table.model()
    return str(table_model.data(table_model.index(row, column)))


def test_table_shows_the_grid_rows_with_their_details(
    qtbot: Any, window: MainWindow, catalog: Catalog
) -> None:
    _open_project(window, catalog, 450)
    grid = window.grid
    grid.filter_bar.details_button.click()
    assert grid.active_view is grid.table
    table_model = grid.table.model()
    assert table_model.rowCount() == window.model.rowCount() == 450
    names = [_table_text(window, row, 0) for row in range(200)]
    assert names == [window.model.data(window.model.index(row)) for row in range(200)]
    row = [_table_text(window, 0, column) for column in range(len(COLUMNS))]
    assert row[:4] == ["asset_00000.exr", "Image", "9.8 KB", "2048 × 1080"]
    assert row[PATH_COLUMN] == "/shots/asset_00000.exr"

    # Scrolled to the end, the table shows the last page once it arrives (painting asks for it).
    assert _table_text(window, 449, 0) == "…"
    window.show()
    qtbot.waitExposed(window)
    grid.table.scrollToBottom()
    qtbot.waitUntil(lambda: _table_text(window, 449, 0) == "asset_00449.exr")


def test_header_clicks_sort_through_the_catalog(qtbot: Any, window: MainWindow, catalog: Catalog) -> None:
    _open_project(window, catalog, 450)
    grid = window.grid
    grid.set_details(True)
    header = grid.table.horizontalHeader()

    _click_header(qtbot, window, SIZE_COLUMN)
    assert (window.model.query.sort, window.model.query.descending) == (SortKey.SIZE, True)
    assert grid.filter_bar.sort_combo.currentData() == SortKey.SIZE
    # Largest first over the whole project, not a re-sort of the 200 rows loaded.
    assert _table_text(window, 0, 0) == "asset_00000.exr"
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (
        SIZE_COLUMN,
        Qt.SortOrder.DescendingOrder,
    )

    _click_header(qtbot, window, SIZE_COLUMN)
    assert window.model.query.descending is False
    assert _table_text(window, 0, 0) == "asset_00449.exr"

    _click_header(qtbot, window, PATH_COLUMN)  # not a catalog order: nothing changes
    assert (window.model.query.sort, window.model.query.descending) == (SortKey.SIZE, False)
    assert header.sortIndicatorSection() == SIZE_COLUMN


def test_switching_views_keeps_the_selection(qtbot: Any, window: MainWindow, catalog: Catalog) -> None:
    _open_project(window, catalog, 30)
    grid = window.grid
    selection = grid.view.selectionModel()
    for row in (3, 7):
        selection.select(window.model.index(row), QItemSelectionModel.SelectionFlag.Select)
    chosen = [r.name for r in grid.selected_records()]
    assert chosen == ["asset_00003.exr", "asset_00007.exr"]

    with qtbot.waitSignal(grid.selection_changed):
        grid.filter_bar.details_button.click()
    assert [r.name for r in grid.selected_records()] == chosen
    assert grid.table.selectionModel().isRowSelected(7)

    grid.table.selectRow(12)
    grid.filter_bar.details_button.click()
    assert [r.name for r in grid.selected_records()] == ["asset_00012.exr"]
    assert grid.active_view is grid.view


def test_the_details_view_is_remembered(
    qtbot: Any, window: MainWindow, catalog: Catalog, settings: Any, paths: Any, controllers: Any
) -> None:
    window.grid.set_details(True)
    window.close()
    jobs, ingest = controllers
    again = MainWindow(
        catalog,
        settings,
        paths,
        jobs,
        ingest,
        Notifier(catalog, settings, None),
        background=window.background,
    )
    qtbot.addWidget(again)
    assert again.grid.details_shown
    assert again.grid.filter_bar.details_button.isChecked()
