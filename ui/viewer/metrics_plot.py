"""Shot-analysis metrics plotted under the player's timeline: one metric at a time, chosen in a combo.

A vertical line marks the frame on screen (it follows ``VideoPlayer.frame_shown``); a click on the plot
seeks the player to the frame under the pointer. Cuts are drawn as faint lines so shots read at a glance.
pyqtgraph is imported when the first plot is built, never when the app starts (see ui/jobs/job_chart.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from core.video.analysis import METRICS, ClipAnalysis, read_json
from ui.common import theme

if TYPE_CHECKING:
    from ui.viewer.player import VideoPlayer

log = logging.getLogger(__name__)

PLOT_HEIGHT = 110


class MetricsPlot(QWidget):
    """Per-frame values of one analysis metric; ``seek_requested(frame)`` on a click."""

    seek_requested = Signal(int)

    def __init__(self, analysis: ClipAnalysis, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg  # lazy: ~1 s of imports, paid only when an analysed clip is opened

        self._analysis = analysis
        self.metric_combo = QComboBox()
        for name in METRICS:
            self.metric_combo.addItem(name.replace("_", " "), name)
        self.metric_combo.currentIndexChanged.connect(lambda _i: self._draw())
        self.value_label = QLabel()
        self.value_label.setObjectName("Dim")
        header = QHBoxLayout()
        header.setContentsMargins(6, 0, 6, 0)
        header.addWidget(self.metric_combo)
        header.addWidget(self.value_label, 1)

        self.plot = pg.PlotWidget()
        self.plot.setBackground(theme.BASE)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        # The x axis is the timeline: panning or zooming it would no longer line up with the slider.
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setFixedHeight(PLOT_HEIGHT)
        self.plot.getAxis("bottom").setStyle(showValues=False)
        last = max(0, analysis.frame_count - 1)
        self.plot.setXRange(0, last, padding=0)
        self.curve = self.plot.plot(pen=pg.mkPen(theme.ACCENT, width=1))
        for cut in analysis.cuts:
            self.plot.addItem(pg.InfiniteLine(cut, angle=90, pen=pg.mkPen(theme.TEXT_DIM, width=1)))
        self.frame_line = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(theme.TEXT, width=2))
        self.plot.addItem(self.frame_line)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.plot)
        self._draw()

    @property
    def chosen_metric(self) -> str:
        return str(self.metric_combo.currentData())

    def choose_metric(self, name: str) -> None:
        self.metric_combo.setCurrentIndex(self.metric_combo.findData(name))

    @property
    def marked_frame(self) -> int:
        return round(float(self.frame_line.value()))

    def show_frame(self, frame: int) -> None:
        self.frame_line.setValue(frame)
        self._label()

    def frame_at(self, scene_pos: QPointF) -> int:
        """The frame under a point of the plot's scene, clamped to the clip."""
        x = float(self.plot.getPlotItem().getViewBox().mapSceneToView(scene_pos).x())
        return min(max(0, round(x)), max(0, self._analysis.frame_count - 1))

    def _on_clicked(self, event: Any) -> None:
        self.seek_requested.emit(self.frame_at(event.scenePos()))

    def _draw(self) -> None:
        self.curve.setData(self._analysis.metrics[self.chosen_metric])
        self._label()

    def _label(self) -> None:
        values = self._analysis.metrics[self.chosen_metric]
        frame = self.marked_frame
        self.value_label.setText(f"{values[frame]:.3g} at frame {frame}" if 0 <= frame < len(values) else "")


def attach_metrics_plot(player: VideoPlayer, analysis_metadata: object) -> MetricsPlot | None:
    """Put the plot of an asset's analysis (its ``analysis`` metadata) under ``player``'s timeline.

    None, with a log line, when the analysis file is gone or unreadable: the player works without it.
    """
    if not isinstance(analysis_metadata, dict) or not analysis_metadata.get("path"):
        return None
    try:
        analysis = read_json(Path(str(analysis_metadata["path"])))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("No metrics plot: %s", exc)
        return None
    plot = MetricsPlot(analysis, player)
    layout = player.layout()
    assert isinstance(layout, QVBoxLayout)
    layout.insertWidget(layout.indexOf(player.slider) + 1, plot)
    player.frame_shown.connect(plot.show_frame)
    plot.seek_requested.connect(player.seek)
    return plot
