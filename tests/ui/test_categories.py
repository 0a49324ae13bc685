"""Correcting AI categories in the inspector: ✓ keeps, ✗ hides for good, "Add category…" sets one;
the catalog and the sidebar's Categories section follow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from tests.ui.conftest import new_assets
from ui.library.categories import classification_text

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from ui.shell.main_window import MainWindow


def _sidebar_categories(window: MainWindow) -> dict[str, int]:
    tree = window.sidebar.collections
    for i in range(tree.topLevelItemCount()):
        section = tree.topLevelItem(i)
        if section.text(0) == "CATEGORIES":
            return {
                section.child(j).text(0): int(section.child(j).text(1)) for j in range(section.childCount())
            }
    return {}


def _tags(catalog: Catalog, asset_id: int) -> dict[str, str]:
    record = catalog.get_asset(asset_id)
    assert record is not None
    return {t.name: t.source for t in record.tags}


def test_accept_reject_and_add_change_the_catalog_and_the_sidebar(
    qtbot: Any, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Cats")
    ids = catalog.add_assets(new_assets(project.id, 2))
    first, second = ids["asset-image-0"], ids["asset-image-1"]
    catalog.set_ai_categories(first, [("photograph", 0.9), ("cg-render", 0.4)])
    catalog.set_ai_categories(second, [("photograph", 0.8)])
    catalog.update_metadata(first, {"classification": {"path": "classical", "model": None, "device": "cpu"}})
    window.sidebar.reload_projects(project.id)
    assert _sidebar_categories(window) == {"cg-render": 1, "photograph": 2}

    assert window.grid.select_asset(first)
    editor = window.inspector.categories
    assert list(editor.rows) == ["photograph", "cg-render"], "most confident first"
    assert editor.rows["photograph"].confidence_bar is not None
    assert editor.rows["photograph"].confidence_bar.value() == 90
    assert "classical" in editor.path_label.text()
    assert not editor.path_label.isHidden()

    editor.rows["cg-render"].reject_button.click()
    assert "cg-render" not in _tags(catalog, first)
    assert "cg-render" not in editor.rows
    editor.rows["photograph"].accept_button.click()
    assert _tags(catalog, first)["photograph"] == "user"
    assert not editor.rows["photograph"].is_ai, "a confirmed category is shown as the user's"

    line = editor.add_combo.lineEdit()
    assert line is not None
    qtbot.keyClicks(line, "hero-prop")
    qtbot.keyClick(line, Qt.Key.Key_Return)
    assert _tags(catalog, first).get("hero-prop") == "user"
    assert "hero-prop" in editor.rows

    # The classifier runs again: the rejection and the confirmation both stand.
    catalog.set_ai_categories(first, [("cg-render", 0.95), ("photograph", 0.2)])
    assert "cg-render" not in _tags(catalog, first)
    assert _tags(catalog, first)["photograph"] == "user"

    qtbot.waitUntil(lambda: _sidebar_categories(window) == {"hero-prop": 1, "photograph": 2}, timeout=5000)

    # Editing the free tags keeps the confirmed categories.
    window.inspector.tags_edit.setText("approved")
    window.inspector.save_tags()
    assert _tags(catalog, first) == {"approved": "user", "hero-prop": "user", "photograph": "user"}
    assert window.inspector.tags_edit.text() == "approved"


def test_classification_path_in_words() -> None:
    assert classification_text({}) == ""
    assert classification_text({"classification": {"path": "model:convnext-s", "device": "cuda:0"}}) == (
        "Sorted by model convnext-s · cuda:0"
    )
    assert classification_text({"classification": {"path": "classical", "device": None}}).startswith(
        "Sorted by classical rules"
    )


def test_low_confidence_guesses_are_hidden_uncounted_and_shown_when_asked(
    qtbot: Any, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Guesses")
    asset = catalog.add_assets(new_assets(project.id, 1))["asset-image-0"]
    catalog.set_ai_categories(asset, [("animals", 0.81)])
    hidden = [{"name": "animals/tabby", "confidence": 0.31, "kind": "subject"},
              {"name": "vehicles", "confidence": 0.12, "kind": "subject"}]  # fmt: skip
    catalog.update_metadata(asset, {"classification": {"path": "classical", "hidden": hidden}})
    window.sidebar.reload_projects(project.id)
    assert _sidebar_categories(window) == {"animals": 1}, "guesses are never counted"

    assert window.grid.select_asset(asset)
    editor = window.inspector.categories
    assert list(editor.rows) == ["animals"]
    assert editor.guess_rows == {}
    assert editor.guesses_button.text() == "Show 2 low-confidence guesses"

    editor.guesses_button.click()
    assert list(editor.guess_rows) == ["animals/tabby", "vehicles"], "most confident first"
    assert editor.guesses_button.text() == "Hide 2 low-confidence guesses"
    assert not editor.guess_rows["vehicles"].reject_button.isVisibleTo(editor)

    editor.guess_rows["animals/tabby"].accept_button.click()  # the artist says the guess is right
    assert _tags(catalog, asset) == {"animals": "ai", "animals/tabby": "user"}
    assert list(editor.guess_rows) == ["vehicles"]
