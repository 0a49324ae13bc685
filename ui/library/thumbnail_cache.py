"""Thumbnails for the grid: an LRU of pixmaps keyed by (content hash, size bucket).

A miss never blocks: the JPEG the media lane already wrote is read and scaled on a small thread pool
(QImage is safe off the UI thread, QPixmap is not) by a background worker, handed back and turned into
a QPixmap on the UI thread, and announced with ``thumbnail_ready(content_hash)`` so the model can repaint
just those rows. Until then the delegate paints a placeholder.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)

SIZE_BUCKETS = (64, 128, 256, 512)
DEFAULT_BUDGET_BYTES = 384 * 1024 * 1024


def size_bucket(size: int) -> int:
    """The smallest stored size that covers ``size`` on screen (tiles are painted scaled down)."""
    return next((b for b in SIZE_BUCKETS if b >= size), SIZE_BUCKETS[-1])


@dataclass(frozen=True)
class _Key:
    content_hash: str
    size: int


def _read_scaled(key: _Key, path: str) -> tuple[_Key, str, QImage]:
    """A pool thread's work: the thumbnail JPEG at no more than the key's size (null when unreadable)."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    source = reader.size()
    if source.isValid() and max(source.width(), source.height()) > key.size:
        # Scaled decoding: JPEG readers decode straight to the smaller size, much cheaper.
        reader.setScaledSize(source.scaled(key.size, key.size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        log.warning("Cannot read thumbnail %s: %s", path, reader.errorString())
    return key, path, image


class ThumbnailCache(QObject):
    thumbnail_ready = Signal(str)

    def __init__(
        self,
        background: BackgroundWork,
        *,
        budget_bytes: int = DEFAULT_BUDGET_BYTES,
        threads: int = 2,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._budget = budget_bytes
        self._used = 0
        self._pixmaps: OrderedDict[_Key, tuple[str, QPixmap]] = OrderedDict()
        self._pending: dict[_Key, str] = {}
        self._failed: dict[_Key, str] = {}
        self._background = background
        self._pool = QThreadPool(self)
        self._pool.setObjectName("thumbnails")
        self._pool.setMaxThreadCount(max(1, threads))

    def get(self, record: AssetRecord, size: int) -> QPixmap | None:
        """The cached pixmap, or None while it loads (a load is queued on the first miss).

        Cheap enough for ``data()``: a dict lookup, at most one read queued, no I/O here.
        """
        path = record.thumbnail
        if not path:
            return None
        key = _Key(record.content_hash, size_bucket(size))
        hit = self._pixmaps.get(key)
        if hit is not None and hit[0] == path:
            self._pixmaps.move_to_end(key)
            return hit[1]
        if self._pending.get(key) == path or self._failed.get(key) == path:
            return hit[1] if hit is not None else None
        self._pending[key] = path
        self._background.call(partial(_read_scaled, key, path), self._on_loaded, pool=self._pool)
        # A replaced thumbnail (re-render) keeps showing the old one until the new one arrives.
        return hit[1] if hit is not None else None

    def failed(self, record: AssetRecord, size: int) -> bool:
        """True when this record's thumbnail file could not be read (missing or corrupt)."""
        key = _Key(record.content_hash, size_bucket(size))
        return record.thumbnail is not None and self._failed.get(key) == record.thumbnail

    def clear(self) -> None:
        self._pixmaps.clear()
        self._failed.clear()
        self._used = 0

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def _on_loaded(self, loaded: tuple[_Key, str, QImage]) -> None:
        key, path, image = loaded
        if self._pending.get(key) == path:
            del self._pending[key]
        if image.isNull():
            self._failed[key] = path
            self.thumbnail_ready.emit(key.content_hash)  # repaint: the tile shows "no preview" now
            return
        if key in self._pixmaps:
            self._drop(key)
        pixmap = QPixmap.fromImage(image)
        self._pixmaps[key] = (path, pixmap)
        self._used += _pixmap_bytes(pixmap)
        while self._used > self._budget and len(self._pixmaps) > 1:
            self._drop(next(iter(self._pixmaps)))
        self.thumbnail_ready.emit(key.content_hash)

    def _drop(self, key: _Key) -> None:
        _path, pixmap = self._pixmaps.pop(key)
        self._used -= _pixmap_bytes(pixmap)


def _pixmap_bytes(pixmap: QPixmap) -> int:
    size: QSize = pixmap.size()
    return size.width() * size.height() * 4
