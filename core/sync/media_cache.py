"""Fetched media on this machine: a size-capped folder keyed by sha256, least recently used first out.

A file is only ever visible under its final name once its sha256 matched (the download goes to
``partial/`` and is renamed). Reading one (``get``) marks it used; a file being viewed is pinned and
never evicted, even when that leaves the cache over its limit for a while. Pins belong to this
process (the app's viewer); another process sharing the folder cannot see them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_LIMIT_BYTES = 20 << 30


def file_suffix(name: str) -> str:
    """The extension a cached file keeps: short, lower case, letters and digits only."""
    suffix = name.rpartition(".")[2].lower() if "." in name else ""
    return f".{suffix}" if 0 < len(suffix) <= 8 and suffix.isalnum() and suffix.isascii() else ""


class MediaCache:
    def __init__(self, root: Path, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self.root = root
        self.limit_bytes = limit_bytes
        self._pins: Counter[str] = Counter()
        self._lock = threading.Lock()
        (root / "partial").mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str, name: str = "") -> Path:
        """Where the file lives; ``name`` (the published file name) only lends its extension, so a
        viewer or a decoder that goes by the extension (a GLB, an EXR) opens it."""
        return self.root / sha256[:2] / (sha256 + file_suffix(name))

    def partial(self, sha256: str) -> Path:
        return self.root / "partial" / f"{sha256}.part"

    def get(self, sha256: str, name: str = "") -> Path | None:
        """The cached file, marked as just used; None when it is not here."""
        path = self.path(sha256, name)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def commit(self, sha256: str, name: str = "") -> Path:
        """Move a verified download into the cache, then make room (never evicting it or a pin)."""
        target = self.path(sha256, name)
        target.parent.mkdir(exist_ok=True)
        os.replace(self.partial(sha256), target)
        with self.pinned(sha256):
            self.evict()
        return target

    @contextlib.contextmanager
    def pinned(self, sha256: str, name: str = "") -> Iterator[Path | None]:
        """Keep the file while the block runs (the viewer shows it)."""
        with self._lock:
            self._pins[sha256] += 1
        try:
            yield self.get(sha256, name)
        finally:
            with self._lock:
                self._pins[sha256] -= 1
                if self._pins[sha256] <= 0:
                    del self._pins[sha256]

    def entries(self) -> list[tuple[float, int, str]]:
        """(last used, size, file name: sha256 and extension) of every cached file, oldest first."""
        found = []
        for folder in self.root.iterdir():
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            for path in folder.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    info = path.stat()
                    found.append((info.st_mtime, info.st_size, path.name))
        return sorted(found)

    def usage(self) -> int:
        return sum(size for _used, size, _sha in self.entries())

    def evict(self) -> list[str]:
        """Remove least recently used files until the cache fits its limit; returns their sha256."""
        entries = self.entries()
        total = sum(size for _used, size, _sha in entries)
        removed = []
        for _used, size, file_name in entries:
            if total <= self.limit_bytes:
                break
            sha256 = file_name.split(".", 1)[0]
            with self._lock:
                if self._pins[sha256]:
                    continue
                (self.root / sha256[:2] / file_name).unlink(missing_ok=True)
            total -= size
            removed.append(sha256)
        if removed:
            log.info("event=media_cache_evicted files=%d left_bytes=%d", len(removed), total)
        return removed

    def remove_stale_partials(self, older_than_s: float = 7 * 24 * 3600.0) -> None:
        cutoff = time.time() - older_than_s
        for path in (self.root / "partial").glob("*.part"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
