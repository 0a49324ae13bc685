"""The inspector (metadata, tags, notes, copy out) and the full-size viewer (decode, fit, zoom, keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.media.limits import MediaLimits
from core.settings import Settings
from tests.ui.conftest import write_image
from ui.library.inspector import Inspector
from ui.library.thumbnail_cache import ThumbnailCache
from ui.viewer.viewer import AssetViewer
from workers.background import BackgroundWork


@pytest.fixture
def cache(background: BackgroundWork) -> ThumbnailCache:
    return ThumbnailCache(background)


def _form_text(inspector: Inspector) -> dict[str, str]:
    form = inspector.metadata_form
    rows = {}
    for row in range(form.rowCount()):
        key = form.itemAt(row, form.ItemRole.LabelRole).widget()
        value = form.itemAt(row, form.ItemRole.FieldRole).widget()
        assert isinstance(key, QLabel)
        assert isinstance(value, QLabel)
        rows[key.text()] = value.text()
    return rows


def _add(catalog: Catalog, project_id: int, name: str, path: str, kind: str, metadata: dict[str, Any],
         **extra: Any) -> int:  # fmt: skip
    ids = catalog.add_assets(
        [NewAsset(project_id, name, path, kind, f"hash-{name}", 123_456, metadata, **extra)]
    )
    return ids[f"hash-{name}"]


def test_inspector_formats_metadata_per_kind(
    qtbot: Any, catalog: Catalog, cache: ThumbnailCache, background: BackgroundWork
) -> None:
    project = catalog.create_project("Meta")
    image = _add(catalog, project.id, "plate.exr", "/p/plate.exr", "image",
                 {"format": "EXR", "width": 4096, "height": 2160, "bit_depth": 16, "color_space": "linear",
                  "mode": "RGBA", "exif": {"make": "ARRI"}})  # fmt: skip
    video = _add(catalog, project.id, "review.mov", "/p/review.mov", "video",
                 {"codec": "prores", "fps": 23.976, "duration_s": 83.0, "frames": 1990, "width": 1920,
                  "height": 1080})  # fmt: skip
    mesh = _add(catalog, project.id, "rock.obj", "/p/rock.obj", "geometry",
                {"format": "obj", "vertices": 12_000, "faces": 24_000, "parts": 3,
                 "bounds": [[0, 0, 0], [2, 1, 0.5]], "has_uvs": True})  # fmt: skip
    inspector = Inspector(catalog, cache, background)
    qtbot.addWidget(inspector)

    inspector.set_assets(catalog.get_assets([image]))
    rows = _form_text(inspector)
    assert rows["Resolution"] == "4096 × 2160"
    assert rows["Bit depth"] == "16-bit"
    assert rows["Colour space"] == "linear"
    assert not inspector.exif_title.isHidden()

    inspector.set_assets(catalog.get_assets([video]))
    rows = _form_text(inspector)
    assert rows["Codec"] == "prores"
    assert rows["Frame rate"] == "23.976 fps"
    assert rows["Duration"] == "1:23"
    assert rows["Frames"] == "1,990"

    inspector.set_assets(catalog.get_assets([mesh]))
    rows = _form_text(inspector)
    assert rows["Vertices"] == "12,000"
    assert rows["Faces"] == "24,000"
    assert rows["Size (bbox)"] == "2 × 1 × 0.5"
    assert rows["UVs"] == "yes"


def test_tags_and_notes_persist_and_ai_categories_show_confidence(
    qtbot: Any, catalog: Catalog, cache: ThumbnailCache, background: BackgroundWork
) -> None:
    project = catalog.create_project("Tags")
    asset = _add(catalog, project.id, "hero.png", "/p/hero.png", "image", {"width": 10, "height": 10})
    catalog.set_ai_categories(asset, [("character", 0.92)])
    inspector = Inspector(catalog, cache, background)
    qtbot.addWidget(inspector)
    inspector.set_assets(catalog.get_assets([asset]))
    row = inspector.categories.rows["character"]
    assert row.is_ai
    assert row.confidence_bar is not None
    assert row.confidence_bar.value() == 92
    assert "92%" in [w.text() for w in row.findChildren(QLabel)]

    edited: list[Any] = []
    inspector.asset_edited.connect(edited.append)
    inspector.tags_edit.setText("hero, approved , ")
    inspector.save_tags()
    stored = catalog.get_asset(asset)
    assert stored is not None
    assert {"hero", "approved"} <= {t.name for t in stored.tags}
    assert "character" in {t.name for t in stored.tags}, "editing tags never drops an AI category"
    assert edited
    assert edited[-1].id == asset

    inspector.notes_edit.setPlainText("Needs a cleaner alpha edge")
    qtbot.waitUntil(
        lambda: (catalog.get_asset(asset) or stored).notes == "Needs a cleaner alpha edge", timeout=3000
    )


def test_failed_asset_shows_its_error(
    qtbot: Any, catalog: Catalog, cache: ThumbnailCache, background: BackgroundWork
) -> None:
    project = catalog.create_project("Errors")
    asset = _add(catalog, project.id, "bad.exr", "/p/bad.exr", "image", {})
    catalog.set_asset_failed(asset, "bad.exr is truncated: the file ends after 44 bytes")
    inspector = Inspector(catalog, cache, background)
    qtbot.addWidget(inspector)
    inspector.set_assets(catalog.get_assets([asset]))
    assert not inspector.error_label.isHidden()
    assert "truncated" in inspector.error_label.text()


def test_copy_out_copies_every_frame_of_a_sequence(
    qtbot: Any, tmp_path: Path, catalog: Catalog, cache: ThumbnailCache, background: BackgroundWork
) -> None:
    frames_dir = tmp_path / "frames"
    for frame in range(1001, 1006):
        write_image(frames_dir / f"shot.{frame}.png", 16, 16)
    project = catalog.create_project("Seq")
    sequence = {"directory": str(frames_dir), "pattern": "shot.####.png", "frames": list(range(1001, 1006))}
    asset = _add(catalog, project.id, "shot.[1001-1005].png", str(frames_dir / "shot.1001.png"), "sequence",
                 {"sequence": sequence}, frame_first=1001, frame_last=1005)  # fmt: skip
    inspector = Inspector(catalog, cache, background)
    qtbot.addWidget(inspector)
    inspector.set_assets(catalog.get_assets([asset]))
    destination = tmp_path / "out"
    inspector.start_copy_out(destination)

    # Waiting on the files, not on worker.finished: a warm pool thread can finish the copy before a
    # signal spy could connect.
    def copied() -> list[str]:
        return sorted(
            p.relative_to(destination).as_posix() for p in destination.rglob("*.png") if p.is_file()
        )

    expected = [f"shot.[1001-1005]/shot.{f}.png" for f in range(1001, 1006)]
    qtbot.waitUntil(lambda: copied() == expected, timeout=10_000)


@pytest.fixture
def viewer(qtbot: Any, catalog: Catalog, background: BackgroundWork) -> AssetViewer:
    widget = AssetViewer(catalog, MediaLimits.from_settings(Settings()), background)
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    return widget


def test_viewer_decodes_on_a_worker_then_fits_and_zooms(qtbot: Any, tmp_path: Path, catalog: Catalog,
                                                        viewer: AssetViewer) -> None:  # fmt: skip
    path = write_image(tmp_path / "matte.png", 2000, 1000, alpha=True)
    project = catalog.create_project("View")
    asset = _add(catalog, project.id, "matte.png", str(path), "image", {"width": 2000, "height": 1000})
    record = catalog.get_asset(asset)
    assert record is not None
    with qtbot.waitSignal(viewer.loaded, timeout=10_000):
        viewer.show_asset(record)
        assert viewer.is_loading
    canvas = viewer.canvas
    assert (canvas.image_size().width(), canvas.image_size().height()) == (2000, 1000)
    assert canvas.fit_mode
    assert canvas.zoom == pytest.approx(min(canvas.width() / 2000, canvas.height() / 1000))
    fitted = canvas.image_rect()
    assert fitted.width() <= canvas.width() + 0.5
    assert fitted.height() <= canvas.height() + 0.5

    anchor = QPointF(100, 150)
    before = (anchor - canvas.image_rect().topLeft()) / canvas.zoom
    canvas.zoom_at(canvas.zoom * 2, anchor)
    after = (anchor - canvas.image_rect().topLeft()) / canvas.zoom
    assert (after.x(), after.y()) == pytest.approx((before.x(), before.y())), (
        "zoom keeps the point under the cursor"
    )
    assert not canvas.fit_mode

    canvas.actual_size()
    assert canvas.zoom == 1.0
    canvas.fit()
    assert canvas.zoom < 1.0

    # The alpha half shows the checkerboard, the opaque half the image's colour.
    shot = canvas.grab().toImage()
    rect = canvas.image_rect()
    transparent = shot.pixelColor(int(rect.center().x()), int(rect.top() + rect.height() * 0.25))
    opaque = shot.pixelColor(int(rect.center().x()), int(rect.top() + rect.height() * 0.75))
    assert abs(transparent.red() - transparent.blue()) < 10, "grey checkerboard under alpha"
    assert opaque.red() > 150
    assert opaque.blue() < 100

    with qtbot.waitSignal(viewer.closed, timeout=2000):
        qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert viewer.record is None


def test_viewer_shows_a_clear_message_for_an_undecodable_file(qtbot: Any, tmp_path: Path, catalog: Catalog,
                                                              viewer: AssetViewer) -> None:  # fmt: skip
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(30))
    project = catalog.create_project("Broken")
    record = catalog.get_asset(_add(catalog, project.id, "broken.png", str(broken), "image", {}))
    assert record is not None
    viewer.show_asset(record)
    qtbot.waitUntil(lambda: viewer.pages.currentWidget() is viewer.message_label, timeout=10_000)
    assert "broken.png" in viewer.message_label.text()
