"""Catalog changes made by other programs (a ``stratopipe ingest`` in a terminal) show up without F5.

A timer asks ``core.catalog.external_changes`` every 1.5 s while the window is on screen (stopped while
it is hidden or minimised; the first look after it comes back sees what happened meanwhile). Only a
change of what the grid counts (new or removed assets, projects) refreshes: the sidebar counts and the
loaded pages of the grid, keeping selection and scroll position, as after the app's own ingest. Job
results change none of that. The app's own ingest is told apart by the asset ids it reports: it is
not looked at while it runs, and its assets are not "from another program" once it has finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

from core.catalog.external_changes import ExternalChange, ExternalChanges

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from PySide6.QtWidgets import QWidget

    from core.catalog.records import AssetRecord
    from core.ingest import IngestReport
    from workers.ingest_controller import IngestController

POLL_MS = 1500
MESSAGE_MS = 6000


class CatalogWatch(QObject):
    refreshed = Signal(object)  # ExternalChange: the window was refreshed for it

    def __init__(
        self,
        window: QWidget,
        db_file: Path,
        ingest: IngestController,
        refresh: Callable[[], None],
        tell: Callable[[str, int], None],
        *,
        interval_ms: int = POLL_MS,
    ) -> None:
        super().__init__(window)
        self._window, self._db_file, self._ingest = window, db_file, ingest
        self._refresh, self._tell = refresh, tell
        self._detector: ExternalChanges | None = ExternalChanges(db_file)
        self._own_ids: set[int] = set()
        ingest.assets_added.connect(self._note_own_assets)
        ingest.sequence_split.connect(self._note_own_split)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        window.installEventFilter(self)
        self._update_running()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Close:
            self.stop()
        elif kind in (QEvent.Type.Show, QEvent.Type.Hide, QEvent.Type.WindowStateChange):
            self._update_running()
        return False

    def stop(self) -> None:
        self.timer.stop()
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def _update_running(self) -> None:
        on_screen = self._window.isVisible() and not self._window.isMinimized()
        if on_screen and self._detector is None:
            self._detector = ExternalChanges(self._db_file)
        if on_screen and self._detector is not None:
            if not self.timer.isActive():
                self.timer.start()
        else:
            self.timer.stop()

    def _note_own_assets(self, records: list[AssetRecord]) -> None:
        self._own_ids.update(r.id for r in records)

    def _note_own_split(self, _sequence_id: int, report: IngestReport) -> None:
        self._own_ids.update(report.added)

    def check(self) -> ExternalChange | None:
        """One look (the timer's tick); the change the window was refreshed for, if any."""
        if self._detector is None or self._ingest.busy:
            return None  # the app's own ingest writes now: looked at once it has reported its assets
        change = self._detector.poll()
        if change is None:
            return None
        own = sum(1 for i in self._own_ids if change.since_id < i <= change.max_asset_id)
        self._own_ids = {i for i in self._own_ids if i > change.max_asset_id}
        new = max(change.new_assets - own, 0)
        if own and not new and not change.project_list_changed:
            return None  # only the app's own ingest, which refreshed the window itself
        self._refresh()
        if new:
            self._tell(f"{new:,} new asset{'s' if new != 1 else ''} from another program", MESSAGE_MS)
        self.refreshed.emit(change)
        return change
