"""Hover-scrub: moving the mouse across a video tile shows the filmstrip cell under the cursor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from ui.library.asset_delegate import PADDING
from ui.library.asset_grid import AssetGrid
from ui.library.asset_model import AssetListModel
from ui.library.filmstrip import FilmstripCache, cell_rect, filmstrip_cell
from ui.library.thumbnail_cache import ThumbnailCache
from workers.background import BackgroundWork

# One colour per cell (BGR, as OpenCV writes them): blue, green, red, white.
CELL_COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
FRAMES = [0, 24, 48, 72]


def _write_strip(path: Path, cell_w: int = 96, cell_h: int = 54) -> Path:
    import cv2
    import numpy as np

    strip = np.zeros((cell_h, cell_w * len(CELL_COLOURS), 3), np.uint8)
    for i, colour in enumerate(CELL_COLOURS):
        strip[:, i * cell_w : (i + 1) * cell_w] = colour
    assert cv2.imwrite(str(path), strip, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def _move(widget: Any, pos: QPoint) -> None:
    event = QMouseEvent(
        QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def test_cell_choice_covers_the_whole_width() -> None:
    assert [filmstrip_cell(x, 4) for x in (0.0, 0.24, 0.25, 0.5, 0.74, 0.99, 1.0)] == [0, 0, 1, 2, 2, 3, 3]
    assert filmstrip_cell(-0.5, 4) == 0
    assert filmstrip_cell(0.5, 0) == 0
    assert cell_rect(400, 50, 4, 3).getRect() == (300, 0, 100, 50)


@pytest.fixture
def grid(qtbot: Any, catalog: Catalog, background: BackgroundWork) -> Any:
    thumbnails = ThumbnailCache(background)
    strips = FilmstripCache(catalog, background)
    model = AssetListModel(catalog, thumbnails)
    widget = AssetGrid(model, filmstrips=strips)
    qtbot.addWidget(widget)
    widget.resize(900, 500)
    widget.show()
    return widget


def test_hover_scrub_paints_the_cell_under_the_mouse(
    qtbot: Any, tmp_path: Path, catalog: Catalog, grid: AssetGrid
) -> None:
    project = catalog.create_project("Clips")
    video = NewAsset(project.id, "clip.mov", "/clips/clip.mov", "video", "clip", 10, {"width": 1920})
    still = NewAsset(project.id, "still.png", "/clips/still.png", "image", "still", 10, {})
    ids = catalog.add_assets([video, still])
    clip = ids["clip"]
    catalog.add_artifact(
        clip, "filmstrip", str(_write_strip(tmp_path / "clip-strip.jpg")), meta={"frames": FRAMES}
    )
    grid.set_project(project.id, [])
    row = grid.model.row_of(clip)
    assert row is not None
    record = grid.model.record_at(row)
    assert record is not None
    tile = grid.view.visualRect(grid.model.index(row))
    size = grid.tile_size
    left, middle_y = tile.x() + PADDING, tile.y() + PADDING + size // 2
    viewport = grid.view.viewport()

    for cell, fraction in ((0, 0.05), (2, 0.6), (3, 0.97), (1, 0.3)):
        _move(viewport, QPoint(int(left + fraction * size), middle_y))
        qtbot.waitUntil(lambda c=cell: grid.delegate.scrub_cell(record) == (c, FRAMES[c]), timeout=3000)
        shot = viewport.grab().toImage()
        colour = shot.pixelColor(QPoint(tile.x() + PADDING + size // 2, middle_y))
        blue, green, red = CELL_COLOURS[cell]
        assert (colour.red(), colour.green(), colour.blue()) == pytest.approx((red, green, blue), abs=40)

    # Leaving the tile (or hovering an image) brings the poster back.
    other_row = grid.model.row_of(ids["still"])
    assert other_row is not None
    other = grid.view.visualRect(grid.model.index(other_row))
    _move(viewport, other.center())
    assert grid.delegate.scrub is None
    assert grid.delegate.scrub_cell(record) is None


def test_strip_recorded_in_metadata_needs_no_artifact_query(
    qtbot: Any, tmp_path: Path, catalog: Catalog, grid: AssetGrid
) -> None:
    project = catalog.create_project("Meta")
    strip = {"path": str(_write_strip(tmp_path / "s.jpg")), "frames": FRAMES}
    clip = NewAsset(project.id, "b.mov", "/clips/b.mov", "video", "b", 10, {"filmstrip": strip})
    asset_id = catalog.add_assets([clip])["b"]
    grid.set_project(project.id, [])
    record = grid.model.record_at(0)
    assert record is not None
    assert record.id == asset_id
    tile = grid.view.visualRect(grid.model.index(0))
    _move(grid.view.viewport(), QPoint(tile.x() + PADDING + int(grid.tile_size * 0.55), tile.center().y()))
    qtbot.waitUntil(lambda: grid.delegate.scrub_cell(record) == (2, 48), timeout=3000)
