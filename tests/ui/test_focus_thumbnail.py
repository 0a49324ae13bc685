"""The grid's O key: a focus crop of a small or off-centre subject, or the whole picture, per asset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt

from core.ai.cam import FOCUS_THUMBNAIL, SHOW_ORIGINAL_THUMBNAIL
from tests.ui.conftest import new_assets, write_image

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from ui.shell.main_window import MainWindow


def test_o_switches_the_selected_thumbnails_and_back(
    qtbot: Any, tmp_path: Path, window: MainWindow, catalog: Catalog
) -> None:
    project = catalog.create_project("Focus")
    ids = catalog.add_assets(new_assets(project.id, 2, folder=str(tmp_path)))
    with_crop, without = ids["asset-image-0"], ids["asset-image-1"]
    whole = str(write_image(tmp_path / "whole.jpg", 64, 64))
    crop = str(write_image(tmp_path / "crop.jpg", 64, 64, (0, 200, 0)))
    catalog.add_artifact(with_crop, "thumbnail", whole)
    catalog.add_artifact(with_crop, FOCUS_THUMBNAIL, crop)
    catalog.set_thumbnail(with_crop, crop)
    plain = str(write_image(tmp_path / "plain.jpg", 64, 64))
    catalog.add_artifact(without, "thumbnail", plain)
    catalog.set_thumbnail(without, plain)
    window.sidebar.reload_projects(project.id)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=5000)
    window.grid.view.selectAll()
    window.grid.view.setFocus()

    def thumbnail(asset_id: int) -> str | None:
        record = catalog.get_asset(asset_id)
        assert record is not None
        return record.thumbnail

    qtbot.keyClick(window.grid.view, Qt.Key.Key_O)
    assert thumbnail(with_crop) == whole, "the whole picture, one key away"
    assert thumbnail(without) == plain, "an asset without a focus crop is left alone"
    record = catalog.get_asset(with_crop)
    assert record is not None
    assert record.metadata[SHOW_ORIGINAL_THUMBNAIL] is True, "remembered, so classifying again keeps it"
    row = window.model.row_of(with_crop)
    assert row is not None
    shown = window.model.record_at(row)
    assert shown is not None
    assert shown.thumbnail == whole, "the grid shows the switch at once"

    qtbot.keyClick(window.grid.view, Qt.Key.Key_O)
    assert thumbnail(with_crop) == crop


def test_o_in_the_search_field_types_a_letter(qtbot: Any, window: MainWindow, catalog: Catalog) -> None:
    project = catalog.create_project("Typing")
    window.sidebar.reload_projects(project.id)
    window.grid.filter_bar.search_box.setFocus()
    qtbot.keyClicks(window.grid.filter_bar.search_box, "o")
    assert window.grid.filter_bar.search_box.text() == "o"
