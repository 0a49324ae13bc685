"""The viewer's on-demand products: enhanced copy side by side (one zoom and pan), focus box, turntable."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt

from core.catalog.catalog import Catalog
from core.catalog.records import AssetRecord, NewAsset
from core.jobs.model import JobDocument, JobState
from core.media.limits import MediaLimits
from core.settings import Settings
from tests.ui.conftest import write_image
from ui.viewer.viewer import AssetViewer
from workers.background import BackgroundWork


@pytest.fixture
def viewer(qtbot: Any, catalog: Catalog, background: BackgroundWork) -> AssetViewer:
    widget = AssetViewer(catalog, MediaLimits.from_settings(Settings()), background)
    qtbot.addWidget(widget)
    widget.resize(1000, 600)
    widget.show()
    return widget


def _asset(catalog: Catalog, path: Path, kind: str, metadata: dict[str, Any]) -> AssetRecord:
    project = catalog.project_by_name("P") or catalog.create_project("P")
    ids = catalog.add_assets(
        [NewAsset(project.id, path.name, str(path), kind, f"h-{path.name}", 10, metadata)]
    )
    record = catalog.get_asset(ids[f"h-{path.name}"])
    assert record is not None
    return record


def _show(qtbot: Any, viewer: AssetViewer, record: AssetRecord) -> None:
    with qtbot.waitSignal(viewer.loaded, timeout=10_000):
        viewer.show_asset(record)


def test_enhance_asks_for_the_job_then_shows_both_with_one_zoom_and_pan(
    qtbot: Any, tmp_path: Path, catalog: Catalog, viewer: AssetViewer
) -> None:
    original = write_image(tmp_path / "plate.png", 400, 200, (200, 60, 30))  # BGR: blue
    before = hashlib.sha256(original.read_bytes()).hexdigest()
    record = _asset(catalog, original, "image", {"width": 400, "height": 200})
    _show(qtbot, viewer, record)
    requests: list[tuple[str, int]] = []
    viewer.job_requested.connect(lambda kind, rec: requests.append((kind, rec.id)))

    qtbot.keyClick(viewer.canvas, Qt.Key.Key_E)
    assert requests == [("enhance", record.id)]
    assert viewer.bar.note_label.text() == "Enhancing…"
    assert not viewer.comparing

    # The enhance job's product: an upscaled copy (twice the size), in another colour to tell them apart.
    enhanced = write_image(tmp_path / "artifacts" / "plate-enhanced.png", 800, 400, (30, 60, 220))  # red
    catalog.add_artifact(record.id, "enhanced", str(enhanced))
    fresh = catalog.get_asset(record.id)
    assert fresh is not None
    with qtbot.waitSignal(viewer.compare_shown, timeout=10_000):
        viewer.refresh_asset(fresh)
    assert viewer.comparing
    assert viewer.bar.note_label.text() == ""
    left, right = viewer.canvas, viewer.compare_canvas
    assert left.width() == pytest.approx(right.width(), abs=2), "two equal halves"

    shot = viewer.stage.grab().toImage()
    left_colour = shot.pixelColor(left.geometry().center())
    right_colour = shot.pixelColor(right.geometry().center())
    assert left_colour.blue() > 150
    assert left_colour.red() < 80
    assert right_colour.red() > 150
    assert right_colour.blue() < 80

    # Zoom one side: the other shows the same part of the picture (its image is twice as large).
    left.zoom_at(left.zoom * 3, QPointF(120, 140))
    assert right.zoom == pytest.approx(left.zoom / 2)
    assert right.image_rect().topLeft() == left.image_rect().topLeft()
    assert right.image_rect().width() == pytest.approx(left.image_rect().width())
    # Pan the other side with the mouse: the first follows.
    start = left.image_rect().topLeft()
    qtbot.mousePress(right, Qt.MouseButton.LeftButton, pos=QPoint(300, 300))
    qtbot.mouseMove(right, QPoint(260, 280))
    qtbot.mouseRelease(right, Qt.MouseButton.LeftButton, pos=QPoint(260, 280))
    moved = left.image_rect().topLeft() - start
    assert (moved.x(), moved.y()) == pytest.approx((-40, -20))
    assert right.image_rect().topLeft() == left.image_rect().topLeft()

    qtbot.keyClick(viewer.canvas, Qt.Key.Key_E)
    assert not viewer.comparing, "E again goes back to the original alone"
    assert hashlib.sha256(original.read_bytes()).hexdigest() == before, "the original is never touched"


def test_enhance_failure_is_reported_instead_of_waiting(
    qtbot: Any, tmp_path: Path, catalog: Catalog, viewer: AssetViewer
) -> None:
    record = _asset(catalog, write_image(tmp_path / "a.png", 64, 64), "image", {"width": 64, "height": 64})
    _show(qtbot, viewer, record)
    viewer.toggle_enhance()
    failed = JobDocument.new("enhance", ["enhance"], asset_id=record.id)
    failed.state, failed.error = JobState.FAILED, "a.png is not an image this build can decode"
    viewer.on_job_updated(failed)
    assert viewer.bar.note_label.text().startswith("Enhance failed: a.png is not an image")
    assert not viewer.bar.enhance_button.isChecked()


def test_focus_box_toggle_draws_the_crop_in_image_pixels(
    qtbot: Any, tmp_path: Path, catalog: Catalog, viewer: AssetViewer
) -> None:
    path = write_image(tmp_path / "portrait.png", 400, 200, (40, 200, 40))
    metadata = {"width": 400, "height": 200, "focus_box": [100, 50, 80, 40], "focus_method": "saliency"}
    record = _asset(catalog, path, "image", metadata)
    _show(qtbot, viewer, record)
    canvas = viewer.canvas
    assert viewer.bar.focus_button.isEnabled()
    outside = canvas.image_rect().topLeft() + QPointF(10, 10)
    plain = canvas.grab().toImage().pixelColor(outside.toPoint())

    qtbot.keyClick(canvas, Qt.Key.Key_F)
    assert canvas.overlay_box == QRectF(100, 50, 80, 40)
    box = canvas.overlay_rect()
    assert box is not None
    image = canvas.image_rect()
    assert box.x() == pytest.approx(image.x() + 100 * canvas.zoom)
    assert box.width() == pytest.approx(80 * canvas.zoom)
    shot = canvas.grab().toImage()
    assert shot.pixelColor(box.center().toPoint()).green() == pytest.approx(plain.green(), abs=3)
    assert shot.pixelColor(outside.toPoint()).green() < plain.green() - 40, "outside the crop is dimmed"

    qtbot.keyClick(canvas, Qt.Key.Key_F)
    assert canvas.overlay_box is None

    other = _asset(catalog, write_image(tmp_path / "b.png", 64, 64), "image", {"width": 64, "height": 64})
    _show(qtbot, viewer, other)
    assert not viewer.bar.focus_button.isEnabled()
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_F)
    assert viewer.canvas.overlay_box is None, "no box without a focus crop"


def _write_mp4(path: Path, frames: int = 6) -> Path:
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(frames):
            pixels = np.full((64, 64, 3), i * 40, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_geometry_shows_the_best_render_and_renders_a_turntable_on_demand(
    qtbot: Any, tmp_path: Path, catalog: Catalog, viewer: AssetViewer
) -> None:
    mesh = tmp_path / "rock.obj"
    mesh.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    record = _asset(catalog, mesh, "geometry", {"faces": 1})
    catalog.add_artifact(record.id, "render_thumbnail", str(write_image(tmp_path / "thumb.png", 128, 128)))
    catalog.add_artifact(record.id, "preview", str(write_image(tmp_path / "preview.png", 512, 512)))
    _show(qtbot, viewer, record)
    assert viewer.canvas.image_size().width() == 512, "the 2048 px preview beats the render thumbnail"
    assert viewer.bar.turntable_button.isVisibleTo(viewer)
    assert not viewer.bar.enhance_button.isVisibleTo(viewer)

    requests: list[str] = []
    viewer.job_requested.connect(lambda kind, _rec: requests.append(kind))
    viewer.bar.turntable_button.click()
    assert requests == ["turntable"]
    assert viewer.bar.note_label.text() == "Rendering turntable…"
    assert not viewer.bar.turntable_button.isEnabled(), "one request at a time"

    catalog.add_artifact(record.id, "turntable", str(_write_mp4(tmp_path / "rock-turntable.mp4")))
    fresh = catalog.get_asset(record.id)
    assert fresh is not None
    viewer.refresh_asset(fresh)
    assert viewer.turntable_shown
    assert viewer.bar.note_label.text() == ""
    assert viewer.bar.turntable_button.isChecked()

    viewer.bar.turntable_button.click()
    assert not viewer.turntable_shown
    assert viewer.pages.currentWidget() is viewer.stage
