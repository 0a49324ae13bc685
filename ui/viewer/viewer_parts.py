"""What the viewer shows besides its own canvas, as plain parts: the page factories it is given, the
focus box in the shown picture's pixels, and the newest product file of a kind."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QRectF

from core.media.kinds import AssetKind

if TYPE_CHECKING:
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QWidget

    from core.catalog.records import ArtifactRecord, AssetRecord
    from ui.common.viewer_page import ViewerPage


class PageFactory(Protocol):
    def __call__(self, record: AssetRecord, parent: QWidget, /) -> ViewerPage: ...


class ClipCompareFactory(Protocol):
    def __call__(self, a: AssetRecord, b: AssetRecord, parent: QWidget, /) -> ViewerPage: ...


def focus_rect(record: AssetRecord, shown: QSize) -> QRectF | None:
    """The focus box (``metadata["focus_box"]``, source pixels) in the pixels of the image shown.

    Images are shown at their source size; a render or poster of another size is scaled to fit.
    """
    box = record.metadata.get("focus_box")
    if not (isinstance(box, list | tuple) and len(box) == 4) or shown.isEmpty():
        return None
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    width, height = record.metadata.get("width"), record.metadata.get("height")
    scale_x = scale_y = 1.0
    pixels = record.kind in (AssetKind.IMAGE, AssetKind.SEQUENCE)
    if pixels and isinstance(width, int) and isinstance(height, int) and width:
        scale_x, scale_y = shown.width() / width, shown.height() / max(1, height)
    rect = QRectF(x * scale_x, y * scale_y, w * scale_x, h * scale_y)
    rect = rect.intersected(QRectF(0, 0, shown.width(), shown.height()))
    return None if rect.isEmpty() else rect


def newest_file(artifacts: list[ArtifactRecord], kind: str) -> Path | None:
    """The newest artifact of ``kind`` whose file is still there."""
    for artifact in sorted(artifacts, key=lambda a: a.created_at, reverse=True):
        if artifact.kind == kind and Path(artifact.path).is_file():
            return Path(artifact.path)
    return None
