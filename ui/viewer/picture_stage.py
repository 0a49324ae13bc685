"""The viewer's stage: the still canvas and, beside it, a second canvas (the enhanced copy, or B of an
A/B compare) kept at one zoom and pan, each drawing the focus box in its own pixels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QWidget

from ui.viewer.image_canvas import ImageCanvas
from ui.viewer.viewer_parts import focus_rect

if TYPE_CHECKING:
    from PySide6.QtGui import QImage

    from core.catalog.records import AssetRecord


class PictureStage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = ImageCanvas()
        self.compare_canvas = ImageCanvas()
        self.compare_canvas.hide()
        self._syncing = False
        for canvas, other in ((self.canvas, self.compare_canvas), (self.compare_canvas, self.canvas)):
            canvas.view_changed.connect(lambda c=canvas, o=other: self._sync_view(c, o))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.canvas, 1)
        row.addWidget(self.compare_canvas, 1)

    @property
    def comparing(self) -> bool:
        """True while a second picture is shown beside the first."""
        return self.compare_canvas.isVisibleTo(self)

    def fit(self) -> None:
        self.canvas.fit()
        self.keep_in_step()

    def keep_in_step(self) -> None:
        """The second canvas takes the first one's zoom and pan (after a fit or a new picture)."""
        if self.comparing:
            self.compare_canvas.follow(self.canvas)

    def show_beside(self, image: QImage, *, caption: str, first_caption: str) -> None:
        self.compare_canvas.set_image(image)
        self.compare_canvas.set_caption(caption)
        self.canvas.set_caption(first_caption)
        self.compare_canvas.show()
        self.compare_canvas.follow(self.canvas)

    def hide_beside(self) -> None:
        self.compare_canvas.hide()
        self.compare_canvas.clear()
        self.canvas.set_caption("")

    def show_focus_box(self, record: AssetRecord | None, *, shown: bool) -> None:
        """Draw ``record``'s focus crop on both canvases when ``shown``; the label names its method."""
        for canvas in (self.canvas, self.compare_canvas):
            rect = focus_rect(record, canvas.image_size()) if shown and record is not None else None
            method = str(record.metadata.get("focus_method") or "") if record is not None else ""
            canvas.set_overlay_box(rect, f"focus · {method}" if method else "focus")

    def _sync_view(self, source: ImageCanvas, target: ImageCanvas) -> None:
        """One zoom and pan for both halves: whichever the user moves, the other follows."""
        if self._syncing or not self.comparing:
            return
        self._syncing = True
        try:
            target.follow(source)
        finally:
            self._syncing = False
