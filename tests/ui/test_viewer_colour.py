"""The viewer's colour bar on a real EXR: float probe, exposure, channel view, input space per asset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import OpenEXR
import pytest
from PySide6.QtCore import QPoint, Qt

from core.catalog.records import AssetRecord, NewAsset
from core.media.colour import INPUT_SPACE_KEY
from core.media.limits import MediaLimits
from core.settings import Settings
from ui.viewer.viewer import AssetViewer

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from workers.background import BackgroundWork


@pytest.fixture
def viewer(qtbot: Any, catalog: Catalog, background: BackgroundWork) -> AssetViewer:
    widget = AssetViewer(catalog, MediaLimits.from_settings(Settings()), background)
    qtbot.addWidget(widget)
    widget.resize(1200, 600)
    widget.show()
    return widget


def _exr_asset(catalog: Catalog, tmp_path: Path) -> AssetRecord:
    """64x32 scene-linear plate: left half a hot red (R 4.0), right half mid grey (0.18)."""
    rgb = np.full((32, 64, 3), 0.18, np.float32)
    rgb[:, :32] = (4.0, 0.0, 0.0)
    path = tmp_path / "plate.exr"
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION}, {"RGB": rgb}).write(str(path))
    project = catalog.create_project("P")
    ids = catalog.add_assets([NewAsset(project.id, path.name, str(path), "image", "h-plate", 10, {})])
    record = catalog.get_asset(ids["h-plate"])
    assert record is not None
    return record


def _on_screen(viewer: AssetViewer, x: int, y: int) -> QPoint:
    """Where the middle of image pixel (x, y) is on the canvas."""
    canvas = viewer.canvas
    rect = canvas.image_rect()
    return QPoint(int(rect.x() + (x + 0.5) * canvas.zoom), int(rect.y() + (y + 0.5) * canvas.zoom))


def _shown(viewer: AssetViewer, x: int, y: int) -> tuple[int, int, int]:
    """The displayed colour of image pixel (x, y), as the user sees it on screen."""
    colour = viewer.canvas.grab().toImage().pixelColor(_on_screen(viewer, x, y))
    return colour.red(), colour.green(), colour.blue()


def _change(qtbot: Any, viewer: AssetViewer, action: Any) -> None:
    with qtbot.waitSignal(viewer.colour_bar.rendered, timeout=20_000):
        action()


def test_exr_probe_exposure_and_channels(
    qtbot: Any, tmp_path: Path, catalog: Catalog, viewer: AssetViewer
) -> None:
    record = _exr_asset(catalog, tmp_path)
    with qtbot.waitSignal(viewer.loaded, timeout=20_000):
        viewer.show_asset(record)
    bar = viewer.colour_bar
    assert bar.isVisible()
    assert bar.input_combo.currentText() == "Linear Rec.709 (sRGB)", "an EXR is guessed scene-linear"

    # The probe reports the stored float, far above display white.
    canvas = viewer.canvas
    with qtbot.waitSignal(bar.probed) as probed:
        qtbot.mouseMove(canvas, _on_screen(viewer, 10, 5))
    assert probed.args == ["x 10  y 5   R 4.0000  G 0.0000  B 0.0000  A 1.0000"]

    grey_before = _shown(viewer, 48, 16)
    _change(qtbot, viewer, lambda: bar.exposure_spin.setValue(2.0))
    grey_after = _shown(viewer, 48, 16)
    assert grey_after[0] > grey_before[0] + 30, "two stops up brightens the grey"
    assert bar.exposure_slider.value() == 20

    red = _shown(viewer, 10, 16)
    assert red[0] > red[1] + 20, "still red (the ACES view desaturates highlights towards white)"
    _change(qtbot, viewer, lambda: bar.channel_combo.setCurrentText("R"))
    red_as_grey, grey_in_r = _shown(viewer, 10, 16), _shown(viewer, 48, 16)
    assert min(red_as_grey) > 200, "the red channel is shown as grey"
    assert max(red_as_grey) - min(red_as_grey) < 8
    _change(qtbot, viewer, lambda: bar.channel_combo.setCurrentText("G"))
    assert max(_shown(viewer, 10, 16)) < 10, "the hot red has no green"
    assert grey_in_r[0] > 0

    _change(qtbot, viewer, lambda: qtbot.keyClick(canvas, Qt.Key.Key_C))
    assert bar.channel_combo.currentText() == "B", "C cycles to the next channel"


def test_input_space_choice_is_stored_on_the_asset(
    qtbot: Any, tmp_path: Path, catalog: Catalog, viewer: AssetViewer
) -> None:
    record = _exr_asset(catalog, tmp_path)
    with qtbot.waitSignal(viewer.loaded, timeout=20_000):
        viewer.show_asset(record)
    bar = viewer.colour_bar
    red_as_rec709 = _shown(viewer, 10, 16)

    def choose_acescg() -> None:  # what picking an entry in the combo's popup does
        index = bar.input_combo.findText("ACEScg")
        bar.input_combo.setCurrentIndex(index)
        bar.input_combo.activated.emit(index)

    _change(qtbot, viewer, choose_acescg)
    red_as_acescg = _shown(viewer, 10, 16)
    assert red_as_acescg != red_as_rec709, "the same values mean another colour in another space"
    stored = catalog.get_asset(record.id)
    assert stored is not None
    assert stored.metadata[INPUT_SPACE_KEY] == "ACEScg"

    # Back to the asset later (with the stale record the library holds): the choice is used again.
    viewer.close_viewer()
    with qtbot.waitSignal(viewer.loaded, timeout=20_000):
        viewer.show_asset(record)
    assert viewer.colour_bar.input_combo.currentText() == "ACEScg"
    assert _shown(viewer, 10, 16) == red_as_acescg
