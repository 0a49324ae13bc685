"""Review sessions in the window: a Review menu to make a playlist from the grid's selection, play a
playlist back to back in the viewer, and export its review report (HTML or CSV) on a worker.

Once sync is attached (``attach_shared``), a new playlist is also shared with the project as a synced
record (items by content hash, queued offline like a note), and the teammates' playlists are listed
under Play playlist, played with the assets this machine has and the missing ones named.

The menu's dialogs only ask names and paths; the work is in ``create_playlist``, ``play`` and
``export_report``, which tests call directly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu

from core.catalog.errors import CatalogError
from core.media.limits import MediaLimits
from core.review.export import export_report, format_of
from core.review.shared_playlists import resolve_playlist, share_playlist
from core.sync.local_records import SyncNotReadyError
from ui.viewer.playlist_run import PlaylistRun

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QWidget

    from core.catalog.catalog import Catalog
    from core.catalog.playlists import PlaylistRecord
    from core.catalog.records import AssetRecord, ProjectRecord
    from core.review.report import Report
    from core.settings import Settings
    from core.sync.local_records import PlaylistView
    from core.sync.local_store import LocalStore
    from ui.viewer.viewer import AssetViewer
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReviewHost:
    """The parts of the window review sessions use (the window builds this; nothing here knows it)."""

    window: QWidget
    viewer: AssetViewer
    catalog: Catalog
    settings: Settings
    config_dir: Path
    background: BackgroundWork
    current_project: Callable[[], ProjectRecord | None]
    selected_records: Callable[[], list[AssetRecord]]
    show_viewer: Callable[[], None]
    tell: Callable[[str, int], None]


@dataclass(frozen=True)
class SharedPlaylists:
    """Where playlists are shared: the sync store, and the project (a server project, or a private one
    until the local project is linked) a local project's playlists go to."""

    store: LocalStore
    project_of: Callable[[int], int]


class ReviewSessions(QObject):
    report_written = Signal(object)  # Path
    report_failed = Signal(str)

    def __init__(self, host: ReviewHost) -> None:
        super().__init__(host.window)
        self._host = host
        self._shared: SharedPlaylists | None = None
        self.run = PlaylistRun(host.viewer)
        self.menu = QMenu("&Review", host.window)
        new = QAction("New playlist from selection…", self.menu)
        new.triggered.connect(lambda _checked=False: self._ask_new_playlist())
        self.menu.addAction(new)
        self.play_menu = self.menu.addMenu("Play playlist")
        self.export_menu = self.menu.addMenu("Export review report")
        self.play_menu.aboutToShow.connect(self._fill_play_menu)
        self.export_menu.aboutToShow.connect(lambda: self._fill(self.export_menu, self._ask_export))

    def attach_shared(self, shared: SharedPlaylists) -> None:
        self._shared = shared

    # -- the work ---------------------------------------------------------------------------------

    def create_playlist(self, name: str) -> PlaylistRecord | None:
        host = self._host
        project = host.current_project()
        records = host.selected_records()
        if project is None or not records:
            self._tell("Select the assets of the review session first")
            return None
        try:
            created = host.catalog.playlists.create(project.id, name, [r.id for r in records])
        except CatalogError as exc:
            self._tell(str(exc))
            return None
        self._tell(f"Playlist {created.name!r}: {created.item_count} items")
        self._share(project.id, created.name, [r.content_hash for r in records])
        return created

    def _share(self, project_id: int, name: str, items: list[str]) -> None:
        if self._shared is None:
            return
        try:
            share_playlist(self._shared.store, self._shared.project_of(project_id), name, items)
        except (PermissionError, ValueError, SyncNotReadyError) as exc:
            self._tell(f"Playlist {name!r} stays on this computer: {exc}")

    def teammates_playlists(self) -> list[PlaylistView]:
        """The synced playlists of the current project that others made (this user's own are listed
        from the catalog)."""
        project = self._host.current_project()
        if self._shared is None or project is None:
            return []
        me = self._shared.store.author_id()
        playlists = self._shared.store.list_playlists(self._shared.project_of(project.id))
        return [playlist for playlist in playlists if playlist.author != me]

    def play_shared(self, playlist: PlaylistView) -> None:
        project = self._host.current_project()
        if project is None:
            return
        resolved = resolve_playlist(self._host.catalog, project.id, playlist.name, playlist.items)
        if not resolved.found:
            self._tell(f"None of the items of {playlist.name!r} are on this computer")
            return
        self._host.show_viewer()
        self.run.start(playlist.name, resolved.found)
        self._host.viewer.focus_picture()
        if resolved.missing:
            self._tell(resolved.missing_text())

    def play(self, playlist: PlaylistRecord) -> None:
        items = self._host.catalog.playlists.items(playlist.id)
        if not items:
            self._tell(f"Playlist {playlist.name!r} is empty")
            return
        self._host.show_viewer()
        self.run.start(playlist.name, items)
        self._host.viewer.focus_picture()

    def export_report(self, playlist: PlaylistRecord, path: Path) -> None:
        host = self._host
        work = partial(
            export_report, host.catalog, playlist.id, path, format_of(path),
            config_dir=host.config_dir, limits=MediaLimits.from_settings(host.settings),
        )  # fmt: skip
        self._tell(f"Writing the review report of {playlist.name!r}…")
        host.background.call(work, partial(self._on_written, path), errored=self._on_failed)

    # -- dialogs ------------------------------------------------------------------------------------

    def _ask_new_playlist(self) -> None:
        default = time.strftime("Dailies %Y-%m-%d")
        name, ok = QInputDialog.getText(
            self._host.window, "New playlist", "Name of the review session:", text=default
        )
        if ok and name.strip():
            self.create_playlist(name)

    def _ask_export(self, playlist: PlaylistRecord) -> None:
        suggested = str(Path.home() / f"{playlist.name}.html")
        path, _filter = QFileDialog.getSaveFileName(
            self._host.window, "Export review report", suggested, "HTML page (*.html);;CSV table (*.csv)"
        )
        if path:
            self.export_report(playlist, Path(path))

    def _fill(self, menu: QMenu, act: Callable[[PlaylistRecord], None]) -> None:
        menu.clear()
        project = self._host.current_project()
        playlists = self._host.catalog.playlists.of_project(project.id) if project is not None else []
        for playlist in playlists:
            action = QAction(f"{playlist.name}  ({playlist.item_count})", menu)
            action.triggered.connect(lambda _checked=False, p=playlist: act(p))
            menu.addAction(action)
        if not playlists:
            empty = QAction("No playlists in this project", menu)
            empty.setEnabled(False)
            menu.addAction(empty)

    def _fill_play_menu(self) -> None:
        self._fill(self.play_menu, self.play)
        shared = self.teammates_playlists()
        if shared:
            self.play_menu.addSection("Shared by teammates")
        for playlist in shared:
            action = QAction(f"{playlist.name}  ({len(playlist.items)})", self.play_menu)
            action.triggered.connect(lambda _checked=False, p=playlist: self.play_shared(p))
            self.play_menu.addAction(action)

    def _on_written(self, path: Path, report: Report) -> None:
        self._tell(f"Wrote {path.name}: {len(report.items)} items, {report.note_count} notes")
        self.report_written.emit(path)

    def _on_failed(self, exc: Exception) -> None:
        log.warning("Review report failed: %s", exc)
        self._tell(f"The review report could not be written: {exc}")
        self.report_failed.emit(str(exc))

    def _tell(self, text: str) -> None:
        self._host.tell(text, 8000)
