"""A teammate's published clip in the main window of someone who lacks the file: a tile of the linked
project with the synced thumbnail and a cloud badge; double-clicking it downloads the H.264 proxy with
a progress bar and opens it in the viewer with every frame; the badge is gone afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.media.hashing import content_hash
from core.media.kinds import AssetKind
from core.media.limits import MediaLimits
from core.media.thumbnails import make_thumbnail
from core.paths import AppPaths
from core.settings import Settings
from core.sync.media_publish import publish
from core.sync.media_uploads import PendingUploads
from core.sync.remote_assets import is_remote
from core.sync.review_publish import review_publication
from tests.core.media.sound_clips import write_clip_with_sound
from tests.ui.test_player_sound import NO_DEVICE_MESSAGES
from tests.ui.test_sync_ui import Studio, people, studio
from ui.common import theme
from ui.shell.main_window import MainWindow
from ui.shell.media_wiring import MediaUi
from ui.viewer.player import VideoPlayer
from workers.background import BackgroundWork
from workers.sync_bridge import SyncBridge

__all__ = ["people", "studio"]  # the fixtures this module shares

LIMITS = MediaLimits.from_settings(Settings())


def alice_publishes_a_clip(tmp_path: Path, studio: Studio, alice: SyncBridge) -> Path:
    """Alice's own machine: the clip in her catalog, its review media published to the show."""
    (tmp_path / "alice").mkdir()
    clip = write_clip_with_sound(tmp_path / "alice" / "shot020.mov", seconds=2.0, fps=25, size=(320, 180))
    catalog = Catalog(tmp_path / "alice" / "catalog.sqlite3")
    project = catalog.create_project("show")
    digest = content_hash(clip)
    asset_id = catalog.add_assets(
        [NewAsset(project.id, clip.name, str(clip), AssetKind.VIDEO, digest, clip.stat().st_size)]
    )[digest]
    thumbnail = make_thumbnail(clip, AssetKind.VIDEO, tmp_path / "alice" / "thumbs", digest, 256, LIMITS)
    catalog.set_thumbnail(asset_id, str(thumbnail.path))
    record = catalog.get_asset(asset_id)
    assert record is not None
    pending = PendingUploads(tmp_path / "alice" / "uploads.json")
    publication = review_publication(
        pending, studio.project, record, [], tmp_path / "alice" / "cache", LIMITS
    )
    asyncio.run(publish(alice.store, studio.url, studio.tokens["alice"], publication, pending))
    catalog.close()
    return clip


def accent_pixels(image: QImage, area: QRect) -> int:
    """How many pixels of ``area`` are the accent blue of the cloud badge."""
    accent = theme.ACCENT
    count = 0
    for y in range(area.top(), area.bottom(), 2):
        for x in range(area.left(), area.right(), 2):
            pixel = QColor(image.pixel(x, y))
            if abs(pixel.red() - accent.red()) + abs(pixel.green() - accent.green()) < 30 and (
                abs(pixel.blue() - accent.blue()) < 30
            ):
                count += 1
    return count


@pytest.mark.qt_log_ignore(*NO_DEVICE_MESSAGES)  # the viewer looks for a sound device
def test_a_remote_clip_shows_with_its_badge_and_double_click_downloads_and_opens_it(
    qtbot: Any,
    tmp_path: Path,
    studio: Studio,
    people: dict[str, SyncBridge],
    window: MainWindow,
    catalog: Catalog,
    paths: AppPaths,
    background: BackgroundWork,
) -> None:
    project = catalog.create_project("Show (bob)")
    media = MediaUi(window, people["bob"], background, paths)
    media.links.link(project.id, studio.project)
    window.sidebar.reload_projects(project.id)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)

    alice_publishes_a_clip(tmp_path, studio, people["alice"])
    qtbot.waitUntil(lambda: window.model.total == 1, timeout=15_000)
    record = window.model.load_row(0)
    assert record is not None
    assert (record.name, record.kind, is_remote(record)) == ("shot020.mov", AssetKind.VIDEO, True)
    assert record.thumbnail is not None  # the picture the record carried: shown before any download
    assert not Path(record.path).exists()

    view = window.grid.view
    tile = view.visualRect(window.model.index(0))
    # The thumbnail's top-right quarter, inside the selection outline (accent-coloured too).
    corner = QRect(tile.center().x(), tile.top() + 6, tile.width() // 2 - 8, tile.height() // 3)
    qtbot.waitUntil(lambda: accent_pixels(view.viewport().grab().toImage(), corner) > 10, timeout=5000)

    (download,) = [a for a in window.asset_menu([record]).actions() if a.text() == "Download"]
    assert download.isEnabled()

    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=tile.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=tile.center())
    assert record.id in media.remote.fetching, window.statusBar().currentMessage()
    assert media.remote.progress.isVisible()
    qtbot.waitUntil(lambda: window.viewer.record is not None, timeout=30_000)
    shown = window.viewer.record
    assert shown is not None
    assert shown.id == record.id
    assert Path(shown.path).is_file()
    assert not is_remote(shown)
    player = window.viewer.current_page()
    assert isinstance(player, VideoPlayer)
    qtbot.waitUntil(lambda: player.frame_count == 50, timeout=10_000)
    assert "Downloaded shot020.mov" in window.statusBar().currentMessage()
    assert not media.remote.progress.isVisible()
    assert media.panel.state(0) == "downloaded"  # the Published media dock agrees
    # Notes written here land on the asset alice published: the same synced record.
    assert people["bob"].store.find_asset(studio.project, record.content_hash) is not None

    window.close_viewer()
    updated = window.model.load_row(0)
    assert updated is not None
    assert not is_remote(updated)
    (download,) = [a for a in window.asset_menu([updated]).actions() if a.text() == "Download"]
    assert not download.isEnabled()
    qtbot.waitUntil(lambda: accent_pixels(view.viewport().grab().toImage(), corner) == 0, timeout=5000)
