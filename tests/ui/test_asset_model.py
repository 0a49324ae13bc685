"""The grid model: keyset paging over a real catalog, filters, batched updates, thumbnail swap-in."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

from core.catalog.catalog import Catalog
from core.catalog.records import AssetQuery
from tests.ui.conftest import new_assets, write_image
from ui.library.asset_delegate import AssetDelegate
from ui.library.asset_model import PLACEHOLDER_TEXT, AssetListModel, AssetRole
from ui.library.thumbnail_cache import ThumbnailCache
from workers.background import BackgroundWork


@pytest.fixture
def cache(background: BackgroundWork) -> ThumbnailCache:
    return ThumbnailCache(background)


@pytest.fixture
def big_project(catalog: Catalog) -> int:
    project = catalog.create_project("Big")
    catalog.add_assets(new_assets(project.id, 4990))
    catalog.add_assets(new_assets(project.id, 10, prefix="hero", kind="video"))
    return project.id


def test_model_counts_every_row_and_loads_pages_on_demand(
    qtbot: Any, catalog: Catalog, cache: ThumbnailCache, big_project: int
) -> None:
    model = AssetListModel(catalog, cache, page_size=100, window_pages=3)
    model.set_query(AssetQuery(project_id=big_project))
    assert model.total == model.rowCount() == 5000, "the scrollbar spans the whole view"
    assert model.loaded_pages == [0]

    # A row far down is a placeholder until its page arrives (asked for by data(), fetched debounced).
    far = model.index(4321)
    assert model.data(far) == PLACEHOLDER_TEXT
    assert model.data(far, AssetRole.Record) is None
    with qtbot.waitSignal(model.dataChanged):
        pass
    record = model.data(far, AssetRole.Record)
    assert record is not None
    assert model.loaded_pages == [0, 43]
    everything = [r.id for r in catalog.iter_assets(AssetQuery(project_id=big_project))]
    assert record.id == everything[4321], "a page reached by seeking is the page paging would show"

    # Following pages continue by keyset; the window keeps the pages nearest the latest ask.
    for row in (4400, 4500, 4600):
        model.load_row(row)
    assert model.loaded_pages == [44, 45, 46]
    assert [r.id for r in model.records()] == everything[4400:4700]


def test_filters_change_rows(catalog: Catalog, cache: ThumbnailCache, big_project: int) -> None:
    model = AssetListModel(catalog, cache)
    model.set_query(AssetQuery(project_id=big_project, search="hero"))
    assert model.rowCount() == 10
    assert all("hero" in model.data(model.index(r)) for r in range(10))

    model.set_query(AssetQuery(project_id=big_project, kind="video"))
    assert model.rowCount() == 10
    assert {model.data(model.index(r), AssetRole.Kind) for r in range(10)} == {"video"}

    first = model.data(model.index(0), AssetRole.Record)
    catalog.set_user_tags(first.id, ["approved"])
    model.set_query(AssetQuery(project_id=big_project, tag="approved"))
    assert model.rowCount() == 1
    assert model.data(model.index(0), AssetRole.AssetId) == first.id


def test_updates_are_coalesced_into_few_data_changed(qtbot: Any, catalog: Catalog, cache: ThumbnailCache,
                                                     big_project: int) -> None:  # fmt: skip
    model = AssetListModel(catalog, cache)
    model.set_query(AssetQuery(project_id=big_project))
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, *_: changed.append((top.row(), bottom.row())))
    records = [model.record_at(r) for r in range(50)]
    model.update_assets([replace(r, status="ready") for r in records if r is not None])
    assert changed == [], "nothing is emitted synchronously"
    qtbot.waitUntil(lambda: bool(changed), timeout=2000)
    assert changed == [(0, 49)]
    assert model.data(model.index(10), AssetRole.Status) == "ready"


def test_thumbnail_swaps_in_after_background_load(qtbot: Any, tmp_path: Path, catalog: Catalog,
                                                  cache: ThumbnailCache) -> None:  # fmt: skip
    project = catalog.create_project("Thumbs")
    ids = catalog.add_assets(new_assets(project.id, 3))
    thumb = write_image(tmp_path / "thumb.jpg", 256, 128, colour=(0, 0, 255))  # red in BGR
    asset_id = ids["asset-image-1"]
    catalog.set_thumbnail(asset_id, str(thumb))
    model = AssetListModel(catalog, cache)
    model.set_query(AssetQuery(project_id=project.id))
    row = model.row_of(asset_id)
    assert row is not None

    with qtbot.waitSignal(cache.thumbnail_ready, timeout=5000):
        assert model.data(model.index(row), AssetRole.Thumbnail) is None  # placeholder first, load queued
    with qtbot.waitSignal(model.dataChanged, timeout=2000):
        pass
    pixmap = model.data(model.index(row), Qt.ItemDataRole.DecorationRole)
    assert isinstance(pixmap, QPixmap)
    assert (pixmap.width(), pixmap.height()) == (256, 128)
    colour = pixmap.toImage().pixelColor(128, 64)
    assert colour.red() > 200
    assert colour.blue() < 60
    # Rows without a thumbnail file never get a pixmap (the delegate keeps the placeholder).
    other = model.row_of(ids["asset-image-0"])
    assert other is not None
    assert model.data(model.index(other), AssetRole.Thumbnail) is None


def test_missing_thumbnail_file_is_marked_failed_not_retried(qtbot: Any, tmp_path: Path, catalog: Catalog,
                                                             cache: ThumbnailCache) -> None:  # fmt: skip
    project = catalog.create_project("Missing")
    ids = catalog.add_assets(new_assets(project.id, 1))
    catalog.set_thumbnail(ids["asset-image-0"], str(tmp_path / "gone.jpg"))
    record = catalog.get_asset(ids["asset-image-0"])
    assert record is not None
    with qtbot.waitSignal(cache.thumbnail_ready, timeout=5000):
        assert cache.get(record, 128) is None
    assert cache.failed(record, 128)
    assert cache.get(record, 128) is None
    assert cache.pending_count == 0


def _paint_tile(
    delegate: AssetDelegate, model: AssetListModel, row: int, *, selected: bool = False
) -> QImage:
    size = delegate.sizeHint(QStyleOptionViewItem(), model.index(row))
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(0)
    option = QStyleOptionViewItem()
    option.rect = image.rect()
    option.state = QStyle.StateFlag.State_Enabled | (
        QStyle.StateFlag.State_Selected if selected else QStyle.StateFlag.State_None
    )
    painter = QPainter(image)
    delegate.paint(painter, option, model.index(row))
    painter.end()
    return image


def test_delegate_paints_every_state(
    qtbot: Any, tmp_path: Path, catalog: Catalog, cache: ThumbnailCache
) -> None:
    project = catalog.create_project("Tiles")
    catalog.add_assets(new_assets(project.id, 1, prefix="a_pending"))
    failed = catalog.add_assets(new_assets(project.id, 1, prefix="b_failed"))["b_failed-image-0"]
    catalog.set_asset_failed(failed, "Truncated file: b_failed_00000.exr ends after 40 bytes")
    ready = catalog.add_assets(new_assets(project.id, 1, prefix="c_ready"))["c_ready-image-0"]
    catalog.set_thumbnail(ready, str(write_image(tmp_path / "t.jpg", 200, 100, colour=(0, 200, 0))))
    catalog.add_assets(
        new_assets(project.id, 1, prefix="d_seq", kind="sequence", frame_first=1001, frame_last=1100)
    )
    model = AssetListModel(catalog, cache)
    model.set_query(AssetQuery(project_id=project.id))
    delegate = AssetDelegate(tile_size=160)
    with qtbot.waitSignal(cache.thumbnail_ready, timeout=5000):
        model.data(model.index(2), AssetRole.Thumbnail)

    tiles = [_paint_tile(delegate, model, row) for row in range(4)]
    for tile in tiles:
        assert tile.size().width() == 160 + 12
        assert len({tile.pixel(x, y) for x in range(0, 170, 7) for y in range(0, 170, 7)}) > 3, (
            "tile is not blank"
        )
    # Failed: the red error badge in the thumbnail's top-right corner.
    badge = tiles[1].pixelColor(6 + 160 - 14, 6 + 14)
    assert badge.red() > 200
    assert badge.green() < 150
    # Ready: the green thumbnail in the middle of the thumbnail area.
    centre = tiles[2].pixelColor(6 + 80, 6 + 80)
    assert centre.green() > 150
    assert centre.red() < 80
    # Selected: the accent frame on the tile's edge.
    selected = _paint_tile(delegate, model, 0, selected=True)
    edge = selected.pixelColor(selected.width() // 2, 3)
    assert edge.blue() > 200
    assert edge.red() < 120
