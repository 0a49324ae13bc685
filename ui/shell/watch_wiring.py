"""Watch folders in the window: the sidebar's dialogs, and each settled batch ingested as a drop is.

A batch goes through the ``IngestQueue`` like a drop (it waits behind a running ingest) into the watch's
project with the watch's processing profile. The watcher is told the batch was handled only when that
ingest has ended, so a batch still queued at quit is handed out again at the next start.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from core.notify import NotificationKind
from core.profiles import ProfileError, load_profiles, profiles_file
from ui.library.watch_folders import WatchedFoldersDialog, open_add_watch

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from core.catalog.catalog import Catalog
    from core.catalog.records import ProjectRecord
    from core.paths import AppPaths
    from core.watch.watcher import WatchEvent
    from ui.library.sidebar import Sidebar
    from ui.shell.ingest_queue import IngestQueue
    from ui.shell.notifications import Notifier
    from workers.watch_runner import WatchRunner

log = logging.getLogger(__name__)


class WatchFolders(QObject):
    def __init__(
        self,
        window: QWidget,
        catalog: Catalog,
        paths: AppPaths,
        sidebar: Sidebar,
        queue: IngestQueue,
        notifier: Notifier,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._catalog = catalog
        self._paths = paths
        self._queue = queue
        self._notifier = notifier
        self._runner: WatchRunner | None = None
        sidebar.watch_folder_requested.connect(self.add_watch)
        sidebar.watched_folders_requested.connect(self.show_watches)

    def attach(self, runner: WatchRunner) -> None:
        """The app's watcher thread (app/gui.py): its batches and folder reports come here."""
        self._runner = runner
        runner.settled.connect(self._on_settled)
        runner.folder_missing.connect(self._on_missing)
        runner.folder_resumed.connect(self._on_resumed)
        runner.failed.connect(self._on_failed)

    def stop(self) -> None:
        """The window closes: no new batch is taken; the app joins the thread at shutdown."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.request_stop()

    def add_watch(self, project: ProjectRecord) -> None:
        dialog = open_add_watch(self._paths, project.name, self._window)
        if dialog is not None:
            dialog.watches_changed.connect(self._wake)
            dialog.exec()

    def show_watches(self) -> None:
        dialog = WatchedFoldersDialog(self._paths, self._window)
        dialog.watches_changed.connect(self._wake)
        dialog.exec()

    def _wake(self) -> None:
        if self._runner is not None:
            self._runner.wake()

    def _on_settled(self, event: WatchEvent) -> None:
        runner = self._runner
        if runner is None:
            return  # closing: the batch stays unrecorded and comes back at the next start
        watch = event.watch
        try:
            profile = load_profiles(profiles_file(self._paths)).for_ingest(watch.project, watch.profile)
        except ProfileError as exc:
            self._notifier.notify(
                NotificationKind.INGEST,
                f"Not ingesting {len(event.paths)} file(s) from {watch.path}",
                str(exc),
                level="error",
            )
            runner.batch_handled()
            return
        project = self._catalog.ensure_project(watch.project)
        log.info("Ingesting %s with profile %s", event.message, profile.name)
        self._queue.submit(list(event.paths), project.id, profile=profile, ended=runner.batch_handled)

    def _on_missing(self, event: WatchEvent) -> None:
        self._notifier.notify(NotificationKind.INGEST, "Watched folder is gone", event.message, "warning")

    def _on_resumed(self, event: WatchEvent) -> None:
        self._notifier.notify(NotificationKind.INGEST, "Watched folder is back", event.message)

    def _on_failed(self, message: str) -> None:
        self._notifier.notify(NotificationKind.INGEST, "Watch folders stopped", message, "error")
