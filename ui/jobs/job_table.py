"""The Jobs panel's table: one row per job (live progress, state, priority), filled by the panel.

``data()`` only looks up the documents it holds; the queue's pause state is handed in by the panel
(``set_queue_state``) so that a queued job in a paused lane or a held job reads "Paused".
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    Qt,
)
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from core.jobs.model import JobDocument, JobState, Lane, Priority, StepStatus
from core.pipeline import lane_of
from ui.common import theme
from ui.common.formatting import human_duration

COLUMNS = ("Job", "Asset", "State", "Priority", "Progress", "Step", "Device", "Duration", "Error")
COLUMN_WIDTHS = (92, 140, 92, 100, 80, 110, 64, 72)
PROGRESS_COLUMN = COLUMNS.index("Progress")
STATE_COLOURS = {
    JobState.RUNNING: theme.ACCENT,
    JobState.COMPLETED: theme.SUCCESS,
    JobState.FAILED: theme.ERROR,
    JobState.CANCELLED: theme.TEXT_DIM,
    JobState.QUEUED: theme.TEXT,
    JobState.PENDING: theme.TEXT_DIM,
}
PAUSED_COLOUR = theme.WARNING
JobRole = Qt.ItemDataRole.UserRole + 1
AnyIndex = QModelIndex | QPersistentModelIndex


def priority_text(priority: int) -> str:
    """The named level at or below ``priority`` ("user", "background"), as the panel shows it."""
    named = [p for p in Priority if p <= priority]
    return max(named).name.lower() if named else str(priority)


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
        self._paused_lanes: frozenset[Lane] = frozenset()
        self._held: frozenset[int] = frozenset()

    def set_queue_state(self, paused_lanes: frozenset[Lane], held: frozenset[int]) -> None:
        """Which lanes are paused and which jobs are held; repaints the State column when it changed."""
        if (paused_lanes, held) == (self._paused_lanes, self._held):
            return
        self._paused_lanes, self._held = paused_lanes, held
        if self._jobs:
            column = COLUMNS.index("State")
            self.dataChanged.emit(self.index(0, column), self.index(len(self._jobs) - 1, column))

    def is_paused(self, doc: JobDocument) -> bool:
        """A queued job that waits for a pause (its lane's, everything's, or its own)."""
        if doc.state not in (JobState.QUEUED, JobState.PENDING) or doc.id is None:
            return False
        return doc.id in self._held or lane_of(doc.kind) in self._paused_lanes

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
        paused = self.is_paused(doc)
        if role == Qt.ItemDataRole.ForegroundRole and column == "State":
            return QColor(PAUSED_COLOUR if paused else STATE_COLOURS.get(doc.state, theme.TEXT))
        if role == Qt.ItemDataRole.ForegroundRole and column == "Error":
            return QColor(theme.ERROR)
        if role == Qt.ItemDataRole.ToolTipRole and column in ("Error", "Step"):
            return doc.error if column == "Error" else current_step(doc)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        values = {
            "Job": doc.kind.replace("_", " "),
            "Asset": self.asset_names.get(doc.asset_id, f"#{doc.asset_id}") if doc.asset_id else "–",
            "State": "Paused" if paused else str(doc.state).capitalize(),
            "Priority": priority_text(doc.priority),
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
