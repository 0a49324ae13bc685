"""The Jobs panel: recent jobs with live progress, filterable by state and kind; Cancel, Retry, queue
control (pause a lane or everything, hold a job, run it one step at a time, bump it to the top), the
selected job opened up into its steps and their log lines (re-run one step with changed settings), and
(on demand) a chart of recent job durations per device.

``job_updated`` can fire hundreds of times a second during a big ingest; documents are collected by id
and applied on a short timer, so the table repaints a few times a second whatever the rate.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.jobs.model import JobDocument, JobState
from core.pipeline import JOB_KINDS
from ui.jobs.job_steps import JobStepsView
from ui.jobs.job_table import (
    COLUMN_WIDTHS,
    COLUMNS,
    PROGRESS_COLUMN,
    JobTableModel,
    ProgressDelegate,
)
from ui.jobs.queue_controls import PauseButton

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from ui.jobs.job_chart import JobDurationChart
    from workers.job_controller import JobController

log = logging.getLogger(__name__)

__all__ = ["COLUMNS", "JobsPanel"]

APPLY_MS = 150
JOB_LIMIT = 500
STATE_FILTERS: dict[str, list[JobState] | None] = {
    "All jobs": None,
    "Active": [JobState.PENDING, JobState.QUEUED, JobState.RUNNING],
    "Failed": [JobState.FAILED],
    "Completed": [JobState.COMPLETED],
    "Cancelled": [JobState.CANCELLED],
}
CHART_LIMIT = 1000


class JobsPanel(QWidget):
    asset_requested = Signal(object)  # int asset id (double-click on a job)

    def __init__(self, catalog: Catalog, jobs: JobController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._controller = jobs
        self._incoming: dict[int, JobDocument] = {}
        self.model = JobTableModel(self)

        self.filter_combo = QComboBox()
        self.filter_combo.addItems(list(STATE_FILTERS))
        self.filter_combo.currentTextChanged.connect(lambda _text: self.reload())
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("All kinds", None)
        for kind in JOB_KINDS:
            self.kind_combo.addItem(kind.replace("_", " ").capitalize(), kind)
        self.kind_combo.currentIndexChanged.connect(lambda _index: self.reload())
        self.chart: JobDurationChart | None = None
        self.chart_button = QPushButton("Durations chart")
        self.chart_button.setCheckable(True)
        self.chart_button.setToolTip("Job durations over time per device (render and thumbnail jobs)")
        self.chart_button.toggled.connect(self.show_chart)
        self.pause_button = PauseButton(jobs)
        self.hold_button = QPushButton("Hold")
        self.hold_button.setToolTip(
            "Pause the selected jobs (a running one stops after its step) or let them go on"
        )
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("Run the next step of the selected paused job, then hold it again")
        self.bump_button = QPushButton("To top")
        self.bump_button.setToolTip("Run the selected queued jobs next in their lane")
        self.cancel_button = QPushButton("Cancel")
        self.retry_button = QPushButton("Retry")
        self.clear_button = QPushButton("Clear finished")
        self.hold_button.clicked.connect(self.toggle_hold_selected)
        self.step_button.clicked.connect(self.step_selected)
        self.bump_button.clicked.connect(self.bump_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.retry_button.clicked.connect(self.retry_selected)
        self.clear_button.clicked.connect(self._clear_finished)
        self.counts_label = QLabel()
        self.counts_label.setObjectName("Dim")
        bar = QHBoxLayout()
        bar.addWidget(self.filter_combo)
        bar.addWidget(self.kind_combo)
        bar.addWidget(self.counts_label, 1)
        bar.addWidget(self.pause_button)
        for button in (
            self.hold_button,
            self.step_button,
            self.bump_button,
            self.cancel_button,
            self.retry_button,
            self.chart_button,
            self.clear_button,
        ):
            bar.addWidget(button)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate(COLUMN_WIDTHS):
            self.table.setColumnWidth(column, width)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection_changed())
        self.table.doubleClicked.connect(self._on_double_clicked)
        self.steps = JobStepsView()
        self.steps.rerun_requested.connect(self._rerun_step)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.steps)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)

        self._apply_timer = QTimer(self)
        self._apply_timer.setSingleShot(True)
        self._apply_timer.setInterval(APPLY_MS)
        self._apply_timer.timeout.connect(self._apply_incoming)
        # Running jobs' durations tick even when no update arrives.
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._repaint_running)
        self._tick.start()
        jobs.job_updated.connect(self.on_job_updated)
        jobs.queue_changed.connect(self._sync_queue_state)
        self.reload()

    @property
    def kind_filter(self) -> str | None:
        kind = self.kind_combo.currentData()
        return str(kind) if kind else None

    def reload(self) -> None:
        states = STATE_FILTERS[self.filter_combo.currentText()]
        docs = self._catalog.jobs.find(states=states, kind=self.kind_filter, limit=JOB_LIMIT)
        self._learn_names(docs)
        self.model.set_jobs(docs)
        self._sync_queue_state()
        self._update_counts()
        self._on_selection_changed()

    def on_job_updated(self, doc: JobDocument) -> None:
        if doc.id is None:
            return
        self._incoming[doc.id] = doc
        if not self._apply_timer.isActive():
            self._apply_timer.start()

    def selected_jobs(self) -> list[JobDocument]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [doc for r in rows if (doc := self.model.job_at(r)) is not None]

    def cancel_selected(self) -> None:
        for doc in self.selected_jobs():
            if doc.id is not None and not doc.state.finished:
                self._controller.cancel(doc.id)

    def retry_selected(self) -> None:
        for doc in self.selected_jobs():
            if doc.id is not None and doc.state in (JobState.FAILED, JobState.CANCELLED):
                self._controller.retry(doc.id)

    def toggle_hold_selected(self) -> None:
        """Hold the selected unfinished jobs; when all of them are held already, let them go on."""
        chosen = [d.id for d in self.selected_jobs() if d.id is not None and not d.state.finished]
        scheduler = self._controller.scheduler
        hold = not all(scheduler.queue.is_held(job_id) for job_id in chosen)
        for job_id in chosen:
            self._controller.set_job_held(job_id, hold)

    def step_selected(self) -> None:
        for doc in self.selected_jobs():
            if doc.id is not None and self.model.is_paused(doc):
                self._controller.step(doc.id)

    def bump_selected(self) -> None:
        for doc in reversed(self.selected_jobs()):  # the first selected ends on top
            if doc.id is not None and doc.state in (JobState.QUEUED, JobState.PENDING):
                self._controller.bump(doc.id)

    def _rerun_step(self, job_id: int, step: str, overrides: dict[str, Any]) -> None:
        if not self._controller.rerun_step(job_id, step, overrides):
            log.info("Job %s cannot re-run %s now", job_id, step)

    def _sync_queue_state(self) -> None:
        scheduler = self._controller.scheduler
        held = frozenset(
            d.id for d in self.model.jobs() if d.id is not None and scheduler.queue.is_held(d.id)
        )
        self.model.set_queue_state(self.pause_button.paused_lanes(), held)
        self.pause_button.refresh()
        self._update_buttons()

    def _on_selection_changed(self) -> None:
        selected = self.selected_jobs()
        self.steps.show_job(selected[0] if len(selected) == 1 else None)
        self._update_buttons()

    def _apply_incoming(self) -> None:
        docs, self._incoming = list(self._incoming.values()), {}
        self._learn_names(docs)
        states = STATE_FILTERS[self.filter_combo.currentText()]
        self.model.apply(docs, set(states) if states is not None else None, self.kind_filter)
        self._update_counts()
        self._update_buttons()
        shown = self.steps.job
        if shown is not None and shown.id is not None and (row := self.model.row_of(shown.id)) is not None:
            self.steps.show_job(self.model.job_at(row))
        if self.chart is not None:
            self.chart.add_jobs(d for d in docs if d.state == JobState.COMPLETED)

    # ---- chart -----------------------------------------------------------------------------------

    def show_chart(self, visible: bool = True) -> None:
        """Show or hide the durations chart; it (and pyqtgraph) is built the first time it is shown."""
        if visible and self.chart is None:
            from ui.jobs.job_chart import JobDurationChart

            self.chart = JobDurationChart()
            self.chart.kind_changed.connect(lambda _kind: self._reload_chart())
            self.splitter.addWidget(self.chart)
            self.splitter.setSizes([max(400, self.width() * 3 // 5), max(300, self.width() * 2 // 5)])
            self._reload_chart()
        if self.chart is not None:
            self.chart.setVisible(visible)
        if self.chart_button.isChecked() != visible:
            self.chart_button.setChecked(visible)

    def _reload_chart(self) -> None:
        if self.chart is not None:
            kind = self.chart.kind
            self.chart.set_jobs(
                self._catalog.jobs.find(states=[JobState.COMPLETED], kind=kind, limit=CHART_LIMIT)
            )

    def show_job(self, job_id: int) -> bool:
        """Select a job's row, widening the filters when they hide it (a notification's target)."""
        row = self.model.row_of(job_id)
        if row is None:
            for combo in (self.filter_combo, self.kind_combo):
                combo.blockSignals(True)
                combo.setCurrentIndex(0)
                combo.blockSignals(False)
            self.reload()
            row = self.model.row_of(job_id)
        if row is None:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def _learn_names(self, docs: list[JobDocument]) -> None:
        missing = list({d.asset_id for d in docs if d.asset_id and d.asset_id not in self.model.asset_names})
        if missing:
            for record in self._catalog.get_assets(missing):
                self.model.asset_names[record.id] = record.name

    def _update_counts(self) -> None:
        counts = self._catalog.jobs.counts()
        parts = [f"{counts.get(str(s), 0)} {s}" for s in (JobState.RUNNING, JobState.QUEUED, JobState.FAILED)]
        self.counts_label.setText("  ·  ".join(parts))

    def _update_buttons(self) -> None:
        selected = self.selected_jobs()
        waiting = [d for d in selected if d.state in (JobState.QUEUED, JobState.PENDING)]
        unfinished = [d for d in selected if not d.state.finished]
        scheduler = self._controller.scheduler
        all_held = bool(unfinished) and all(
            d.id is not None and scheduler.queue.is_held(d.id) for d in unfinished
        )
        self.hold_button.setEnabled(bool(unfinished))
        self.hold_button.setText("Release" if all_held else "Hold")
        self.step_button.setEnabled(any(self.model.is_paused(d) for d in selected))
        self.bump_button.setEnabled(bool(waiting))
        self.cancel_button.setEnabled(bool(unfinished))
        self.retry_button.setEnabled(any(d.state in (JobState.FAILED, JobState.CANCELLED) for d in selected))

    def _repaint_running(self) -> None:
        self._sync_queue_state()  # the tray menu pauses and resumes too
        rows = [r for r, d in enumerate(self.model.jobs()) if d.state == JobState.RUNNING]
        if rows and self.isVisible():
            column = COLUMNS.index("Duration")
            self.model.dataChanged.emit(
                self.model.index(min(rows), column), self.model.index(max(rows), column)
            )

    def _clear_finished(self) -> None:
        removed = self._catalog.jobs.clear_finished()
        log.info("Cleared %d finished jobs", removed)
        self.reload()

    def _context_menu(self, pos: QPoint) -> None:
        self._update_buttons()
        menu = QMenu(self)
        entries = (
            (self.hold_button.text(), self.hold_button, self.toggle_hold_selected),
            ("Run one step", self.step_button, self.step_selected),
            ("Move to top", self.bump_button, self.bump_selected),
            ("Cancel", self.cancel_button, self.cancel_selected),
            ("Retry", self.retry_button, self.retry_selected),
        )
        for text, button, slot in entries:
            action = QAction(text, menu, enabled=button.isEnabled())
            action.triggered.connect(slot)
            menu.addAction(action)
        menu.addSeparator()
        rerun = QAction("Re-run step…", menu, enabled=self.steps.rerun_button.isEnabled())
        rerun.triggered.connect(self.steps.ask_rerun)
        menu.addAction(rerun)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _on_double_clicked(self, index: QModelIndex) -> None:
        doc = self.model.job_at(index.row())
        if doc is not None and doc.asset_id is not None:
            self.asset_requested.emit(doc.asset_id)
