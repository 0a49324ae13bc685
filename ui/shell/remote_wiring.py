"""Teammates' published assets in the grid: each a tile with its synced thumbnail and a cloud badge
(``core.sync.remote_assets``), fetched on demand into the media cache, then opened in the viewer.

Opening a remote tile (double-click, Enter, the menu's Open) or the menu's *Download* fetches its
review media on a worker, with a progress bar in the status bar; the tile loses its badge when the
files are verified and in the cache, and the viewer opens it if the user asked to open it. An asset
evicted from the size-capped cache since is fetched again the same way.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QProgressBar

from core.sync.media_client import MediaTransferError
from core.sync.media_publish import review_files, run_fetch
from core.sync.remote_assets import (
    SeenPublications,
    add_remote_assets,
    mark_downloaded,
    needs_fetch,
    remote_info,
)
from ui.library.remote_badge import BADGE_TIP

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from core.catalog.records import AssetRecord
    from core.paths import AppPaths
    from core.sync.client_events import RecordsChanged
    from core.sync.links import ProjectLinks
    from core.sync.media_cache import MediaCache
    from core.sync.media_publish import FetchReport, MediaFile, PublishedAsset, TransferProgress
    from ui.shell.main_window import MainWindow
    from workers.background import BackgroundWork
    from workers.sync_bridge import SyncBridge

log = logging.getLogger(__name__)


class ProgressRelay(QObject):
    """Carries a transfer's progress from its worker thread to the UI thread (a queued signal)."""

    moved = Signal(object)  # TransferProgress, PublishStage


class RemoteAssetsUi(QObject):
    downloaded = Signal(object)  # AssetRecord whose media are now in the cache

    def __init__(
        self,
        window: MainWindow,
        bridge: SyncBridge,
        background: BackgroundWork,
        cache: MediaCache,
        links: ProjectLinks,
        paths: AppPaths,
    ) -> None:
        super().__init__(window)
        self.window, self.bridge, self.background = window, bridge, background
        self.cache, self.links, self.paths = cache, links, paths
        self.seen = SeenPublications(paths.data_dir / "remote-assets.json")
        self.fetching: dict[int, bool] = {}  # catalog asset id -> open it when fetched
        self._fetching_name = ""
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        window.statusBar().addPermanentWidget(self.progress)
        self._relay = ProgressRelay(self)
        self._relay.moved.connect(self._on_progress)
        window.open_guards.append(self._open_guard)
        window.asset_menu_extenders.append(self._extend_menu)
        bridge.records_changed.connect(self._on_records_changed)
        self.refresh_catalog()

    # -- the grid's remote tiles -------------------------------------------------------------------
    def refresh_catalog(self) -> list[int]:
        """Add (or update) the published assets the linked projects lack; repaint when any changed."""
        changed = add_remote_assets(
            self.window.catalog,
            self.bridge.store,
            self.links.all(),
            self.cache,
            self.paths.thumbnail_dir,
            self.seen,
        )
        if changed:
            self.window.refresh()
        return changed

    def _on_records_changed(self, event: RecordsChanged) -> None:
        if event.kind == "asset" and self.links.local_projects(event.project_id):
            self.refresh_catalog()

    # -- fetching ----------------------------------------------------------------------------------
    def _open_guard(self, record: AssetRecord) -> bool:
        """Opening a remote asset fetches it first (then opens it); True when that is what happens."""
        if not needs_fetch(record):
            return False
        self.download(record, open_after=True)
        return True

    def _extend_menu(self, records: list[AssetRecord], menu: QMenu) -> None:
        remote = [r for r in records if remote_info(r) is not None]
        if not remote:
            return
        wanted = [r for r in remote if needs_fetch(r)]
        label = "Download" if len(wanted) < 2 else f"Download ({len(wanted)})"
        action = QAction(label, menu, enabled=bool(wanted))
        action.setToolTip(BADGE_TIP if wanted else "Already on this machine")
        action.triggered.connect(lambda _checked=False: [self.download(r) for r in wanted])
        actions = menu.actions()
        if len(actions) > 1:
            menu.insertAction(actions[1], action)  # right after Open
        else:
            menu.addAction(action)

    def download(self, record: AssetRecord, *, open_after: bool = False) -> bool:
        """Fetch the asset's media into the cache; False when it cannot start (said in the status bar)."""
        info = remote_info(record)
        if info is None:
            return False
        if record.id in self.fetching:
            self.fetching[record.id] |= open_after
            return True
        token = self.bridge.token
        if not token:
            self.window.statusBar().showMessage(f"Sign in to download {record.name} (File ▸ Sign in…)", 8000)
            return False
        self.fetching[record.id] = open_after
        files = review_files(info.files)  # originals sent along stay on the server until asked for
        self._show_progress(record.name, 0, sum(f.size for f in files))
        work = partial(
            run_fetch,
            self.bridge.url,
            token,
            info.server_project,
            files,
            self.cache,
            self.bridge.settings.ca_file,
            self._relay.moved.emit,
        )
        self.background.call(
            work, partial(self._fetched, record, files), errored=partial(self._fetch_failed, record)
        )
        return True

    def _show_progress(self, name: str, done: int, total: int) -> None:
        self._fetching_name = name
        self.progress.setValue(round(1000 * done / total) if total else 0)
        self.progress.setFormat(f"{name}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")
        self.progress.setToolTip(f"Downloading {name} from the project")
        self.progress.show()

    def _on_progress(self, progress: TransferProgress) -> None:
        if self.progress.isVisible():
            self._show_progress(self._fetching_name, progress.done_bytes, progress.total_bytes)

    def _finish(self, record: AssetRecord) -> bool:
        open_after = self.fetching.pop(record.id, False)
        if not self.fetching:
            self.progress.hide()
        return open_after

    def _fetched(self, record: AssetRecord, files: list[MediaFile], report: FetchReport) -> None:
        open_after = self._finish(record)
        updated = mark_downloaded(self.window.catalog, record, files, report.paths)
        self.window.model.update_assets([updated])
        self.downloaded.emit(updated)
        megabytes = report.received_bytes / 1e6
        self.window.statusBar().showMessage(f"Downloaded {record.name} ({megabytes:.1f} MB)", 8000)
        if open_after:
            self.window.open_viewer(updated)

    def _fetch_failed(self, record: AssetRecord, error: Exception) -> None:
        self._finish(record)
        if isinstance(error, MediaTransferError):
            reason = error.message
        elif isinstance(error, ConnectionError | OSError):
            reason = f"{error}; Download again to go on where it stopped"
        else:
            log.error("event=remote_fetch_failed asset=%s error=%r", record.name, error)
            reason = str(error)
        self.window.statusBar().showMessage(f"{record.name} was not downloaded: {reason}", 15000)

    def mark_fetched(self, asset: PublishedAsset, report: FetchReport) -> None:
        """The *Published media* dock fetched an asset: its tile shows it is here now."""
        catalog = self.window.catalog
        for local in self.links.local_projects(asset.project):
            held = catalog.existing_hashes(local, [asset.content_hash]).get(asset.content_hash)
            record = catalog.get_asset(held) if held is not None else None
            if record is not None and remote_info(record) is not None:
                updated = mark_downloaded(catalog, record, asset.files, report.paths)
                self.window.model.update_assets([updated])
