"""Asset actions through the real job controller: the grid's context menu and the viewer queue the
right job kinds; a batch ends in one notification whose click opens its failed job; the status bar
names the inference device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.ai.device import DeviceCapabilities, choose_device
from core.jobs.model import JobState
from tests.ui.conftest import new_assets
from ui.shell.device_status import device_label
from ui.shell.notifications import RecordRole, batch_job_kind

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from core.catalog.catalog import Catalog
    from tests.ui.conftest import RecordingTray
    from ui.shell.main_window import MainWindow


def _actions(menu: QMenu) -> dict[str, Any]:
    return {a.text(): a for a in menu.actions() if a.text()}


def _kinds(catalog: Catalog, asset_id: int) -> list[str]:
    return sorted(d.kind for d in catalog.jobs.find(asset_id=asset_id))


def test_context_menu_queues_the_right_jobs_and_the_batch_notification_opens_the_failed_job(
    qtbot: Any, window: MainWindow, catalog: Catalog, tray: RecordingTray
) -> None:
    project = catalog.create_project("Actions")
    ids = catalog.add_assets(
        new_assets(project.id, 1, prefix="rock", kind="geometry") + new_assets(project.id, 2, prefix="plate")
    )
    rock, plate_a, plate_b = ids["rock-geometry-0"], ids["plate-image-0"], ids["plate-image-1"]
    geometry = catalog.get_assets([rock])

    menu = window.asset_actions.build_menu(geometry, window.grid)
    actions = _actions(menu)
    expected = [
        "Open",
        "Compare",
        "Open with",
        "Reveal in file manager",
        "Copy path",
        "Label",
        "Switch focus / whole thumbnail",
        "Re-render",
    ]
    assert list(actions) == [*expected, "Render turntable", "Classify again", "Enhance", "Analyse shot",
                             "Split sequence into images", "Stack as versions", "Split version stack",
                             "Delete…"]  # fmt: skip
    assert not actions["Enhance"].isEnabled(), "enhance is for images"
    assert not actions["Analyse shot"].isEnabled(), "shot analysis is for videos and sequences"
    assert not actions["Split sequence into images"].isEnabled(), "only a sequence splits"
    actions["Re-render"].trigger()
    actions["Render turntable"].trigger()
    actions["Classify again"].trigger()
    assert _kinds(catalog, rock) == ["classify", "render", "turntable"]

    images = catalog.get_assets([plate_a, plate_b])
    actions = _actions(window.asset_actions.build_menu(images, window.grid))
    assert not actions["Re-render"].isEnabled()
    assert not actions["Open"].isEnabled(), "Open is for one asset"
    assert not actions["Open with"].isEnabled()
    assert actions["Copy paths (2)"].isEnabled()
    actions["Enhance (2)"].trigger()
    assert _kinds(catalog, plate_a) == ["enhance"]
    assert _kinds(catalog, plate_b) == ["enhance"]
    assert "Queued 2 enhancements" in window.statusBar().currentMessage()

    # This registry has no AI steps, so both enhance jobs fail: one summary for the batch.
    # (The rock's three single jobs failed too, each with its own notification: the balloons are batched.)
    qtbot.waitUntil(lambda: any("Enhanced 2 images" in t + b for t, b, _l in tray.messages), timeout=15_000)
    centre_list = window.notification_centre.list
    [item] = [
        centre_list.item(i)
        for i in range(centre_list.count())
        if centre_list.item(i).text().startswith("Enhanced 2 images")
    ]
    assert batch_job_kind(item.data(RecordRole).target) == "enhance"
    window.notification_centre.list.itemClicked.emit(item)
    selected = window.jobs_panel.selected_jobs()
    assert len(selected) == 1
    assert selected[0].kind == "enhance"
    assert selected[0].state == JobState.FAILED
    assert selected[0].asset_id in (plate_a, plate_b)
    assert window.jobs_dock.isVisible()


def test_viewer_requests_go_to_the_job_controller(qtbot: Any, window: MainWindow, catalog: Catalog) -> None:
    project = catalog.create_project("Viewer")
    rock = catalog.add_assets(new_assets(project.id, 1, prefix="rock", kind="geometry"))["rock-geometry-0"]
    record = catalog.get_asset(rock)
    assert record is not None
    window.open_viewer(record)
    window.viewer.bar.turntable_button.click()
    assert _kinds(catalog, rock) == ["turntable"]
    # The job fails here (no render steps in this registry): the viewer stops waiting and says so.
    qtbot.waitUntil(
        lambda: window.viewer.bar.note_label.text().startswith("Turntable failed"), timeout=15_000
    )


def test_status_bar_names_the_inference_device(qtbot: Any, window: MainWindow) -> None:
    window.device_status.start()  # the app starts the probe after the first frame
    qtbot.waitUntil(lambda: window.device_status.text() == "AI: cpu", timeout=5000)
    gpu = DeviceCapabilities(
        torch_version="2.13.0", cuda_available=True, cuda_device_count=1, cuda_device_name="H100",
        cuda_capability=(9, 0),
    )  # fmt: skip
    assert device_label(choose_device("auto", gpu)) == "AI: cuda:0 (fp16)"
