"""Scrolling a big project through a window of pages: memory stays bounded, a jump lands on the first
matching asset, the selection outlives its page, and unloaded rows fill in once their page arrives.
A real grid over a real catalog, with a small page size and window so a few thousand assets suffice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint

from core.catalog.records import SortKey
from tests.ui.conftest import new_assets
from ui.library.asset_grid import AssetGrid
from ui.library.asset_model import PLACEHOLDER_TEXT, AssetListModel, AssetRole
from ui.library.thumbnail_cache import ThumbnailCache

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from workers.background import BackgroundWork

PAGE, WINDOW = 50, 4
PREFIXES = ("alpha", "mike", "zulu")


@pytest.fixture
def grid(qtbot: Any, catalog: Catalog, background: BackgroundWork) -> AssetGrid:
    project = catalog.create_project("Big")
    for prefix in PREFIXES:
        catalog.add_assets(new_assets(project.id, 1000, prefix=prefix))
    model = AssetListModel(catalog, ThumbnailCache(background), page_size=PAGE, window_pages=WINDOW)
    widget = AssetGrid(model)
    qtbot.addWidget(widget)
    widget.resize(600, 360)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_project(project.id, [])
    return widget


def _top_row(grid: AssetGrid) -> int:
    """The first row painted at the top of the viewport (the scan steps over the gaps between tiles)."""
    size = grid.view.viewport().size()
    for y in range(0, size.height(), 8):
        for x in range(0, size.width(), 8):
            if (index := grid.view.indexAt(QPoint(x, y))).isValid():
                return index.row()
    return -1


def _scroll_to(qtbot: Any, grid: AssetGrid, value: int) -> None:
    grid.view.verticalScrollBar().setValue(value)
    qtbot.waitUntil(lambda: grid.model.record_at(_top_row(grid)) is not None)


def _scroll_through(qtbot: Any, grid: AssetGrid) -> int:
    """Scroll from the top to the end in steps; the most pages held at any step."""
    bar = grid.view.verticalScrollBar()
    most = 0
    for value in [*range(0, bar.maximum(), max(1, bar.maximum() // 25)), bar.maximum()]:
        _scroll_to(qtbot, grid, value)
        most = max(most, len(grid.model.loaded_pages))
    return most


def test_scrolling_to_the_end_keeps_only_the_window_loaded(qtbot: Any, grid: AssetGrid) -> None:
    model = grid.model
    assert model.rowCount() == 3000
    most = _scroll_through(qtbot, grid)
    qtbot.waitUntil(lambda: model.data(model.index(2999)) == "zulu_00999.exr")
    assert most <= WINDOW
    assert 0 not in model.loaded_pages, "the first page was dropped on the way down"


def test_jump_to_a_letter_shows_the_first_matching_asset(qtbot: Any, grid: AssetGrid) -> None:
    assert grid.filter_bar.jump_box.isVisible()
    assert grid.filter_bar.jump_box.placeholderText() == "Jump to letter…"
    grid.filter_bar.jump_box.setText("m")
    qtbot.keyClick(grid.filter_bar.jump_box, "\r")
    assert [r.name for r in grid.selected_records()] == ["mike_00000.exr"]
    assert grid.view.viewport().rect().intersects(grid.view.visualRect(grid.view.currentIndex()))
    assert len(grid.model.loaded_pages) <= WINDOW

    # Z to A: "m" is where the m names start going down, the last of them first.
    grid.set_sort(SortKey.NAME, descending=True)
    assert grid.jump_to("m")
    assert [r.name for r in grid.selected_records()] == ["mike_00999.exr"]


def test_selection_survives_its_page_being_dropped(qtbot: Any, grid: AssetGrid) -> None:
    model = grid.model
    selection = grid.view.selectionModel()
    for row in (3, 5):
        selection.select(model.index(row), QItemSelectionModel.SelectionFlag.Select)
    chosen = ["alpha_00003.exr", "alpha_00005.exr"]
    assert [r.name for r in grid.selected_records()] == chosen

    _scroll_through(qtbot, grid)
    assert 0 not in model.loaded_pages
    assert [r.name for r in grid.selected_records()] == chosen

    assert grid.select_asset(grid.selected_records()[1].id), "an asset is found by its row, loaded again"
    assert [r.name for r in grid.selected_records()] == ["alpha_00005.exr"]
    assert 0 in model.loaded_pages


def test_an_unloaded_row_is_a_placeholder_until_its_page_arrives(qtbot: Any, grid: AssetGrid) -> None:
    model = grid.model
    index = model.index(2222)
    assert model.data(index) == PLACEHOLDER_TEXT
    assert model.data(index, AssetRole.Record) is None
    qtbot.waitUntil(lambda: model.data(index) != PLACEHOLDER_TEXT)
    assert model.data(index) == "zulu_00222.exr"
    assert model.data(index, AssetRole.Record).name == "zulu_00222.exr"


def test_jump_to_a_date_and_a_size(qtbot: Any, grid: AssetGrid, catalog: Catalog) -> None:
    grid.set_sort(SortKey.SIZE, descending=True)
    assert grid.filter_bar.jump_box.placeholderText() == "Jump to size (e.g. 20 MB)…"
    assert grid.jump_to("1500 b")
    assert [r.size_bytes for r in grid.selected_records()] == [1500]

    grid.set_sort(SortKey.CREATED, descending=False)
    records = list(catalog.iter_assets(grid.model.query))
    assert grid.jump_to("2999-01-01"), "a date past every asset lands on the last one"
    assert [r.id for r in grid.selected_records()] == [records[-1].id]
    assert not grid.jump_to("yesterday")

    grid.filter_bar.search_box.setText("zulu")  # a search orders by relevance: nothing to jump to
    qtbot.waitUntil(lambda: grid.model.query.sort == SortKey.RELEVANCE)
    assert not grid.filter_bar.jump_box.isVisible()
