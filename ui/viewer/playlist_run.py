"""Playing a playlist back to back in the viewer, as a review session runs.

Each item is shown in turn; a clip plays from its start and the next item follows when it reaches
its end; a still stays ``still_seconds`` then moves on. Left/Right (the viewer's navigate keys) step
through the playlist instead of the grid while a run is on; showing anything else, or closing the
viewer, ends the run. The viewer's info line says where in the playlist it is ("Dailies · 2 of 9").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from ui.viewer.player import VideoPlayer

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord
    from ui.common.viewer_page import ViewerPage
    from ui.viewer.viewer import AssetViewer

STILL_SECONDS = 4.0


class PlaylistRun(QObject):
    item_shown = Signal(int)  # 0-based position now on screen
    finished = Signal()  # the last item was played to its end

    def __init__(self, viewer: AssetViewer, still_seconds: float = STILL_SECONDS) -> None:
        super().__init__(viewer)
        self._viewer = viewer
        self._name = ""
        self._items: list[AssetRecord] = []
        self._index = -1
        self._showing = False  # we are the ones calling show_asset
        self._player: VideoPlayer | None = None
        self._still_timer = QTimer(self)
        self._still_timer.setSingleShot(True)
        self._still_timer.setInterval(round(still_seconds * 1000))
        self._still_timer.timeout.connect(lambda: self.step(1))
        viewer.asset_shown.connect(self._on_asset_shown)
        viewer.page_changed.connect(self._on_page_changed)
        viewer.closed.connect(self.stop)

    def set_still_seconds(self, seconds: float) -> None:
        """How long a still stays before the next item."""
        self._still_timer.setInterval(round(seconds * 1000))

    @property
    def active(self) -> bool:
        return self._index >= 0

    @property
    def position(self) -> int:
        return self._index

    def start(self, name: str, items: list[AssetRecord]) -> None:
        if not items:
            return
        self._name, self._items = name, list(items)
        self._show(0)

    def step(self, delta: int) -> bool:
        """Move ``delta`` items; False (and nothing happens) when no run is on."""
        if not self.active:
            return False
        target = self._index + delta
        if target >= len(self._items):
            self._still_timer.stop()
            self.finished.emit()
            return True
        self._show(max(0, target))
        return True

    def stop(self) -> None:
        self._index = -1
        self._still_timer.stop()
        self._watch_player(None)

    def _show(self, index: int) -> None:
        self._index = index
        self._still_timer.stop()
        self._showing = True
        try:
            self._viewer.show_asset(
                self._items[index], f"{self._name} \u00b7 {index + 1} of {len(self._items)}"
            )
        finally:
            self._showing = False
        if not isinstance(self._viewer.current_page(), VideoPlayer):
            self._still_timer.start()
        self.item_shown.emit(index)

    def _on_asset_shown(self, record: AssetRecord) -> None:
        del record
        if not self._showing:
            self.stop()  # the user went elsewhere: the session is over

    def _on_page_changed(self, page: ViewerPage) -> None:
        self._watch_player(page if isinstance(page, VideoPlayer) and self.active else None)

    def _watch_player(self, player: VideoPlayer | None) -> None:
        if self._player is not None:
            try:
                self._player.clip_opened.disconnect(self._on_clip_opened)
                self._player.playing_changed.disconnect(self._on_playing_changed)
            except (RuntimeError, TypeError):
                pass  # the page was already deleted with its connections
        self._player = player
        if player is not None:
            player.clip_opened.connect(self._on_clip_opened)
            player.playing_changed.connect(self._on_playing_changed)

    def _on_clip_opened(self, _info: object) -> None:
        if self._player is not None:
            self._player.seek(0)
            self._player.play()

    def _on_playing_changed(self, playing: bool) -> None:
        player = self._player
        if not playing and player is not None and player.current_frame >= player.frame_count - 1:
            QTimer.singleShot(0, lambda: self.step(1))  # not from inside the player's own signal
