"""What a user can ask of assets (open, compare two, open with, reveal, copy paths, label, re-render,
turntable, classify, enhance, analyse a shot, delete) and the one place that turns those intents into
job documents for the job controller.

The grid's context menu and the viewer's buttons both go through :class:`AssetActions`, so an action
means the same thing wherever it is triggered. Jobs for several assets at once form one batch, which
ends in one notification ("Rendered 12 models: 11 ok, 1 failed").
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QWidget

from core.ai.cam import switch_thumbnails
from core.catalog.records import ColourLabel
from core.jobs.model import Priority
from core.jobs.scheduler import new_batch_id
from core.pipeline import JobKind, can_run, make_job
from ui.common.files import reveal_in_file_manager
from ui.library.curation import LABEL_COLOURS, label_text
from ui.library.drag import paths_text
from ui.library.open_with import LaunchOutcome, open_with_default, open_with_program

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from core.catalog.records import AssetRecord
    from core.jobs.model import JobDocument
    from core.settings import Settings
    from workers.job_controller import JobController

log = logging.getLogger(__name__)

SWITCH_THUMBNAIL_SHORTCUT = "O"  # the grid's key: focus crop <-> whole picture
COMPARE_SHORTCUT = "Ctrl+Shift+C"  # the grid's key for Compare (the shell binds it; the menu shows it)

# menu label -> job kind, in menu order
JOB_ACTIONS: dict[str, JobKind] = {
    "Re-render": JobKind.RENDER,
    "Render turntable": JobKind.TURNTABLE,
    "Classify again": JobKind.CLASSIFY,
    "Enhance": JobKind.ENHANCE,
    "Analyse shot": JobKind.ANALYSIS,
}
JOB_NOUNS: dict[str, str] = {
    JobKind.RENDER: "render",
    JobKind.TURNTABLE: "turntable",
    JobKind.CLASSIFY: "classification",
    JobKind.ENHANCE: "enhancement",
    JobKind.ANALYSIS: "shot analysis",
}


class AssetActions(QObject):
    open_requested = Signal(object)  # AssetRecord
    compare_requested = Signal(object, object)  # AssetRecord A, AssetRecord B
    delete_requested = Signal()  # the grid's selection
    split_requested = Signal(object)  # AssetRecord of a sequence the user says is separate images
    stack_requested = Signal(object)  # list[AssetRecord] to stack as versions, oldest first
    unstack_requested = Signal(object)  # AssetRecord whose version stack the user splits
    label_requested = Signal(object, object)  # list[AssetRecord], ColourLabel
    thumbnails_switched = Signal(object)  # list[AssetRecord] now showing the other thumbnail
    submitted = Signal(str, object)  # job kind, list[JobDocument]

    def __init__(self, jobs: JobController, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._settings = settings  # read when a menu opens: Preferences update it in place
        # Actions others add for a selection (sync: "Delete from server project…"), built when a menu opens.
        self.shared_actions: list[Callable[[list[AssetRecord], QMenu], QAction]] = []

    def submit(self, job_kind: JobKind, records: Sequence[AssetRecord]) -> list[JobDocument]:
        """Queue ``job_kind`` for every record it applies to, before background work; one job or
        several form one batch that notifies when it is done ("Rendered rock.obj")."""
        docs = [make_job(job_kind, r.id, r.project_id) for r in records if can_run(job_kind, r)]
        if not docs:
            return []
        for doc in docs:
            doc.priority = Priority.USER
        batch_id = new_batch_id(job_kind, requested=True)
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
        copy = QAction("Copy path" if len(records) < 2 else f"Copy paths ({len(records)})", menu)
        copy.triggered.connect(lambda: self.copy_paths(records))
        compare = QAction("Compare", menu, enabled=len(records) == 2)
        compare.setShortcut(QKeySequence(COMPARE_SHORTCUT))
        compare.setToolTip("A/B compare of the two selected assets")
        compare.triggered.connect(lambda: self.compare_requested.emit(*records))
        menu.addAction(open_action)
        menu.addAction(compare)
        menu.addMenu(self._open_with_menu(single, menu))
        menu.addAction(reveal)
        menu.addAction(copy)
        menu.addMenu(self._label_menu(records, menu))
        menu.addAction(self.switch_thumbnails_action(lambda: records, menu))
        menu.addSeparator()
        for label, job_kind in JOB_ACTIONS.items():
            applicable = [r for r in records if can_run(job_kind, r)]
            text = label if len(applicable) < 2 else f"{label} ({len(applicable)})"
            action = QAction(text, menu, enabled=bool(applicable))
            action.setData(job_kind)
            action.triggered.connect(lambda _c=False, k=job_kind, rs=applicable: self.submit(k, rs))
            menu.addAction(action)
        menu.addSeparator()
        split = QAction("Split sequence into images", menu)
        split.setEnabled(single is not None and single.is_sequence)
        split.triggered.connect(lambda: self.split_requested.emit(single))
        menu.addAction(split)
        stack = QAction("Stack as versions", menu, enabled=len(records) >= 2)
        stack.setToolTip("One tile for these assets, in name order (the last is the latest version)")
        stack.triggered.connect(lambda: self.stack_requested.emit(sorted(records, key=lambda r: r.name)))
        menu.addAction(stack)
        unstack = QAction("Split version stack", menu)
        unstack.setEnabled(single is not None and single.stack_size > 1)
        unstack.triggered.connect(lambda: self.unstack_requested.emit(single))
        menu.addAction(unstack)
        for shared_action in self.shared_actions:
            menu.addAction(shared_action(records, menu))
        delete = QAction("Delete…", menu, enabled=bool(records))
        delete.triggered.connect(self.delete_requested.emit)
        menu.addAction(delete)
        return menu

    def switch_thumbnails_action(
        self, selection: Callable[[], Sequence[AssetRecord]], parent: QObject
    ) -> QAction:
        """The switch (O) for the assets ``selection`` returns: a focus crop of a small or off-centre
        subject, or the whole picture. The grid adds it as a shortcut, the menu as an item."""
        action = QAction("Switch focus / whole thumbnail", parent)
        action.setShortcut(QKeySequence(SWITCH_THUMBNAIL_SHORTCUT))
        # Only while the grid has focus: "O" must still type into the search field.
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.setToolTip("Show the crop around the subject or the whole picture in the grid")
        action.triggered.connect(lambda _c=False: self.switch_thumbnails(selection()))
        return action

    def switch_thumbnails(self, records: Sequence[AssetRecord]) -> None:
        catalog = self._jobs.catalog
        switched = switch_thumbnails(catalog, [r.id for r in records])
        if switched:
            self.thumbnails_switched.emit(catalog.get_assets(switched))

    def _label_menu(self, records: list[AssetRecord], menu: QMenu) -> QMenu:
        submenu = QMenu("Label", menu)
        current = {r.label for r in records}
        for label in ColourLabel:
            action = submenu.addAction(label_text(label))
            if label in LABEL_COLOURS:
                swatch = QPixmap(12, 12)
                swatch.fill(LABEL_COLOURS[label])
                action.setIcon(QIcon(swatch))
            action.setCheckable(True)
            action.setChecked(current == {label})
            action.setData(label)
            action.triggered.connect(lambda _c=False, lb=label: self.label_requested.emit(records, lb))
        return submenu

    def _open_with_menu(self, record: AssetRecord | None, menu: QMenu) -> QMenu:
        submenu = QMenu("Open with", menu)
        submenu.setEnabled(record is not None)
        if record is None:
            return submenu
        parent = menu.parentWidget()
        default = submenu.addAction("System default")
        default.triggered.connect(lambda: _report("Open with", open_with_default(record), parent))
        submenu.addSeparator()
        for label, program in sorted(self._settings.open_with.items()):
            action = submenu.addAction(label)
            action.setToolTip(program)
            action.triggered.connect(
                lambda _c=False, lb=label, pg=program: _report(lb, open_with_program(lb, pg, record), parent)
            )
        if not self._settings.open_with:
            hint = submenu.addAction("Add applications with the open_with setting")
            hint.setEnabled(False)
        return submenu

    @staticmethod
    def copy_paths(records: Sequence[AssetRecord]) -> None:
        QApplication.clipboard().setText(paths_text(records))

    @staticmethod
    def reveal(record: AssetRecord | None, parent: QWidget) -> None:
        if record is not None and (problem := reveal_in_file_manager(Path(record.path)).problem):
            QMessageBox.warning(parent, "Reveal in file manager", problem)


def _report(title: str, outcome: LaunchOutcome, parent: QWidget | None) -> None:
    if outcome.problem is not None:
        QMessageBox.warning(parent, title, outcome.problem)


def submitted_message(job_kind: str, docs: Sequence[JobDocument]) -> str:
    noun = JOB_NOUNS.get(job_kind, job_kind)
    count = len(docs)
    return f"Queued {count} {noun}{'s' if count != 1 else ''}"
