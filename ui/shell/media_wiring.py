"""File ▸ Publish to project: the selected asset's files go to its linked server project (resumably,
on a worker; ``core.sync.media_publish``), and teammates learn of them through the asset's next event.
The *Published media* dock lists what the project's team published, each *downloaded* or *remote*, and
fetches one into the size-capped media cache. The status bar says what happened; a refusal (role,
quota, not linked) says why in the user's words.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget

from core.media.errors import MediaError
from core.media.limits import MediaLimits
from core.sync.links import ProjectLinks
from core.sync.media_cache import MediaCache
from core.sync.media_client import MediaTransferError
from core.sync.media_publish import FetchReport, PublishedAsset, PublishReport, run_fetch
from core.sync.media_uploads import PendingUploads
from core.sync.review_publish import PublishStage, ReviewPublishRequest, run_review_publication
from core.sync.roles import refusal
from ui.collab.published_media import PublishedMediaPanel
from ui.shell.remote_wiring import ProgressRelay, RemoteAssetsUi

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord, ProjectRecord
    from core.paths import AppPaths
    from core.sync.client_events import RecordsChanged
    from ui.shell.main_window import MainWindow
    from workers.background import BackgroundWork
    from workers.sync_bridge import SyncBridge

log = logging.getLogger(__name__)


class MediaUi(QObject):
    def __init__(
        self, window: MainWindow, bridge: SyncBridge, background: BackgroundWork, paths: AppPaths
    ) -> None:
        super().__init__(window)
        self.window, self.bridge, self.background = window, bridge, background
        self.pending = PendingUploads(paths.data_dir / "media-uploads.json")
        self.links = ProjectLinks.in_config_dir(paths.config_dir)
        self.publish_action = QAction("Publish to project", window)
        self.publish_action.triggered.connect(lambda _checked=False: self.publish_selected())
        self.original_action = QAction("Publish originals too", window, checkable=True)
        self.original_action.setToolTip(
            "Besides the review media (full-resolution preview, H.264 proxy, GLB and renders), send "
            "the original files"
        )
        file_menu = window.menus.file
        file_menu.insertAction(window.menus.quit, self.publish_action)
        file_menu.insertAction(window.menus.quit, self.original_action)
        window.grid.selection_changed.connect(lambda _records: self._update_action())
        self._busy = False
        self._update_action()
        self._relay = ProgressRelay(self)
        self._relay.moved.connect(self._on_publish_progress)
        self._publishing = ""

        self.cache = MediaCache(paths.cache_dir / "media", bridge.settings.media_cache_mb << 20)
        self.panel = PublishedMediaPanel(bridge.store, self.cache)
        self.panel.fetch_requested.connect(self.fetch)
        self.dock = QDockWidget("Published media", window)
        self.dock.setObjectName("PublishedMediaDock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.menus.panels.addAction(self.dock.toggleViewAction())
        window.sidebar.project_selected.connect(self._on_project)
        bridge.records_changed.connect(self._on_records_changed)
        self._on_project(window.current_project)
        self.paths = paths
        self.remote = RemoteAssetsUi(window, bridge, background, self.cache, self.links, paths)
        self.remote.downloaded.connect(lambda _record: self.panel.refresh())

    def _on_project(self, project: ProjectRecord | None) -> None:
        server = self.links.server_project(project.id) if project is not None else None
        if project is None:
            why = "Open a shared project to see what the team published."
        elif server is None:
            why = "This project is not shared: link it to a server project in File ▸ Sign in…"
        else:
            why = ""
        self.panel.set_project(server, why)
        self._update_action()

    def _on_records_changed(self, event: RecordsChanged) -> None:
        if event.kind == "asset" and event.project_id == self.panel.project:
            self.panel.refresh()

    def fetch(self, asset: PublishedAsset) -> None:
        token = self.bridge.token
        if not token:
            self.window.statusBar().showMessage("Sign in to fetch (File ▸ Sign in…)", 8000)
            self.panel.refresh()
            return
        self.window.statusBar().showMessage(f"Downloading {asset.name}…")
        work = partial(
            run_fetch,
            self.bridge.url,
            token,
            asset.project,
            asset.files,
            self.cache,
            self.bridge.settings.ca_file,
        )
        self.background.call(
            work, partial(self._fetched, asset), errored=partial(self._fetch_failed, asset.name)
        )

    def _fetched(self, asset: PublishedAsset, report: FetchReport) -> None:
        self.panel.refresh()
        self.remote.mark_fetched(asset, report)
        megabytes = report.received_bytes / 1e6
        self.window.statusBar().showMessage(f"Downloaded {asset.name} ({megabytes:.1f} MB)", 8000)

    def _fetch_failed(self, name: str, error: Exception) -> None:
        self.panel.refresh()
        reason = error.message if isinstance(error, MediaTransferError) else str(error)
        message = f"{name} was not downloaded: {reason}; Download again to go on"
        self.window.statusBar().showMessage(message, 15000)

    def why_not(self, records: list[AssetRecord]) -> str:
        """Why the selection cannot be published now, or "" when it can."""
        if self._busy:
            return "A publication is under way"
        if self.bridge.store.current_user_id() is None:
            return "Sign in first (File ▸ Sign in…)"
        if len(records) != 1:
            return "Select one asset to publish"
        if self.links.server_project(records[0].project_id) is None:
            return "This project is not shared: link it to a server project in File ▸ Sign in…"
        me = self.bridge.store.current_user_id()
        role = next((u.role for u in self.bridge.store.users(None) if u.id == me), None)
        return (refusal(role, "publish_media") or "") if role is not None else ""

    def _update_action(self) -> None:
        why = self.why_not(self.window.grid.selected_records())
        self.publish_action.setEnabled(not why)
        self.publish_action.setToolTip(why or "Upload the selected asset's files for the project's team")

    def publish_selected(self) -> None:
        records = self.window.grid.selected_records()
        why = self.why_not(records)
        if why:
            self.window.statusBar().showMessage(why, 8000)
            return
        record = records[0]
        server = self.links.server_project(record.project_id)
        token = self.bridge.token
        if server is None or not token:
            self.window.statusBar().showMessage("Sign in again to publish (File ▸ Sign in…)", 8000)
            return
        request = ReviewPublishRequest(
            store=self.bridge.store,
            url=self.bridge.url,
            token=token,
            ca_file=self.bridge.settings.ca_file,
            pending=self.pending,
            server_project=server,
            asset=record,
            artifacts=tuple(self.window.catalog.artifacts(record.id)),
            cache_dir=self.paths.cache_dir,
            limits=MediaLimits.from_settings(self.bridge.settings),
            include_original=self.original_action.isChecked(),
        )
        self._busy = True
        self._update_action()
        self.window.statusBar().showMessage(f"Publishing {record.name}: making its review media…")
        self._publishing = record.name
        work = partial(run_review_publication, request, self._relay.moved.emit)
        self.background.call(
            work, partial(self._published, record.name), errored=partial(self._failed, record.name)
        )

    def _on_publish_progress(self, stage: PublishStage) -> None:
        if not self._busy:
            return  # a late report of a publication that has ended
        if stage.stage == "making":
            text = f"making its review media ({stage.fraction:.0%})"
        else:
            text = f"sending {stage.done_bytes / 1e6:.1f} of {stage.total_bytes / 1e6:.1f} MB"
        self.window.statusBar().showMessage(f"Publishing {self._publishing}: {text}")

    def _published(self, name: str, report: PublishReport) -> None:
        self._busy = False
        self._update_action()
        self.panel.refresh()
        megabytes = sum(f.size for f in report.files) / 1e6
        done = "already on the server" if report.sent_bytes == 0 else f"{report.sent_bytes / 1e6:.1f} MB sent"
        self.window.statusBar().showMessage(f"Published {name} ({megabytes:.1f} MB, {done})", 8000)

    def _failed(self, name: str, error: Exception) -> None:
        self._busy = False
        self._update_action()
        if isinstance(error, MediaTransferError):
            message = f"{name} was not published: {error.message}"
        elif isinstance(error, FileNotFoundError | MediaError | ValueError):  # its files, not the network
            message = f"{name} was not published: {error}"
        elif isinstance(error, ConnectionError | OSError):
            message = f"{name} was not published ({error}); Publish again to go on where it stopped"
        else:
            log.error("event=publish_failed asset=%s error=%r", name, error)
            message = f"{name} was not published: {error}"
        self.window.statusBar().showMessage(message, 15000)
