"""Ratings and colour labels on tiles, the rating/label filters, batch edits on a multi-selection and
saved searches in the sidebar: all through the real window over a real catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, Qt

from core.catalog.records import AssetQuery, ColourLabel, SavedSearch, SortKey
from tests.ui.conftest import new_assets
from ui.library.asset_model import AssetRole
from ui.library.sidebar import DataRole

if TYPE_CHECKING:
    from PySide6.QtWidgets import QComboBox, QTreeWidgetItem

    from core.catalog.catalog import Catalog
    from ui.shell.main_window import MainWindow


def _open_project(window: MainWindow, catalog: Catalog, count: int = 6) -> int:
    project = catalog.create_project("Desk")
    catalog.add_assets(new_assets(project.id, count))
    window.sidebar.reload_projects(project.id)
    assert window.model.rowCount() == count
    return project.id


def _select_rows(window: MainWindow, rows: list[int]) -> None:
    selection = window.grid.view.selectionModel()
    selection.clear()
    for row in rows:
        selection.select(window.model.index(row), QItemSelectionModel.SelectionFlag.Select)


def _roles(window: MainWindow, role: AssetRole) -> list[Any]:
    return [window.model.index(r).data(role) for r in range(window.model.rowCount())]


def _choose(combo: QComboBox, text: str) -> None:
    """What a user's pick does: the item becomes current and ``activated`` fires."""
    index = combo.findText(text)
    assert index >= 0, text
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_number_keys_rate_the_selection_and_the_tiles_show_it(
    qtbot: Any, window: MainWindow, catalog: Catalog
) -> None:
    _open_project(window, catalog)
    _select_rows(window, [0, 2])
    window.grid.view.setFocus()
    qtbot.keyClick(window.grid.view, Qt.Key.Key_4)
    assert _roles(window, AssetRole.Rating) == [4, 0, 4, 0, 0, 0]
    assert [r.rating for r in window.grid.selected_records()] == [4, 4]
    assert window.inspector.curation.rating_combo.currentText() == "★★★★☆"
    qtbot.keyClick(window.grid.view, Qt.Key.Key_0)
    assert _roles(window, AssetRole.Rating) == [0] * 6
    stored = catalog.get_assets([r.id for r in window.model.records()])
    assert [r.rating for r in stored] == [0] * 6


def test_the_context_menu_labels_the_selection(window: MainWindow, catalog: Catalog) -> None:
    _open_project(window, catalog)
    _select_rows(window, [1, 3])
    menu = window.asset_actions.build_menu(window.grid.selected_records(), window.grid)
    labels = next(a.menu() for a in menu.actions() if a.text() == "Label")
    red = next(a for a in labels.actions() if a.text() == "Red")
    red.trigger()
    none = ColourLabel.NONE
    assert _roles(window, AssetRole.Label) == [none, ColourLabel.RED, none, ColourLabel.RED, none, none]
    again = window.asset_actions.build_menu(window.grid.selected_records(), window.grid)
    checked = [a.text() for a in next(a.menu() for a in again.actions() if a.text() == "Label").actions()
               if a.isChecked()]  # fmt: skip
    assert checked == ["Red"]


def test_the_filter_bar_filters_by_rating_and_label_and_sorts_by_rating(
    window: MainWindow, catalog: Catalog
) -> None:
    _open_project(window, catalog)
    ids = [r.id for r in window.model.records()]
    catalog.curation.set_rating(ids[:2], 5)
    catalog.curation.set_rating(ids[2:4], 3)
    catalog.curation.set_label(ids[1:3], ColourLabel.BLUE)
    grid = window.grid
    _choose(grid.filter_bar.rating_combo, "≥3★")
    assert [r.id for r in window.model.records()] == ids[:4]
    assert "4 assets" in grid.filter_bar.count_label.text()
    _choose(grid.filter_bar.label_combo, "Blue")
    assert [r.id for r in window.model.records()] == ids[1:3]
    _choose(grid.filter_bar.rating_combo, "5★")
    assert [r.id for r in window.model.records()] == ids[1:2]
    _choose(grid.filter_bar.rating_combo, "Any rating")
    _choose(grid.filter_bar.label_combo, "Any label")
    _choose(grid.filter_bar.sort_combo, "Rating")
    assert window.model.query.descending, "rating starts highest first"
    assert _roles(window, AssetRole.Rating) == [5, 5, 3, 3, 0, 0]


def test_the_inspector_edits_every_selected_asset_at_once(
    qtbot: Any, window: MainWindow, catalog: Catalog
) -> None:
    _open_project(window, catalog)
    _select_rows(window, [0, 1, 2])
    inspector = window.inspector
    assert inspector.title.text() == "3 assets selected"
    assert inspector.batch.isVisible()
    _choose(inspector.curation.rating_combo, "★★☆☆☆")
    _choose(inspector.curation.label_combo, "Green")
    inspector.batch.tags_edit.setText("hero, approved")
    qtbot.mouseClick(inspector.batch.add_tags_button, Qt.MouseButton.LeftButton)
    inspector.batch.note_edit.setPlainText("client liked these")
    qtbot.mouseClick(inspector.batch.append_note_button, Qt.MouseButton.LeftButton)

    selected = {r.id for r in window.grid.selected_records()}
    for record in catalog.get_assets([r.id for r in window.model.records()]):
        edited = record.id in selected
        assert (record.rating, record.label) == ((2, ColourLabel.GREEN) if edited else (0, ColourLabel.NONE))
        assert {t.name for t in record.tags} == ({"hero", "approved"} if edited else set())
        assert record.notes == ("client liked these" if edited else "")
    assert _roles(window, AssetRole.Rating)[:4] == [2, 2, 2, 0]
    assert dict(catalog.tag_counts(window.model.query.project_id or 0)) == {"approved": 3, "hero": 3}
    # The tag filter and sidebar counts follow (throttled: they are a few GROUP BYs).
    qtbot.waitUntil(lambda: window.grid.filter_bar.tag_combo.findData("hero") >= 0, timeout=5_000)


def _saved_items(window: MainWindow) -> list[QTreeWidgetItem]:
    tree = window.sidebar.collections
    sections = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    saved = next(s for s in sections if s is not None and s.text(0) == "SAVED SEARCHES")
    return [c for i in range(saved.childCount()) if (c := saved.child(i)) is not None]


def test_a_saved_search_appears_in_the_sidebar_and_restores_its_query(
    qtbot: Any, window: MainWindow, catalog: Catalog
) -> None:
    project_id = _open_project(window, catalog)
    ids = [r.id for r in window.model.records()]
    catalog.curation.set_rating(ids[3:], 4)
    grid = window.grid
    _choose(grid.filter_bar.rating_combo, "≥4★")
    _choose(grid.filter_bar.sort_combo, "Rating")
    wanted = grid.current_query()
    assert window.sidebar.save_search(wanted, "Selects") is not None

    (item,) = _saved_items(window)
    assert item.text(0) == "Selects"
    _choose(grid.filter_bar.rating_combo, "Any rating")
    _choose(grid.filter_bar.sort_combo, "Name")
    assert window.model.total == 6

    tree = window.sidebar.collections  # a click on the item (current since it was saved) restores it
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    assert (
        grid.current_query()
        == wanted
        == AssetQuery(project_id=project_id, min_rating=4, sort=SortKey.RATING, descending=True)
    )
    assert grid.filter_bar.rating_combo.currentText() == "≥4★"
    assert [r.id for r in window.model.records()] == ids[3:][::-1]

    search = item.data(0, DataRole)
    assert isinstance(search, SavedSearch)
    window.sidebar.rename_saved_search(search, "Best")
    assert [i.text(0) for i in _saved_items(window)] == ["Best"]
    window.sidebar.delete_saved_search(_saved_items(window)[0].data(0, DataRole))
    assert catalog.curation.saved_searches(project_id) == []
