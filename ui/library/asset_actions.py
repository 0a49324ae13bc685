"""What a user can ask of assets (open, reveal, re-render, turntable, classify, enhance, delete) and the
one place that turns those intents into job documents for the job controller.

The grid's context menu and the viewer's buttons both go through :class:`AssetActions`, so an action
means the same thing wherever it is triggered. Jobs for several assets at once form one batch, which
ends in one notification ("Rendered 12 models: 11 ok, 1 failed").
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from core.jobs.scheduler import new_batch_id
from core.pipeline import can_run, make_job
from ui.common.files import reveal_in_file_manager

if TYPE_CHECKING:
    from collections.abc import Sequence

    from core.catalog.records import AssetRecord
    from core.jobs.model import JobDocument
    from workers.job_controller import JobController

log = logging.getLogger(__name__)

# menu label -> job kind, in menu order
JOB_ACTIONS: dict[str, str] = {
    "Re-render": "render",
    "Render turntable": "turntable",
    "Classify again": "classify",
    "Enhance": "enhance",
}
JOB_NOUNS = {
    "render": "render",
    "turntable": "turntable",
    "classify": "classification",
    "enhance": "enhancement",
}


class AssetActions(QObject):
    open_requested = Signal(object)  # AssetRecord
    delete_requested = Signal()  # the grid's selection
    submitted = Signal(str, object)  # job kind, list[JobDocument]

    def __init__(self, jobs: JobController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs

    def submit(self, job_kind: str, records: Sequence[AssetRecord]) -> list[JobDocument]:
        """Queue ``job_kind`` for every record it applies to; several form one notified batch."""
        docs = [make_job(job_kind, r.id, r.project_id) for r in records if can_run(job_kind, r)]
        if not docs:
            return []
        if len(docs) == 1:
            self._jobs.submit(docs)
        else:
            batch_id = new_batch_id(job_kind)
            self._jobs.submit(docs, batch_id=batch_id, batch_kind=job_kind)
            names = {r.id: r.name for r in records}
            self._jobs.scheduler.close_batch(batch_id, job_kind, asset_names=names)
        log.info("Queued %d %s job(s)", len(docs), job_kind)
        self.submitted.emit(job_kind, docs)
        return docs

    def build_menu(self, records: Sequence[AssetRecord], parent: QWidget) -> QMenu:
        """The context menu for ``records`` (the grid's selection); actions that cannot apply are greyed."""
        menu = QMenu(parent)
        records = list(records)
        single = records[0] if len(records) == 1 else None
        open_action = QAction("Open", menu, enabled=single is not None)
        open_action.triggered.connect(lambda: self.open_requested.emit(single))
        reveal = QAction("Reveal in file manager", menu, enabled=single is not None)
        reveal.triggered.connect(lambda: self.reveal(single, parent))
        menu.addAction(open_action)
        menu.addAction(reveal)
        menu.addSeparator()
        for label, job_kind in JOB_ACTIONS.items():
            applicable = [r for r in records if can_run(job_kind, r)]
            text = label if len(applicable) < 2 else f"{label} ({len(applicable)})"
            action = QAction(text, menu, enabled=bool(applicable))
            action.setData(job_kind)
            action.triggered.connect(lambda _c=False, k=job_kind, rs=applicable: self.submit(k, rs))
            menu.addAction(action)
        menu.addSeparator()
        delete = QAction("Delete…", menu, enabled=bool(records))
        delete.triggered.connect(self.delete_requested.emit)
        menu.addAction(delete)
        return menu

    @staticmethod
    def reveal(record: AssetRecord | None, parent: QWidget) -> None:
        if record is not None and not reveal_in_file_manager(Path(record.path)):
            QMessageBox.warning(
                parent, "Reveal in file manager", f"The folder of {record.path} no longer exists."
            )


def submitted_message(job_kind: str, docs: Sequence[JobDocument]) -> str:
    noun = JOB_NOUNS.get(job_kind, job_kind)
    count = len(docs)
    return f"Queued {count} {noun}{'s' if count != 1 else ''}"
