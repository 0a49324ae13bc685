"""The viewer's page for videos and image sequences: a ``VideoPlayer`` on the asset's frames, with the
shot-analysis plot under it when the asset has been analysed."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from ui.viewer.player import VideoPlayer

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QWidget

    from core.catalog.records import AssetRecord
    from core.media.limits import MediaLimits


def player_page_factory(limits: MediaLimits | None = None) -> Callable[[AssetRecord, QWidget], VideoPlayer]:
    """A page factory for ``AssetViewer.register_page("video" | "sequence", ...)``."""

    def make_page(record: AssetRecord, parent: QWidget) -> VideoPlayer:
        from core.video.frames import open_frame_source
        from ui.common.files import asset_files

        frames = tuple(asset_files(record)) if record.is_sequence else ()
        fps = record.metadata.get("fps") if record.is_sequence else None
        player = VideoPlayer(parent)
        sequence = record.metadata.get("sequence") if record.is_sequence else None
        if isinstance(sequence, dict) and isinstance(sequence.get("frames"), list):
            player.set_source_frame_numbers(tuple(int(n) for n in sequence["frames"]))
        player.open_clip(
            functools.partial(
                open_frame_source,
                Path(record.path),
                frames=frames,
                fps=float(fps) if isinstance(fps, int | float) and fps > 0 else None,
                limits=limits,
            )
        )
        if record.metadata.get("analysis"):
            from ui.viewer.metrics_plot import attach_metrics_plot

            attach_metrics_plot(player, record.metadata["analysis"])
        player.setFocus()
        return player

    return make_page
