"""File ▸ Publish to project in the main window: a real photo's file goes to the linked server project
and a teammate's client learns of it through the asset's event; the *Published media* dock shows it
*remote*, fetches it, and shows it *downloaded*."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import skimage.data
from PySide6.QtCore import Qt

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.media.hashing import content_hash
from core.media.kinds import AssetKind
from core.paths import AppPaths
from core.sync.media_publish import published_assets
from tests.ui.test_sync_ui import Studio, people, studio
from ui.shell.main_window import MainWindow
from ui.shell.media_wiring import MediaUi
from workers.background import BackgroundWork
from workers.sync_bridge import SyncBridge

__all__ = ["people", "studio"]  # the fixtures this module shares

PHOTO = Path(skimage.data.__file__).with_name("astronaut.png")


def test_publish_to_project_sends_the_selected_assets_file(
    qtbot: Any,
    tmp_path: Path,
    studio: Studio,
    people: dict[str, SyncBridge],
    window: MainWindow,
    catalog: Catalog,
    paths: AppPaths,
    background: BackgroundWork,
) -> None:
    photo = tmp_path / "astronaut.png"
    shutil.copyfile(PHOTO, photo)
    project = catalog.create_project("Local show")
    new = NewAsset(
        project_id=project.id,
        name=photo.name,
        path=str(photo),
        kind=AssetKind.IMAGE,
        content_hash=content_hash(photo),
        size_bytes=photo.stat().st_size,
    )
    asset_id = next(iter(catalog.add_assets([new]).values()))
    media = MediaUi(window, people["bob"], background, paths)
    assert not media.publish_action.isEnabled()
    media.links.link(project.id, studio.project)
    window.sidebar.reload_projects(project.id)
    window.grid.select_asset(asset_id)
    qtbot.waitUntil(media.publish_action.isEnabled, timeout=5000)
    media.publish_action.trigger()
    assert not media.publish_action.isEnabled()  # one publication at a time
    qtbot.waitUntil(lambda: "Published astronaut.png" in window.statusBar().currentMessage(), timeout=20_000)
    alice = people["alice"].store
    qtbot.waitUntil(lambda: bool(published_assets(alice, studio.project)), timeout=10_000)
    (shared,) = published_assets(alice, studio.project)
    assert [(f.name, f.size) for f in shared.files] == [("astronaut.png", photo.stat().st_size)]

    panel = media.panel
    window.sidebar.reload_projects(project.id)  # the dock follows the linked project
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=5000)
    assert panel.state(0) == "remote"
    assert "remote" in panel.list.item(0).text()
    panel.list.item(0).setSelected(True)
    assert panel.fetch_button.isEnabled()
    qtbot.mouseClick(panel.fetch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Downloaded astronaut.png" in window.statusBar().currentMessage(), timeout=20_000)
    assert panel.state(0) == "downloaded"
    assert not panel.fetch_button.isEnabled()
    assert media.cache.path(shared.files[0].sha256, "x.png").read_bytes() == photo.read_bytes()
