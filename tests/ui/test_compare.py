"""A/B compare in the window: two real images picked in the grid open side by side, wiped, differenced
or onion-skinned; zoom follows between A and B; Esc leaves compare mode, then the viewer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from core.catalog.records import NewAsset
from tests.ui.conftest import write_image

COMPARE_KEYS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from ui.shell.main_window import MainWindow
    from ui.viewer.image_canvas import ImageCanvas


def _pixel(canvas: ImageCanvas, x: int, y: int) -> tuple[int, int, int]:
    colour = canvas.image().pixelColor(x, y)
    return colour.red(), colour.green(), colour.blue()


def _close(actual: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - e) <= 2 for a, e in zip(actual, expected, strict=True))


def _two_images(tmp_path: Path, window: MainWindow, catalog: Catalog) -> None:
    """A red 80x40 plate and a blue one at twice the size (another take's resolution), both selected.
    (Names without a version token: versions stack into one tile and are compared from the viewer.)"""
    project = catalog.create_project("Review")
    plates = [
        (write_image(tmp_path / "plate_red.png", 80, 40, (0, 0, 200)), 80, 40),  # BGR: red
        (write_image(tmp_path / "plate_blue.png", 160, 80, (200, 0, 0)), 160, 80),  # BGR: blue
    ]
    catalog.add_assets([
        NewAsset(project.id, path.name, str(path), "image", f"h-{path.name}", 10, {"width": w, "height": h})
        for path, w, h in plates
    ])  # fmt: skip
    window.sidebar.reload_projects(project.id)
    window.grid.view.selectAll()
    assert len(window.grid.selected_records()) == 2


def test_compare_from_the_menu_switches_modes_locks_zoom_and_esc_returns(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    _two_images(tmp_path, window, catalog)
    viewer, bar = window.viewer, window.viewer.compare_bar
    menu = window.asset_actions.build_menu(window.grid.selected_records(), window.grid)
    [compare] = [a for a in menu.actions() if a.text() == "Compare"]
    assert compare.isEnabled()
    with qtbot.waitSignal(bar.painted, timeout=20_000):
        compare.trigger()
    menu.deleteLater()
    assert window.centre.currentWidget() is viewer
    assert viewer.pages.currentWidget() is viewer.stage
    assert bar.pair is not None
    a_name, b_name = (record.name for record in bar.pair)
    assert {a_name, b_name} == {"plate_red.png", "plate_blue.png"}
    assert bar.a_label.text() == f"A  {a_name}"
    red, blue = (200, 0, 0), (0, 0, 200)
    a_colour, b_colour = (red, blue) if a_name == "plate_red.png" else (blue, red)
    width = viewer.canvas.image_size().width()

    # Wipe (the default): A left of the divider, B right of it, the divider in the middle of the picture.
    assert _close(_pixel(viewer.canvas, 5, 10), a_colour)
    assert _close(_pixel(viewer.canvas, width - 5, 10), b_colour)
    assert bar.handle.isVisible()
    assert abs(bar.handle.geometry().center().x() - viewer.canvas.image_rect().center().x()) <= 1

    bar.mode_combo.setCurrentText("Difference")
    bar.gain_spin.setValue(1.0)
    assert not bar.handle.isVisible()
    assert _close(_pixel(viewer.canvas, 5, 10), (200, 0, 200))

    bar.mode_combo.setCurrentText("Onion skin")
    bar.opacity_slider.setValue(25)
    expected = tuple(round(0.75 * a + 0.25 * b) for a, b in zip(a_colour, b_colour, strict=True))
    assert _close(_pixel(viewer.canvas, 5, 10), expected)  # type: ignore[arg-type]

    bar.mode_combo.setCurrentText("Side by side")
    assert viewer.comparing
    assert _close(_pixel(viewer.canvas, 5, 10), a_colour)
    assert _close(_pixel(viewer.compare_canvas, 5, 10), b_colour)
    viewer.canvas.zoom_by(2.0)
    assert viewer.compare_canvas.zoom == viewer.canvas.zoom
    assert viewer.compare_canvas.image_rect() == viewer.canvas.image_rect()

    bar.swap_button.click()
    assert bar.a_label.text() == f"A  {b_name}"
    assert _close(_pixel(viewer.canvas, 5, 10), b_colour)

    with qtbot.waitSignal(viewer.loaded, timeout=20_000):
        qtbot.keyClick(viewer.canvas, Qt.Key.Key_Escape)
    assert bar.pair is None
    assert not bar.isVisible()
    assert not viewer.comparing
    assert viewer.record is not None
    assert viewer.record.name == b_name  # A alone (after the swap)
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_Escape)
    assert window.centre.currentWidget() is window.grid


def test_compare_key_on_the_grid_needs_exactly_two_selected(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    _two_images(tmp_path, window, catalog)
    window.grid.view.setFocus()
    with qtbot.waitSignal(window.viewer.compare_bar.painted, timeout=20_000):
        qtbot.keyClick(window.grid.view, Qt.Key.Key_C, COMPARE_KEYS)
    assert window.centre.currentWidget() is window.viewer
    with qtbot.waitSignal(window.viewer.loaded, timeout=20_000):  # compare mode ends: A loads alone
        qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Escape)
    window.viewer.close_viewer()

    window.grid.select_row(0)
    menu = window.asset_actions.build_menu(window.grid.selected_records(), window.grid)
    assert not next(a for a in menu.actions() if a.text() == "Compare").isEnabled()
    menu.deleteLater()
    qtbot.keyClick(window.grid.view, Qt.Key.Key_C, COMPARE_KEYS)
    assert window.centre.currentWidget() is window.grid
