"""Publications in progress, kept on disk so an interrupted one goes on after the program restarts.

One JSON file in the data dir, rewritten whole (temp file + rename) at each change: it holds a few
entries at most. The server keeps the chunks it acknowledged; this file keeps what the client needs
to ask for the rest (which files, for which project and asset).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class PendingFile:
    path: str
    sha256: str
    size: int
    mtime_ns: int  # a file changed since it was hashed is hashed again, not resumed
    # What the file is to a reviewer (``core.media.review_media.ReviewRole``): the review proxy or
    # preview the viewer opens, a render, or the original.
    role: str = "original"


@dataclass(frozen=True)
class PendingPublication:
    key: str  # the asset's content hash in its server project: one publication per asset
    project: int
    name: str
    kind: str
    content_hash: str
    files: list[PendingFile] = field(default_factory=list)
    catalog_asset: int | None = None
    # How the review file is viewed and what it holds (kind, frames, fps, size): ``metadata.media.review``.
    review: dict[str, Any] = field(default_factory=dict)
    thumbnail: str | None = None  # the catalog thumbnail JPEG, sent with the asset's record


class PendingUploads:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    def add(self, publication: PendingPublication) -> None:
        with self._lock:
            data = self._read()
            data[publication.key] = asdict(publication)
            self._write(data)

    def done(self, key: str) -> None:
        with self._lock:
            data = self._read()
            if data.pop(key, None) is not None:
                self._write(data)

    def all(self) -> list[PendingPublication]:
        found = []
        for value in self._read().values():
            files = [PendingFile(**item) for item in value.pop("files", [])]
            found.append(PendingPublication(**value, files=files))
        return found
