"""The status bar's ingest line (what is being scanned, a progress bar, Cancel) and the ingests that
wait behind the running one: a drop (or a watch folder's batch) during an ingest is queued, never
refused or run alongside."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QStatusBar

    from core.ingest import IngestProgress, IngestReport
    from core.profiles import ProcessingProfile
    from workers.ingest_controller import IngestController

MAX_LINE_CHARS = 90


@dataclass(frozen=True)
class _Ingest:
    paths: list[Path]
    project_id: int
    profile: ProcessingProfile | None
    ended: Callable[[], object] | None


class IngestQueue(QObject):
    def __init__(
        self,
        ingest: IngestController,
        status_bar: QStatusBar,
        copy_into_library: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._ingest = ingest
        self._copy_into_library = copy_into_library
        self._waiting: list[_Ingest] = []
        self._running: _Ingest | None = None
        self.label = QLabel()
        self.label.setObjectName("Dim")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(ingest.cancel)
        for widget in self._widgets:
            status_bar.addPermanentWidget(widget)
            widget.hide()
        ingest.progress.connect(self._on_progress)
        ingest.finished.connect(self._on_done)
        ingest.failed.connect(self._on_done)

    @property
    def _widgets(self) -> tuple[QLabel, QProgressBar, QPushButton]:
        return self.label, self.progress, self.cancel

    def submit(
        self,
        paths: list[Path],
        project_id: int,
        *,
        profile: ProcessingProfile | None = None,
        ended: Callable[[], object] | None = None,
    ) -> bool:
        """Start ingesting ``paths`` into the project, or queue them: True when they wait their turn.

        ``ended`` is called once this ingest has finished or failed (a watch folder records its batch then).
        """
        item = _Ingest(list(paths), project_id, profile, ended)
        if self._ingest.busy:
            self._waiting.append(item)
            return True
        self._start(item)
        return False

    def _start(self, item: _Ingest) -> None:
        self.label.setText("Scanning…")
        self.progress.setRange(0, 0)
        for widget in self._widgets:
            widget.show()
        self.cancel.setEnabled(True)
        self._running = item
        self._ingest.ingest(item.paths, item.project_id, copy=self._copy_into_library(), profile=item.profile)

    def _on_progress(self, progress: IngestProgress) -> None:
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
        name = Path(progress.current).name if progress.current else ""
        self.label.setText(
            f"{progress.phase.capitalize()} {progress.done:,}/{progress.total:,}  {name}"[:MAX_LINE_CHARS]
        )

    def _on_done(self, _outcome: IngestReport | str) -> None:
        if self._ingest.busy:
            return  # a failed sequence split, reported while an ingest runs on
        for widget in self._widgets:
            widget.hide()
        finished, self._running = self._running, None
        if finished is not None and finished.ended is not None:
            finished.ended()
        if self._waiting and not self._ingest.busy:
            self._start(self._waiting.pop(0))
