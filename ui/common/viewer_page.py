"""What the viewer shows for one asset, as the review tools (comments, drawings) see it.

The viewer (``ui.viewer``) shows a still on its canvas or a kind's own page (a video player, a turntable);
the comment UI (``ui.collab``) anchors notes to the page's frame and draws over its picture. Neither
package imports the other: they meet through this protocol, wired together in ``ui.shell``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtCore import QRectF
    from PySide6.QtWidgets import QWidget


class ViewerPage(Protocol):
    def page_widget(self) -> QWidget:
        """The page itself, as placed in the viewer."""

    @property
    def current_frame(self) -> int | None:
        """The frame on screen in the clip's own numbering basis (0-based index); None for a still."""

    def seek(self, frame: int) -> None:
        """Show ``frame`` (a still ignores it)."""

    @property
    def display_frame(self) -> int | None:
        """The frame on screen as the clip numbers it, what notes are anchored to and labelled with: an
        image sequence's own numbers (``shot.1012.exr`` is 1012), a video's frame counted from its
        start; None for a still."""

    def seek_display(self, number: int) -> None:
        """Show the frame the clip numbers ``number`` (see ``display_frame``; a still ignores it)."""

    def picture_widget(self) -> QWidget:
        """The widget that paints the picture: drawings are laid over it."""

    def picture_rect(self) -> QRectF:
        """Where the picture is painted, in ``picture_widget()`` coordinates (empty when none)."""

    def watch_frames(self, on_frame_shown: Callable[[int], object]) -> None:
        """Call ``on_frame_shown(frame)`` whenever another frame reaches the screen (never for a still)."""

    def close_page(self) -> None:
        """Stop what the page runs (a decode thread) before it is removed."""
