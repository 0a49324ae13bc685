"""The Jobs panel: recent jobs with live progress, filterable by state and kind, with Cancel and Retry,
and (on demand) a chart of recent job durations per device.

``job_updated`` can fire hundreds of times a second during a big ingest; documents are collected by id
and applied on a short timer, so the table repaints a few times a second whatever the rate.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.jobs.model import JobDocument, JobState, StepStatus
from core.pipeline import JOB_KINDS
from ui.common import theme
from ui.common.formatting import human_duration

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from ui.jobs.job_chart import JobDurationChart
    from workers.job_controller import JobController

log = logging.getLogger(__name__)

APPLY_MS = 150
JOB_LIMIT = 500
COLUMNS = ("Job", "Asset", "State", "Progress", "Step", "Device", "Duration", "Error")
PROGRESS_COLUMN = COLUMNS.index("Progress")
STATE_FILTERS: dict[str, list[JobState] | None] = {
    "All jobs": None,
    "Active": [JobState.PENDING, JobState.QUEUED, JobState.RUNNING],
    "Failed": [JobState.FAILED],
    "Completed": [JobState.COMPLETED],
    "Cancelled": [JobState.CANCELLED],
}
STATE_COLOURS = {
    JobState.RUNNING: theme.ACCENT,
    JobState.COMPLETED: theme.SUCCESS,
    JobState.FAILED: theme.ERROR,
    JobState.CANCELLED: theme.TEXT_DIM,
    JobState.QUEUED: theme.TEXT,
    JobState.PENDING: theme.TEXT_DIM,
}
CHART_LIMIT = 1000
JobRole = Qt.ItemDataRole.UserRole + 1
AnyIndex = QModelIndex | QPersistentModelIndex


def current_step(doc: JobDocument) -> str:
    running = next((s for s in doc.steps if s.status == StepStatus.RUNNING), None)
    failed = next((s for s in doc.steps if s.status == StepStatus.FAILED), None)
    step = running or failed
    if step is None:
        done = [s for s in doc.steps if s.status == StepStatus.COMPLETED]
        step = done[-1] if done and doc.state.finished else None
    if step is None:
        return doc.message
    return f"{step.name}: {doc.message}" if doc.message and running else step.name


def elapsed(doc: JobDocument, now: float) -> float | None:
    if doc.duration_s is not None and doc.state.finished:
        return doc.duration_s
    starts = [s.started_at for s in doc.steps if s.started_at is not None]
    return now - min(starts) if starts and doc.state == JobState.RUNNING else doc.duration_s


class JobTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[JobDocument] = []
        self._row_of: dict[int, int] = {}
        self.asset_names: dict[int, str] = {}

    def set_jobs(self, jobs: list[JobDocument]) -> None:
        self.beginResetModel()
        self._jobs = list(jobs)
        self._reindex()
        self.endResetModel()

    def apply(self, docs: list[JobDocument], accepts: set[JobState] | None, kind: str | None = None) -> None:
        """Update known rows in place; new jobs that pass the filters go on top (newest first)."""
        new: list[JobDocument] = []
        changed: list[int] = []
        for doc in docs:
            if doc.id is None:
                continue
            row = self._row_of.get(doc.id)
            if row is not None:
                self._jobs[row] = doc
                changed.append(row)
            elif (accepts is None or doc.state in accepts) and (kind is None or doc.kind == kind):
                new.append(doc)
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), len(COLUMNS) - 1))
        if new:
            new.sort(key=lambda d: d.id or 0, reverse=True)
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self._jobs[0:0] = new
            self._reindex()
            self.endInsertRows()

    def job_at(self, row: int) -> JobDocument | None:
        return self._jobs[row] if 0 <= row < len(self._jobs) else None

    def jobs(self) -> list[JobDocument]:
        return list(self._jobs)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        doc = self.job_at(index.row()) if index.isValid() else None
        if doc is None:
            return None
        column = COLUMNS[index.column()]
        if role == JobRole:
            return doc
        if role == Qt.ItemDataRole.ForegroundRole and column == "State":
            return QColor(STATE_COLOURS.get(doc.state, theme.TEXT))
        if role == Qt.ItemDataRole.ForegroundRole and column == "Error":
            return QColor(theme.ERROR)
        if role == Qt.ItemDataRole.ToolTipRole and column in ("Error", "Step"):
            return doc.error if column == "Error" else current_step(doc)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        values = {
            "Job": doc.kind.replace("_", " "),
            "Asset": self.asset_names.get(doc.asset_id, f"#{doc.asset_id}") if doc.asset_id else "–",
            "State": str(doc.state).capitalize(),
            "Progress": doc.progress,
            "Step": current_step(doc),
            "Device": doc.device or "–",
            "Duration": human_duration(elapsed(doc, time.time())),
            "Error": (doc.error or "").splitlines()[0] if doc.error else "",
        }
        return values[column]

    def row_of(self, job_id: int) -> int | None:
        return self._row_of.get(job_id)

    def _reindex(self) -> None:
        self._row_of = {doc.id: row for row, doc in enumerate(self._jobs) if doc.id is not None}


class ProgressDelegate(QStyledItemDelegate):
    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        doc: JobDocument | None = index.data(JobRole)
        if doc is None:
            return
        rect: QRect = option.rect
        bar = QRectF(rect.adjusted(6, 6, -6, -6))
        fraction = 1.0 if doc.state == JobState.COMPLETED else max(0.0, min(1.0, doc.progress))
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.BASE)
        painter.drawRoundedRect(bar, 3, 3)
        if fraction > 0:
            fill = QRectF(bar)
            fill.setWidth(bar.width() * fraction)
            colour = QColor(STATE_COLOURS.get(doc.state, theme.ACCENT))
            colour.setAlpha(200)
            painter.setBrush(colour)
            painter.drawRoundedRect(fill, 3, 3)
        painter.setPen(theme.TEXT_BRIGHT)
        painter.drawText(bar, Qt.AlignmentFlag.AlignCenter, f"{fraction * 100:.0f}%")
        painter.restore()


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
        self.cancel_button = QPushButton("Cancel")
        self.retry_button = QPushButton("Retry")
        self.clear_button = QPushButton("Clear finished")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.retry_button.clicked.connect(self.retry_selected)
        self.clear_button.clicked.connect(self._clear_finished)
        self.counts_label = QLabel()
        self.counts_label.setObjectName("Dim")
        bar = QHBoxLayout()
        bar.addWidget(self.filter_combo)
        bar.addWidget(self.kind_combo)
        bar.addWidget(self.counts_label, 1)
        for button in (self.chart_button, self.cancel_button, self.retry_button, self.clear_button):
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
        for column, width in zip(range(len(COLUMNS)), (110, 200, 90, 120, 200, 110, 80), strict=False):
            self.table.setColumnWidth(column, width)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.table.doubleClicked.connect(self._on_double_clicked)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
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
        self._update_counts()
        self._update_buttons()

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

    def _apply_incoming(self) -> None:
        docs, self._incoming = list(self._incoming.values()), {}
        self._learn_names(docs)
        states = STATE_FILTERS[self.filter_combo.currentText()]
        self.model.apply(docs, set(states) if states is not None else None, self.kind_filter)
        self._update_counts()
        self._update_buttons()
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
        self.cancel_button.setEnabled(any(not d.state.finished for d in selected))
        self.retry_button.setEnabled(any(d.state in (JobState.FAILED, JobState.CANCELLED) for d in selected))

    def _repaint_running(self) -> None:
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
        cancel = QAction("Cancel", menu, enabled=self.cancel_button.isEnabled())
        retry = QAction("Retry", menu, enabled=self.retry_button.isEnabled())
        cancel.triggered.connect(self.cancel_selected)
        retry.triggered.connect(self.retry_selected)
        menu.addAction(cancel)
        menu.addAction(retry)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _on_double_clicked(self, index: QModelIndex) -> None:
        doc = self.model.job_at(index.row())
        if doc is not None and doc.asset_id is not None:
            self.asset_requested.emit(doc.asset_id)
