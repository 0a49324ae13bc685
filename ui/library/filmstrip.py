"""Hover-scrub for video tiles: a "filmstrip" artifact (N frames side by side in one JPEG) is loaded
off the UI thread and kept in a small LRU; the delegate paints the cell under the mouse from it.

Which strip an asset has comes from its metadata (``metadata["filmstrip"]``, written by the video
step) or, failing that, from the catalog when the mouse first enters its tile (one indexed query,
remembered), never in ``paint()``; the JPEG is decoded on a worker thread.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRect, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)

MAX_STRIPS = 48


@dataclass(frozen=True)
class Filmstrip:
    asset_id: int
    path: str
    frames: tuple[int, ...]  # the source frame index of each cell, left to right

    @property
    def cells(self) -> int:
        return len(self.frames)


def filmstrip_cell(x_fraction: float, cells: int) -> int:
    """Which cell (0-based) the mouse at ``x_fraction`` (0 left edge .. 1 right edge) points at."""
    if cells <= 0:
        return 0
    return max(0, min(cells - 1, int(x_fraction * cells)))


def cell_rect(strip_width: int, strip_height: int, cells: int, cell: int) -> QRect:
    """The source rectangle of ``cell`` in a strip of ``cells`` equal frames laid side by side."""
    left = round(cell * strip_width / cells)
    right = round((cell + 1) * strip_width / cells)
    return QRect(left, 0, max(1, right - left), strip_height)


def _strip(asset_id: int, info: object) -> Filmstrip | None:
    if not isinstance(info, dict):
        return None
    path, frames = info.get("path"), info.get("frames")
    if not (isinstance(path, str) and isinstance(frames, list) and frames):
        return None
    if not all(isinstance(f, int | float) for f in frames):
        return None
    return Filmstrip(asset_id, path, tuple(int(f) for f in frames))


def filmstrip_of(catalog: Catalog, record: AssetRecord) -> Filmstrip | None:
    """The asset's filmstrip: from its metadata when the video step recorded it there (no query),
    else the newest "filmstrip" artifact with its frame list; None when it has none."""
    strip = _strip(record.id, record.metadata.get("filmstrip"))
    if strip is not None:
        return strip
    for artifact in reversed(catalog.artifacts(record.id, "filmstrip")):
        strip = _strip(record.id, {**artifact.meta, "path": artifact.path})
        if strip is not None:
            return strip
    return None


def _read_strip(strip: Filmstrip) -> tuple[Filmstrip, QImage]:
    """A pool thread's work: the strip's JPEG (a null image when it cannot be read)."""
    reader = QImageReader(strip.path)
    image = reader.read()
    if image.isNull():
        log.warning("Cannot read filmstrip %s: %s", strip.path, reader.errorString())
    return strip, image


class FilmstripCache(QObject):
    ready = Signal(object)  # int asset id whose strip is now loaded

    def __init__(
        self, catalog: Catalog, background: BackgroundWork, *, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._background = background
        self._known: dict[int, Filmstrip | None] = {}
        self._pixmaps: OrderedDict[int, tuple[Filmstrip, QPixmap]] = OrderedDict()
        self._loading: set[Filmstrip] = set()
        self._failed: set[str] = set()
        self._pool = QThreadPool(self)
        self._pool.setObjectName("filmstrips")
        self._pool.setMaxThreadCount(1)

    def request(self, record: AssetRecord) -> Filmstrip | None:
        """Called when the mouse enters a video tile: find its strip (once) and start loading it."""
        if record.id not in self._known:
            self._known[record.id] = filmstrip_of(self._catalog, record)
        strip = self._known[record.id]
        if strip is None or strip.path in self._failed:
            return None
        cached = self._pixmaps.get(record.id)
        if cached is not None and cached[0] == strip:
            self._pixmaps.move_to_end(record.id)
        elif strip not in self._loading:
            self._loading.add(strip)
            self._background.call(partial(_read_strip, strip), self._on_loaded, pool=self._pool)
        return strip

    def cached(self, asset_id: int) -> tuple[Filmstrip, QPixmap] | None:
        """The loaded strip for paint(): a dict lookup, nothing else."""
        return self._pixmaps.get(asset_id)

    def forget(self, asset_id: int) -> None:
        """A job changed the asset (a new strip may exist): look it up again next time."""
        self._known.pop(asset_id, None)
        self._pixmaps.pop(asset_id, None)

    def _on_loaded(self, loaded: tuple[Filmstrip, QImage]) -> None:
        strip, image = loaded
        self._loading.discard(strip)
        if image.isNull():
            self._failed.add(strip.path)
            return
        self._pixmaps[strip.asset_id] = (strip, QPixmap.fromImage(image))
        while len(self._pixmaps) > MAX_STRIPS:
            self._pixmaps.popitem(last=False)
        self.ready.emit(strip.asset_id)
