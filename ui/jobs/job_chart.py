"""A chart of recent job durations over time, one series per device/backend ("pyrender/egl", "cpu").

pyqtgraph costs about a second to import, so it is imported when the first chart is built (the user
opens it), never when the app starts. New points arrive as jobs finish; the plot is redrawn at most
once per ``REDRAW_MS`` however many jobs finish meanwhile.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.jobs.model import JobDocument, JobState
from ui.common import theme

if TYPE_CHECKING:
    from collections.abc import Iterable

log = logging.getLogger(__name__)

CHART_KINDS = {"Render jobs": "render", "Thumbnail jobs": "thumbnail"}
REDRAW_MS = 1000
MAX_POINTS = 2000
SERIES_COLOURS = ("#4f9cf7", "#f2a33a", "#5cc98a", "#e0637a", "#b48cf2", "#46c7c7", "#d9d36a")


@dataclass(frozen=True)
class DurationPoint:
    finished_at: float  # epoch seconds
    seconds: float
    device: str


def duration_point(doc: JobDocument) -> DurationPoint | None:
    """A completed job's duration, placed at the time it finished; None for anything else."""
    if doc.state != JobState.COMPLETED or doc.duration_s is None:
        return None
    ends = [s.ended_at for s in doc.steps if s.ended_at is not None]
    finished_at = max(ends) if ends else doc.updated_at
    return DurationPoint(finished_at, max(0.0, doc.duration_s), doc.device or "unknown")


def group_by_device(points: Iterable[DurationPoint]) -> dict[str, list[DurationPoint]]:
    series: dict[str, list[DurationPoint]] = {}
    for point in sorted(points, key=lambda p: p.finished_at):
        series.setdefault(point.device, []).append(point)
    return series


class JobDurationChart(QWidget):
    """Durations (seconds) of completed jobs of one kind, one scatter/line series per device."""

    kind_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg  # lazy: ~1 s of imports, paid only when the chart is first shown

        self._points: dict[int, DurationPoint] = {}
        self._colours: dict[str, str] = {}
        self.kind_combo = QComboBox()
        for label, kind in CHART_KINDS.items():
            self.kind_combo.addItem(label, kind)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self.kind_changed.emit(self.kind))
        self.summary = QLabel()
        self.summary.setObjectName("Dim")
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Duration")
        title.setObjectName("Dim")
        header.addWidget(title)
        header.addWidget(self.kind_combo)
        header.addWidget(self.summary, 1)

        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(orientation="bottom")})
        self.plot.setBackground(theme.BASE)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("left", "seconds")
        self.plot.setMenuEnabled(False)
        self.plot.setMinimumHeight(120)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pg.mkPen(theme.TEXT_DIM))
            axis.setTextPen(pg.mkPen(theme.TEXT))
        self.legend = self.plot.addLegend(offset=(8, 8), labelTextColor=theme.TEXT)
        self._pg = pg

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.plot, 1)

        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_MS)
        self._redraw_timer.timeout.connect(self.redraw)
        self.redraw_count = 0

    @property
    def kind(self) -> str:
        return str(self.kind_combo.currentData())

    def set_kind(self, kind: str) -> None:
        index = self.kind_combo.findData(kind)
        if index >= 0:
            self.kind_combo.setCurrentIndex(index)

    def set_jobs(self, docs: Iterable[JobDocument]) -> None:
        """Replace every point (a reload) and redraw now."""
        self._points = {}
        self._merge(docs)
        self.redraw()

    def add_jobs(self, docs: Iterable[JobDocument]) -> None:
        """Jobs that just finished: added now, drawn on the next throttled redraw."""
        if self._merge(docs) and not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def series(self) -> dict[str, list[tuple[float, float]]]:
        """What the chart shows: device -> [(finished at, seconds)], oldest first."""
        return {
            device: [(p.finished_at, p.seconds) for p in points]
            for device, points in group_by_device(self._points.values()).items()
        }

    def _merge(self, docs: Iterable[JobDocument]) -> bool:
        changed = False
        for doc in docs:
            if doc.id is None or doc.kind != self.kind:
                continue
            point = duration_point(doc)
            if point is not None:
                self._points[doc.id] = point
                changed = True
        if len(self._points) > MAX_POINTS:
            newest = sorted(self._points.items(), key=lambda item: item[1].finished_at)[-MAX_POINTS:]
            self._points = dict(newest)
        return changed

    def _colour(self, device: str) -> str:
        if device not in self._colours:
            self._colours[device] = SERIES_COLOURS[len(self._colours) % len(SERIES_COLOURS)]
        return self._colours[device]

    def redraw(self) -> None:
        self._redraw_timer.stop()
        self.redraw_count += 1
        pg: Any = self._pg
        self.plot.clear()
        self.legend.clear()
        grouped = group_by_device(self._points.values())
        for device, points in sorted(grouped.items()):
            colour = self._colour(device)
            self.plot.plot(
                [p.finished_at for p in points],
                [p.seconds for p in points],
                pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DotLine),
                symbol="o",
                symbolSize=6,
                symbolPen=None,
                symbolBrush=pg.mkBrush(colour),
                name=f"{device} ({len(points)})",
            )
        total = sum(len(p) for p in grouped.values())
        if total:
            median = sorted(p.seconds for ps in grouped.values() for p in ps)[total // 2]
            self.summary.setText(f"{total} completed · median {median:.2f} s")
        else:
            self.summary.setText("No completed jobs of this kind yet")
