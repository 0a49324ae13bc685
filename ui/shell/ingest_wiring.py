"""Ingest asked for from the File menu, a drop or a launch request (app/gui.py), and its outcome
shown: paths go to the current project's queue with that project's processing profile; without a
project the user is offered one, named after what was dropped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from core.notify import NotificationKind
from core.profiles import ProfileError, load_profiles, profiles_file

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QWidget

    from core.catalog.records import AssetRecord, ProjectRecord
    from core.ingest import IngestReport
    from core.paths import AppPaths
    from ui.shell.ingest_queue import IngestQueue
    from ui.shell.library_refresh import LibraryRefresh
    from ui.shell.notifications import Notifier
    from workers.ingest_controller import IngestController


class CreateProject(Protocol):
    def __call__(self, *, message: str, suggested_name: str) -> ProjectRecord | None: ...


@dataclass(frozen=True)
class IngestHost:
    """The parts of the window ingest uses (the window builds this; nothing here knows it)."""

    window: QWidget
    current_project: Callable[[], ProjectRecord | None]
    create_project: CreateProject
    library: LibraryRefresh
    tell: Callable[[str, int], None]


class IngestRequests(QObject):
    # A QObject child of the window: Qt drops its connections with it, so an ingest that finishes
    # after the window is gone (quit mid-batch) calls nothing.
    def __init__(
        self,
        host: IngestHost,
        ingest: IngestController,
        queue: IngestQueue,
        paths: AppPaths,
        notifier: Notifier,
    ) -> None:
        super().__init__(host.window)
        self._host, self._queue, self._paths, self._notifier = host, queue, paths, notifier
        ingest.assets_added.connect(self._on_assets_added)
        ingest.finished.connect(self._on_finished)
        ingest.failed.connect(self._on_failed)

    def ask_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self._host.window, "Ingest files")
        if files:
            self.ingest([Path(f) for f in files])

    def ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self._host.window, "Ingest a folder")
        if folder:
            self.ingest([Path(folder)])

    def drop_target_text(self) -> str:
        project = self._host.current_project()
        return f" into {project.name}" if project else " (you will be asked for a project)"

    def ingest(self, paths: list[Path]) -> None:
        """Ingest into the current project; without one, offer to create it (named after the drop)."""
        if not paths:
            return
        project = self._host.current_project()
        if project is None:
            first = paths[0]
            items = f"{len(paths)} dropped item{'s' if len(paths) != 1 else ''}"
            project = self._host.create_project(
                message=f"Create a project for the {items}.",
                suggested_name=first.name if first.is_dir() else first.parent.name,
            )
            if project is None:
                return
        # The project's processing profile, as a watch folder or ``stratopipe ingest`` would use.
        try:
            profile = load_profiles(profiles_file(self._paths)).for_ingest(project.name)
        except ProfileError as exc:  # never ingest with steps the project did not choose
            self._notifier.notify(NotificationKind.INGEST, "Ingest not started", str(exc), "error")
            return
        if self._queue.submit(list(paths), project.id, profile=profile):
            self._host.tell("Queued: it starts when the current ingest finishes", 5000)

    def _on_assets_added(self, records: list[AssetRecord]) -> None:
        project = self._host.current_project()
        if project is not None and any(r.project_id == project.id for r in records):
            self._host.library.refresh_after_ingest()  # throttled: assets arrive in small batches

    def _on_finished(self, report: IngestReport) -> None:
        self._host.tell(report.summary, 8000)
        self._host.library.refresh_grid()
        self._host.library.refresh_counts()

    def _on_failed(self, message: str) -> None:
        self._notifier.notify(NotificationKind.INGEST, "Ingest stopped", message, level="error")
