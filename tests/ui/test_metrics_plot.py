"""The metrics plot under the player: shown for an analysed clip, follows the frame, a click seeks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, Qt

from core.video import analysis
from core.video.frames import VideoFrameSource
from tests.core.video.clips import write_shots_clip
from ui.viewer.metrics_plot import MetricsPlot, attach_metrics_plot
from ui.viewer.player import VideoPlayer

if TYPE_CHECKING:
    from pathlib import Path


def analysed_clip(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    clip = write_shots_clip(tmp_path / "shot.mp4", [(12, (200, 60, 40)), (12, (40, 60, 200))])
    with VideoFrameSource(clip) as source:
        measuring = analysis.analyse_clip(source)
        try:
            while True:
                next(measuring)
        except StopIteration as done:
            result: analysis.ClipAnalysis = done.value
    analysis.write_json(tmp_path / "analysis.json", result)
    return clip, {"path": str(tmp_path / "analysis.json")}


def test_plot_follows_the_player_and_a_click_seeks(qtbot: Any, tmp_path: Path) -> None:
    clip, metadata = analysed_clip(tmp_path)
    player = VideoPlayer()
    qtbot.addWidget(player)
    player.resize(420, 420)
    plot = attach_metrics_plot(player, metadata)
    assert isinstance(plot, MetricsPlot)
    player.show()
    with qtbot.waitSignal(player.clip_opened, timeout=10_000):
        player.open_clip(lambda: VideoFrameSource(clip))
    qtbot.waitUntil(lambda: "(frame 0 / " in player.timecode_label.text())
    assert plot.isVisible()
    assert plot.geometry().top() > player.slider.geometry().top()  # under the timeline

    with qtbot.waitSignal(player.frame_shown, timeout=10_000):
        player.seek(7)
    qtbot.waitUntil(lambda: plot.marked_frame == 7)
    plot.choose_metric("cut_score")
    assert (
        list(plot.curve.getData()[1]) == analysis.read_json(tmp_path / "analysis.json").metrics["cut_score"]
    )

    view_box = plot.plot.getPlotItem().getViewBox()
    scene_point = view_box.mapViewToScene(QPointF(18, 0))
    widget_point = plot.plot.mapFromScene(scene_point)
    with qtbot.waitSignal(plot.seek_requested, timeout=5_000) as clicked:
        qtbot.mouseClick(plot.plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_point)
    assert clicked.args == [18]
    qtbot.waitUntil(lambda: "(frame 18 / " in player.timecode_label.text() and plot.marked_frame == 18)
    player.close_clip()


def test_no_plot_when_the_analysis_file_is_gone(qtbot: Any, tmp_path: Path) -> None:
    player = VideoPlayer()
    qtbot.addWidget(player)
    assert attach_metrics_plot(player, {"path": str(tmp_path / "missing.json")}) is None
    assert attach_metrics_plot(player, None) is None
    assert not player.findChildren(MetricsPlot)
