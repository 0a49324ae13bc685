"""One job opened up: its steps (status, start, end, duration, device, output, error) and, under each
step, the structured log lines it recorded (``step_start``/``step_done``/``step_error`` and what the
step itself logged). The Jobs panel shows it beside the table for the selected job."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.jobs.model import JobDocument, StepRecord, StepStatus
from core.jobs.runner import RERUN_PARAM, format_overrides, parse_overrides
from ui.common import theme
from ui.common.formatting import human_duration
from ui.jobs.job_table import priority_text

if TYPE_CHECKING:
    from collections.abc import Callable

STEP_COLUMNS = ("Step", "Status", "Start", "End", "Duration", "Device", "Output", "Error")
STATUS_COLOURS = {
    StepStatus.RUNNING: theme.ACCENT,
    StepStatus.COMPLETED: theme.SUCCESS,
    StepStatus.FAILED: theme.ERROR,
    StepStatus.CANCELLED: theme.TEXT_DIM,
    StepStatus.SKIPPED: theme.TEXT_DIM,
}
LEVEL_COLOURS = {"WARNING": theme.WARNING, "ERROR": theme.ERROR, "CRITICAL": theme.ERROR}
StepRole = Qt.ItemDataRole.UserRole + 1


def clock(timestamp: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp)) if timestamp else "–"


def output_text(output: dict[str, Any]) -> str:
    """The step's output in one line: its file first (what a user looks for), then the rest."""
    path = output.get("path") or output.get("thumbnail")
    rest = {
        k: v for k, v in output.items() if k not in ("path", "thumbnail") and not isinstance(v, list | dict)
    }
    parts = [Path(str(path)).name] if path else []  # the whole path is in the tooltip
    parts.extend(f"{k}={v}" for k, v in list(rest.items())[:6])
    return ", ".join(parts)


def log_line_text(line: dict[str, Any]) -> str:
    """``13:19:57  step_error  #1  broken.png is not an image``: time, event, attempt, message."""
    when, event, attempt = clock(line.get("t")), line.get("event", "log"), line.get("attempt", "")
    return f"{when}  {event}  #{attempt}  {line.get('message', '')}"


class JobStepsView(QWidget):
    """The steps of one job; ``rerun_requested(job_id, step, overrides)`` from "Re-run step…"."""

    rerun_requested = Signal(int, str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._doc: JobDocument | None = None
        self.title = QLabel("Select a job to see its steps")
        self.title.setObjectName("Dim")
        self.rerun_button = QPushButton("Re-run step…")
        self.rerun_button.setToolTip(
            "Run the selected step again with changed settings; "
            "its earlier output stays until the new one succeeds"
        )
        self.rerun_button.clicked.connect(self.ask_rerun)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.rerun_button)
        self.tree = QTreeWidget()
        self.tree.setObjectName("JobSteps")
        self.tree.setColumnCount(len(STEP_COLUMNS))
        self.tree.setHeaderLabels(list(STEP_COLUMNS))
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.tree.header().setStretchLastSection(True)
        for column, width in enumerate((120, 80, 68, 68, 72, 60, 200)):
            self.tree.setColumnWidth(column, width)
        self.tree.currentItemChanged.connect(lambda *_: self._update_button())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.tree, 1)
        self.ask_overrides: Callable[[str, str], str | None] = self._ask_overrides_dialog
        self._update_button()

    @property
    def job(self) -> JobDocument | None:
        return self._doc

    def show_job(self, doc: JobDocument | None) -> None:
        """Show ``doc``'s steps, keeping which steps were open and which was selected."""
        same_job = doc is not None and self._doc is not None and doc.id == self._doc.id
        opened = self._opened_steps() if same_job else set()
        current = self.selected_step() if same_job else None
        self._doc = doc
        self.tree.clear()
        if doc is None:
            self.title.setText("Select a job to see its steps")
            self._update_button()
            return
        duration = human_duration(doc.duration_s)
        priority = priority_text(doc.priority)
        self.title.setText(f"Job {doc.id} · {doc.kind} · {doc.state} · {duration} · {priority} priority")
        # Without a choice yet, the step a user most likely wants: the failed one, else the last run.
        ran = [s.name for s in doc.steps if s.status != StepStatus.PENDING]
        failed = [s.name for s in doc.steps if s.status == StepStatus.FAILED]
        current = current or (failed or ran or [doc.steps[0].name if doc.steps else ""])[-1]
        for step in doc.steps:
            item = self._step_item(step)
            self.tree.addTopLevelItem(item)
            for index in range(item.childCount()):  # spanning needs the item in the tree
                if (line := item.child(index)) is not None:
                    line.setFirstColumnSpanned(True)  # log lines read across, as in a log file
            item.setExpanded(step.name in opened or step.status in (StepStatus.FAILED, StepStatus.RUNNING))
            if step.name == current:
                self.tree.setCurrentItem(item)
        self._update_button()

    def selected_step(self) -> str | None:
        item = self.tree.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        return str(item.data(0, StepRole)) if item is not None else None

    def ask_rerun(self) -> None:
        doc, step = self._doc, self.selected_step()
        if doc is None or doc.id is None or step is None:
            return
        current = format_overrides(dict((doc.params.get(RERUN_PARAM) or {}).get(step) or {}))
        text = self.ask_overrides(step, current)
        if text is None:
            return
        self.rerun_requested.emit(doc.id, step, parse_overrides(text))

    def _ask_overrides_dialog(self, step: str, current: str) -> str | None:
        text, ok = QInputDialog.getMultiLineText(
            self,
            f"Re-run {step}",
            f"Settings for this run of {step}, one key=value a line (size=512, backend=blender).\n"
            "The earlier output stays until the new one succeeds.",
            current,
        )
        return text if ok else None

    def _step_item(self, step: StepRecord) -> QTreeWidgetItem:
        values = (
            step.name,
            str(step.status),
            clock(step.started_at),
            clock(step.ended_at),
            human_duration(step.duration_s),
            step.device or "–",
            output_text(step.output),
            (step.error or "").splitlines()[0] if step.error else "",
        )
        item = QTreeWidgetItem(list(values))
        item.setData(0, StepRole, step.name)
        item.setForeground(1, QColor(STATUS_COLOURS.get(step.status, theme.TEXT)))
        item.setForeground(7, QColor(theme.ERROR))
        item.setToolTip(6, json.dumps(step.output, indent=1, default=str)[:2000])
        item.setToolTip(7, step.error or "")
        for line in step.log:
            child = QTreeWidgetItem([log_line_text(line)])
            item.addChild(child)
            child.setForeground(0, QColor(LEVEL_COLOURS.get(str(line.get("level")), theme.TEXT_DIM)))
            child.setToolTip(0, str(line.get("message", "")))
        return item

    def _opened_steps(self) -> set[str]:
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return {str(item.data(0, StepRole)) for item in items if item is not None and item.isExpanded()}

    def _update_button(self) -> None:
        doc = self._doc
        self.rerun_button.setEnabled(
            doc is not None and doc.state.finished and self.selected_step() is not None
        )
