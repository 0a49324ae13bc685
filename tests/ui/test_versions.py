"""Version stacks in the window: versions by name are one tile with a badge; the viewer steps through
them with [ and ], compares with the previous one in one click; a stack is made and split by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from core.catalog.records import NewAsset
from tests.ui.conftest import write_image
from ui.library.asset_delegate import version_badge

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from ui.shell.main_window import MainWindow


def add_images(tmp_path: Path, catalog: Catalog, project_id: int, names: list[str]) -> None:
    catalog.add_assets([
        NewAsset(project_id, name, str(write_image(tmp_path / name, 64 + 16 * n, 40, (30 * n, 90, 200))),
                 "image", f"h-{name}", 10, {"width": 64 + 16 * n, "height": 40})
        for n, name in enumerate(names)
    ])  # fmt: skip


def tiles(window: MainWindow) -> list[str]:
    return [record.name for record in window.model.records()]


def test_versions_stack_into_one_tile_and_step_in_the_viewer(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Show")
    add_images(tmp_path, catalog, project.id, ["bg_v001.png", "bg_v002.png", "bg_v003.png", "fx.png"])
    window.sidebar.reload_projects(project.id)
    qtbot.waitUntil(lambda: tiles(window) == ["bg_v003.png", "fx.png"], timeout=5_000)
    top = window.model.records()[0]
    assert version_badge(top) == "v003 of 3"
    assert version_badge(top, compact=True) == "v3"
    assert version_badge(window.model.records()[1]) == ""

    window.open_viewer(top)
    viewer, switcher = window.viewer, window.viewer.bar.versions
    assert switcher.isVisible()
    assert [switcher.combo.itemText(i) for i in range(3)] == ["v001", "v002", "v003  (latest)"]
    assert switcher.combo.currentIndex() == 2
    assert switcher.compare_button.text() == "\u21c4 v002"
    qtbot.keyClick(viewer, Qt.Key.Key_BracketLeft)
    assert viewer.bar.title.text() == "bg_v002.png"
    assert switcher.combo.currentIndex() == 1
    qtbot.keyClick(viewer, Qt.Key.Key_BracketRight)
    qtbot.keyClick(viewer, Qt.Key.Key_BracketRight)  # past the latest: stays
    assert viewer.bar.title.text() == "bg_v003.png"

    with qtbot.waitSignal(viewer.compare_bar.painted, timeout=10_000):
        switcher.compare_button.click()
    a, b = viewer.compare_bar.pair or (None, None)
    assert (a.name, b.name) == ("bg_v002.png", "bg_v003.png")  # type: ignore[union-attr]
    assert not switcher.isVisible()

    window.open_viewer(window.model.records()[1])  # an unstacked asset: no switcher
    assert not switcher.isVisible()


def test_stack_by_hand_from_the_menu_and_split_again(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Show")
    add_images(tmp_path, catalog, project.id, ["take_a.png", "take_b.png", "other.png"])
    window.sidebar.reload_projects(project.id)
    qtbot.waitUntil(lambda: len(tiles(window)) == 3, timeout=5_000)
    takes = [r for r in window.model.records() if r.name.startswith("take")]
    menu = window.asset_actions.build_menu(takes, window.grid)
    [stack] = [action for action in menu.actions() if action.text() == "Stack as versions"]
    stack.trigger()
    menu.deleteLater()
    qtbot.waitUntil(lambda: tiles(window) == ["other.png", "take_b.png"], timeout=5_000)
    stacked = window.model.records()[1]
    assert (stacked.version, stacked.stack_size) == (2, 2)
    assert "Stacked 2 assets" in window.statusBar().currentMessage()

    menu = window.asset_actions.build_menu([stacked], window.grid)
    [split] = [action for action in menu.actions() if action.text() == "Split version stack"]
    assert split.isEnabled()
    split.trigger()
    menu.deleteLater()
    qtbot.waitUntil(lambda: len(tiles(window)) == 3, timeout=5_000)
