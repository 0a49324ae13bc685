"""The viewer's still canvas as a page, so the review tools treat a still like a clip (one frame)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtCore import QRectF
    from PySide6.QtWidgets import QWidget

    from ui.viewer.image_canvas import ImageCanvas


class StillPage:
    """The canvas as a viewer page: one picture, no frames."""

    def __init__(self, canvas: ImageCanvas) -> None:
        self._canvas = canvas

    def page_widget(self) -> QWidget:
        return self._canvas

    @property
    def current_frame(self) -> int | None:
        return None

    def seek(self, frame: int) -> None:
        del frame  # a still has one picture

    @property
    def display_frame(self) -> int | None:
        return None

    def seek_display(self, number: int) -> None:
        del number  # a still has one picture

    def picture_widget(self) -> QWidget:
        return self._canvas

    def picture_rect(self) -> QRectF:
        return self._canvas.image_rect()

    def watch_frames(self, on_frame_shown: Callable[[int], object]) -> None:
        del on_frame_shown  # a still never shows another frame

    def close_page(self) -> None:
        """Nothing runs behind a still."""
