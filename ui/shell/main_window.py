"""The main window: projects and collections | asset grid or viewer | inspector, with Jobs and
Notifications docked below. It owns no work: intents go to the catalog, the job and ingest controllers
and the notifier it is given; their signals (plain dataclasses) update the widgets.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QApplication, QMainWindow, QStackedWidget
from superqt.utils import create_worker

from core.media.kinds import AssetKind
from core.media.limits import MediaLimits
from core.pipeline import JobKind
from ui.common import theme
from ui.common.dialogs import delete_assets_dialog, delete_project_dialog
from ui.common.files import remove_library_copies
from ui.common.stored_values import stored_int
from ui.jobs.jobs_panel import JobsPanel
from ui.library.asset_actions import AssetActions, submitted_message
from ui.library.asset_grid import AssetGrid
from ui.library.asset_model import AssetListModel
from ui.library.filmstrip import FilmstripCache
from ui.library.inspector import Inspector
from ui.library.sidebar import Collection, Sidebar
from ui.library.thumbnail_cache import ThumbnailCache
from ui.shell.catalog_watch import CatalogWatch
from ui.shell.compare_wiring import connect_compare
from ui.shell.device_status import DeviceStatus, probe_device
from ui.shell.drop import DropRouter
from ui.shell.ingest_queue import IngestQueue
from ui.shell.ingest_wiring import IngestHost, IngestRequests
from ui.shell.job_wiring import connect_job_notices
from ui.shell.library_refresh import LibraryRefresh
from ui.shell.menus import AboutFiles, build_menus
from ui.shell.notifications import NotificationCentre
from ui.shell.preferences_opener import PreferencesOpener
from ui.shell.project_dialogs import create_project_interactively, edit_project_interactively
from ui.shell.review_wiring import ReviewHost, ReviewSessions
from ui.shell.status_line import StatusLine
from ui.shell.version_wiring import connect_versions
from ui.shell.watch_wiring import WatchFolders
from ui.shell.window_layout import add_bottom_docks, build_main_splitter
from ui.shell.window_state import RememberedLayout
from ui.viewer.player_page import clip_compare_factory, player_page_factory
from ui.viewer.viewer import AssetViewer

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QShowEvent
    from PySide6.QtWidgets import QMenu

    from core.ai.device import DeviceChoice
    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord, ProjectRecord
    from core.paths import AppPaths
    from core.settings import Settings
    from ui.preferences.preferences import PreferencesDialog
    from ui.shell.notifications import Notifier
    from workers.background import BackgroundWork
    from workers.ingest_controller import IngestController
    from workers.job_controller import JobController

log = logging.getLogger(__name__)

UI_STATE_FILE = "ui.ini"


class MainWindow(QMainWindow):
    connection_clicked = Signal()  # the status bar's sync state was clicked (sign in)

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        paths: AppPaths,
        jobs: JobController,
        ingest: IngestController,
        notifier: Notifier,
        *,
        background: BackgroundWork,
        thumbnails: ThumbnailCache | None = None,
        device_probe: Callable[[], DeviceChoice] | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.setWindowTitle("StratoPipe")
        self.setWindowIcon(theme.icon("app"))
        self.catalog, self.settings, self.paths = catalog, settings, paths
        self.jobs, self.ingest, self.notifier = jobs, ingest, notifier
        self.background = background
        self.thumbnails = thumbnails or ThumbnailCache(background, parent=self)
        self.ui_state = QSettings(str(paths.config_dir / UI_STATE_FILE), QSettings.Format.IniFormat)
        self._splitters_restored = False

        self.model = AssetListModel(catalog, self.thumbnails, parent=self)
        self.filmstrips = FilmstripCache(catalog, background, parent=self)
        self.asset_actions = AssetActions(jobs, settings, self)
        self.sidebar = Sidebar(catalog)
        self.grid = AssetGrid(self.model, filmstrips=self.filmstrips)
        self.viewer = AssetViewer(
            catalog, MediaLimits.from_settings(settings), background, ocio_config=settings.ocio_config
        )
        for clip_kind in (AssetKind.VIDEO, AssetKind.SEQUENCE, AssetKind.AUDIO):
            self.viewer.register_page(clip_kind, player_page_factory(MediaLimits.from_settings(settings)))
        self.viewer.register_clip_compare(clip_compare_factory(MediaLimits.from_settings(settings)))
        self.inspector = Inspector(catalog, self.thumbnails, background)
        self.library_refresh = LibraryRefresh(
            self, catalog, self.model, self.grid, self.sidebar, self.inspector, self.viewer,
            (self.thumbnails, self.filmstrips), self.statusBar().showMessage,
        )  # fmt: skip
        self.centre = QStackedWidget()
        self.centre.addWidget(self.grid)
        self.centre.addWidget(self.viewer)
        self.splitter = build_main_splitter(self.sidebar, self.centre, self.inspector)
        self.setCentralWidget(self.splitter)

        self.jobs_panel = JobsPanel(catalog, jobs)
        self.notification_centre = NotificationCentre(catalog, notifier)
        docks = add_bottom_docks(self, self.jobs_panel, self.notification_centre)
        self.jobs_dock, self.notifications_dock = docks.jobs, docks.notifications

        self._build_status_bar(device_probe or partial(probe_device, settings.inference_device))
        self.preferences = PreferencesOpener(self, settings, paths, background, self.statusBar().showMessage)
        self.ingest_requests = IngestRequests(
            IngestHost(
                window=self, current_project=lambda: self.current_project, create_project=self.create_project,
                library=self.library_refresh, tell=self.statusBar().showMessage,
            ),
            ingest, self.ingest_queue, paths, notifier,
        )  # fmt: skip
        self.menus = build_menus(
            self,
            self,
            self.ingest_requests,
            self.grid,
            panels=(("Projects and collections", self.sidebar), ("Inspector", self.inspector)),
            docks=(self.jobs_dock, self.notifications_dock),
            about=AboutFiles(catalog.db_file, paths.log_dir),
        )
        # Features wired in from outside (ui/shell/*_wiring): a guard that handles opening an asset
        # itself answers True (a teammate's asset is fetched first); extenders add to the asset menu.
        self.open_guards: list[Callable[[AssetRecord], bool]] = []
        self.asset_menu_extenders: list[Callable[[list[AssetRecord], QMenu], None]] = []
        self._connect()
        connect_compare(self.asset_actions, self.grid, self.viewer, self.centre)
        connect_versions(self.asset_actions, self.catalog, self.refresh, self.statusBar().showMessage)
        self.review = ReviewSessions(
            ReviewHost(
                window=self, viewer=self.viewer, catalog=catalog, settings=settings,
                config_dir=paths.config_dir, background=self.background,
                current_project=lambda: self.current_project, selected_records=self.grid.selected_records,
                show_viewer=lambda: self.centre.setCurrentWidget(self.viewer),
                tell=self.statusBar().showMessage,
            )
        )  # fmt: skip
        self.menuBar().insertMenu(self.menus.help.menuAction(), self.review.menu)
        self.job_notices = connect_job_notices(
            jobs,
            notifier,
            self.notification_centre,
            catalog,
            self._viewer_record,
            self.open_viewer,
            self.reveal_asset,
            dialog_parent=self,
        )
        self.watch_folders = WatchFolders(self, catalog, paths, self.sidebar, self.ingest_queue, notifier)
        self.catalog_watch = CatalogWatch(  # another program's ingest shows up without F5
            self,
            catalog.db_file,
            ingest,
            self.library_refresh.refresh_after_ingest,
            self.statusBar().showMessage,
        )
        self.drops = DropRouter(self, self.ingest_requests.drop_target_text)
        self.drops.dropped.connect(self.ingest_requests.ingest)
        self.setAcceptDrops(True)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.drops)
        self.resize(1600, 1000)
        self.layout_memory = RememberedLayout(
            self,
            self.ui_state,
            {"window/splitter": self.splitter, "window/sidebar_splitter": self.sidebar.splitter},
            self.grid,
            self.jobs_panel.chart_button,
            self.jobs_panel.show_chart,
        )
        self.layout_memory.restore()
        self.sidebar.reload_projects(stored_int(self.ui_state, "session/project_id") or None)
        self.status_label.update_text()

    # ---- construction ----------------------------------------------------------------------------

    def _build_status_bar(self, device_probe: Callable[[], DeviceChoice]) -> None:
        status = self.statusBar()
        self.device_status = DeviceStatus(device_probe, self.background)
        self.status_label = StatusLine(self.catalog, lambda: self.model.total)
        self.status_label.sync_clicked.connect(self.connection_clicked)
        self.ingest_queue = IngestQueue(
            self.ingest, status, lambda: self.settings.copy_into_library, parent=self
        )
        status.addPermanentWidget(self.status_label)
        status.addPermanentWidget(self.device_status)
        # Started by the app after the first frame: the probe imports torch, which would hold the
        # interpreter while the window is being built. Tests and scripts call start() themselves.

    def _connect(self) -> None:
        self.sidebar.project_selected.connect(self._on_project_selected)
        self.sidebar.collection_selected.connect(self._on_collection_selected)
        self.sidebar.new_project_requested.connect(self.create_project)
        self.sidebar.edit_project_requested.connect(self.edit_project)
        self.sidebar.delete_project_requested.connect(self.delete_project)
        self.grid.selection_changed.connect(self.inspector.set_assets)
        self.grid.open_requested.connect(self.open_viewer)
        self.grid.context_menu_requested.connect(lambda records, pos: self.asset_menu(records).exec(pos))
        self.asset_actions.open_requested.connect(self.open_viewer)
        self.asset_actions.delete_requested.connect(self.delete_selected)
        self.asset_actions.split_requested.connect(self.ingest.split_sequence)
        self.ingest.sequence_split.connect(self.library_refresh.on_sequence_split)
        self.asset_actions.submitted.connect(
            lambda kind, docs: self.statusBar().showMessage(submitted_message(kind, docs), 5000)
        )
        self.viewer.job_requested.connect(
            lambda kind, record: self.asset_actions.submit(JobKind(kind), [record])
        )
        self.jobs.job_updated.connect(self.viewer.on_job_updated)
        self.notification_centre.job_requested.connect(self.show_job)
        self.model.total_changed.connect(lambda _t: self.status_label.update_text())
        self.inspector.asset_edited.connect(self.library_refresh.on_asset_edited)
        self.inspector.curator.assets_changed.connect(self.library_refresh.on_assets_curated)
        self.grid.rating_keyed.connect(self.inspector.curator.set_rating)
        self.asset_actions.label_requested.connect(self.inspector.curator.set_label)
        self.grid.view.addAction(
            self.asset_actions.switch_thumbnails_action(self.grid.selected_records, self.grid.view)
        )
        self.asset_actions.thumbnails_switched.connect(self.model.update_assets)
        self.grid.save_search_requested.connect(self.sidebar.save_search)
        self.sidebar.saved_search_selected.connect(lambda search: self.grid.apply_query(search.query))
        self.viewer.closed.connect(self._on_viewer_closed)
        self.viewer.navigate.connect(self.step_viewer)
        self.notification_centre.asset_requested.connect(self.reveal_asset)
        self.jobs_panel.asset_requested.connect(self.reveal_asset)
        self.jobs.job_updated.connect(self.status_label.on_job_updated)
        self.jobs.asset_changed.connect(self.library_refresh.on_asset_changed)

    # ---- projects --------------------------------------------------------------------------------

    @property
    def current_project(self) -> ProjectRecord | None:
        return self.sidebar.current_project

    def create_project(self, *, message: str = "", suggested_name: str = "") -> ProjectRecord | None:
        project = create_project_interactively(
            self, self.catalog, message=message, suggested_name=suggested_name
        )
        if project is not None:
            self.sidebar.reload_projects(project.id)
        return project

    def edit_project(self, project: ProjectRecord | None = None) -> None:
        project = project or self.current_project
        if project is not None and edit_project_interactively(self, self.catalog, project):
            self.sidebar.reload_projects(project.id)

    def delete_project(self, project: ProjectRecord | None = None) -> bool:
        project = project or self.current_project
        if project is None:
            return False
        copied = self.catalog.count_copied(project.id)
        if not delete_project_dialog(self, project, copied=copied).exec():
            return False
        self._remove_copies(self.catalog.delete_project(project.id))
        self.statusBar().showMessage(f"Deleted project {project.name}", 5000)
        self.sidebar.reload_projects()
        return True

    def _on_project_selected(self, project: ProjectRecord | None) -> None:
        project_id = project.id if project else None
        title = f"{project.name} — StratoPipe" if project else "StratoPipe"
        self.setWindowTitle(title)
        if project_id != self.model.query.project_id or project_id is None:
            self.close_viewer()
            tags = self.catalog.tag_counts(project_id) if project_id is not None else []
            self.grid.set_project(project_id, tags)
            self.ui_state.setValue("session/project_id", project_id or 0)
        self.status_label.update_text()

    def _on_collection_selected(self, collection: Collection) -> None:
        self.close_viewer()
        self.grid.apply_collection(collection.kind, collection.tag, collection.recent_days)

    # ---- assets ----------------------------------------------------------------------------------

    def delete_selected(self) -> bool:
        if self.centre.currentWidget() is not self.grid:
            return False
        records = self.grid.selected_records()
        if not records:
            return False
        copied = sum(1 for r in records if r.copied)
        if not delete_assets_dialog(self, len(records), copied).exec():
            return False
        removed = self.catalog.delete_assets([r.id for r in records])
        self.model.remove_assets([r.id for r in removed])
        self._remove_copies(removed)
        self.library_refresh.refresh_counts()
        return True

    def _remove_copies(self, records: list[AssetRecord]) -> None:
        if any(r.copied for r in records):
            worker = create_worker(
                remove_library_copies, records, self.paths.library_dir, _start_thread=False
            )
            worker.returned.connect(lambda n: log.info("Deleted %d copied-in files", n))
            self.background.start(worker)

    def reveal_asset(self, asset_id: int) -> None:
        record = self.catalog.get_asset(asset_id)
        if record is None:
            self.statusBar().showMessage("That asset is no longer in the catalog", 5000)
            return
        if self.current_project is None or record.project_id != self.current_project.id:
            self.sidebar.select_project(record.project_id)
        self.close_viewer()
        if not self.grid.select_asset(asset_id):
            self.sidebar.select_all_assets()
            self.grid.filter_bar.search_box.clear()
            self.grid.select_asset(asset_id)

    def show_job(self, job_id: int) -> None:
        """Bring the Jobs panel up with one job selected (a notification's failed job)."""
        self.jobs_dock.show()
        self.jobs_dock.raise_()
        if not self.jobs_panel.show_job(job_id):
            self.statusBar().showMessage("That job is no longer in the list", 5000)

    def refresh(self) -> None:
        self.library_refresh.refresh()

    # ---- viewer ----------------------------------------------------------------------------------

    def open_viewer(self, record: AssetRecord | None = None) -> None:
        record = record or self.grid.current_record()
        if record is None:
            selected = self.grid.selected_records()
            record = selected[0] if selected else None
        if record is None or any(guard(record) for guard in self.open_guards):
            return
        row = self.model.row_of(record.id)
        position = f"{row + 1:,} of {self.model.total:,}" if row is not None else ""
        self.centre.setCurrentWidget(self.viewer)
        self.viewer.show_asset(record, position)
        self.viewer.focus_picture()

    def asset_menu(self, records: list[AssetRecord]) -> QMenu:
        menu = self.asset_actions.build_menu(records, self.grid)
        for extend in self.asset_menu_extenders:
            extend(records, menu)
        return menu

    def step_viewer(self, delta: int) -> None:
        if self.review.run.step(delta):  # a playlist being played steps through the playlist
            return
        current = self.viewer.record
        row = self.model.row_of(current.id) if current is not None else None
        if row is None:
            return
        target = row + delta
        record = self.model.load_row(target)
        if record is not None:
            self.grid.select_row(target)
            self.open_viewer(record)

    def close_viewer(self) -> None:
        if self.centre.currentWidget() is self.viewer:
            self.viewer.close_viewer()

    def _on_viewer_closed(self) -> None:
        self.centre.setCurrentWidget(self.grid)
        self.grid.view.setFocus()

    # ---- status and commands ---------------------------------------------------------------------

    def set_connection_state(self, text: str) -> None:
        """The sync client's state in words ("online", "offline", "reconnecting in 5 s")."""
        self.status_label.set_connection_state(text)
        self.job_notices.sync.update(text)

    def _viewer_record(self) -> AssetRecord | None:
        return self.viewer.record if self.centre.currentWidget() is self.viewer else None

    def focus_search(self) -> None:
        self.close_viewer()
        self.grid.filter_bar.search_box.setFocus()
        self.grid.filter_bar.search_box.selectAll()

    def open_preferences(self) -> PreferencesDialog:
        return self.preferences.open()

    # ---- drops (the DropRouter catches drops on children; these cover the window itself) ----------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.drops.eventFilter(self, event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.drops.eventFilter(self, event)

    # ---- window state ----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._splitters_restored:
            self._splitters_restored = True
            self.layout_memory.restore_splitters()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.watch_folders.stop()  # no new ingest starts while the app closes
        self.inspector.set_assets([])  # flushes unsaved notes
        self.close_viewer()  # a playing clip's decode thread stops now, not at interpreter exit
        self.layout_memory.save()
        self.notifier.flush()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.drops)
        super().closeEvent(event)
