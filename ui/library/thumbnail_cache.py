"""Thumbnails for the grid: an LRU of pixmaps keyed by (content hash, size bucket).

A miss never blocks: the JPEG the media lane already wrote is read and scaled on a small thread pool
(QImage is safe off the UI thread, QPixmap is not), handed back through a queued signal, turned into a
QPixmap on the UI thread, and announced with ``thumbnail_ready(content_hash)`` so the model can repaint
just those rows. Until then the delegate paints a placeholder.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader, QPixmap

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord

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


class _Relay(QObject):
    """Lives on the UI thread; signals emitted from pool threads reach it queued."""

    loaded = Signal(object, str, QImage)


class _LoadThumbnail(QRunnable):
    def __init__(self, key: _Key, path: str, relay: _Relay) -> None:
        super().__init__()
        self._key, self._path, self._relay = key, path, relay

    def run(self) -> None:
        reader = QImageReader(self._path)
        reader.setAutoTransform(True)
        source = reader.size()
        if source.isValid() and max(source.width(), source.height()) > self._key.size:
            # Scaled decoding: JPEG readers decode straight to the smaller size, much cheaper.
            reader.setScaledSize(
                source.scaled(self._key.size, self._key.size, Qt.AspectRatioMode.KeepAspectRatio)
            )
        image = reader.read()
        if image.isNull():
            log.warning("Cannot read thumbnail %s: %s", self._path, reader.errorString())
        self._relay.loaded.emit(self._key, self._path, image)


class ThumbnailCache(QObject):
    thumbnail_ready = Signal(str)

    def __init__(
        self,
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
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, threads))
        self._relay = _Relay(self)
        self._relay.loaded.connect(self._on_loaded)

    def get(self, record: AssetRecord, size: int) -> QPixmap | None:
        """The cached pixmap, or None while it loads (a load is queued on the first miss).

        Cheap enough for ``data()``: a dict lookup, at most one QRunnable queued, no I/O here.
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
        self._pool.start(_LoadThumbnail(key, path, self._relay))
        # A replaced thumbnail (re-render) keeps showing the old one until the new one arrives.
        return hit[1] if hit is not None else None

    def failed(self, record: AssetRecord, size: int) -> bool:
        """True when this record's thumbnail file could not be read (missing or corrupt)."""
        key = _Key(record.content_hash, size_bucket(size))
        return record.thumbnail is not None and self._failed.get(key) == record.thumbnail

    def invalidate(self, content_hash: str) -> None:
        for key in [k for k in self._pixmaps if k.content_hash == content_hash]:
            self._drop(key)
        for key in [k for k in self._failed if k.content_hash == content_hash]:
            del self._failed[key]

    def clear(self) -> None:
        self._pixmaps.clear()
        self._failed.clear()
        self._used = 0

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def used_bytes(self) -> int:
        return self._used

    def shutdown(self, timeout_ms: int = 3000) -> None:
        """Stop queued loads and wait for running ones (call before the app quits)."""
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)

    def _on_loaded(self, key: _Key, path: str, image: QImage) -> None:
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
