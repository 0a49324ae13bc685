"""The content-addressed media store on disk: ``objects/ab/<sha256>`` plus uploads in progress.

An upload is a part file that only ever holds verified chunks, appended in order: after a cut (the
client's or the server's) the part file's length says how many chunks are held, and the upload goes
on from there. A file enters ``objects/`` by ``os.replace`` only after its whole sha256 matched, so a
reader never sees a half-written or wrong object; the same bytes published twice are kept once (the
second upload's part is dropped when the object exists). Each object has a ``.chunks`` manifest, the
sha256 of each chunk, so a fetch verifies every chunk it receives against what was published.

Plain blocking functions: the media channel runs them on its own threads, never on the event loop
(hashing a 4 MiB chunk takes about 3 ms).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.sync.media_protocol import chunk_count

if TYPE_CHECKING:
    from pathlib import Path

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[0-9]+-[0-9]+-[0-9a-f]{64}$")
# Uploads nobody resumed for this long are deleted when the server starts.
STALE_UPLOAD_S = 7 * 24 * 3600.0


class StoreError(Exception):
    """A chunk or file whose bytes are not what they claim (``code``: corrupt or invalid)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Upload:
    key: str  # project-user-sha256: one upload of a file per person and project, resumable by anyone's
    sha256: str
    size: int
    chunk_bytes: int

    @property
    def chunks(self) -> int:
        return chunk_count(self.size, self.chunk_bytes)


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.uploads = root / "uploads"
        for folder in (self.objects, self.uploads):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Upload key -> the whole file's hash so far and the chunk hashes: kept as chunks arrive so
        # finishing does not read the file again (rebuilt from the part file when an upload resumes).
        self._progress: dict[str, tuple[Any, list[str]]] = {}

    # -- objects ---------------------------------------------------------------------------------
    def object_path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.object_path(sha256).is_file()

    def manifest(self, sha256: str) -> list[str]:
        path = self.object_path(sha256).with_suffix(".chunks")
        return list(json.loads(path.read_text(encoding="utf-8")))

    def read_chunk(self, sha256: str, index: int, chunk_bytes: int) -> bytes:
        with self.object_path(sha256).open("rb") as stream:
            stream.seek(index * chunk_bytes)
            return stream.read(chunk_bytes)

    # -- uploads ---------------------------------------------------------------------------------
    @staticmethod
    def upload_key(project: int, user: int, sha256: str) -> str:
        return f"{project}-{user}-{sha256}"

    def _part(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"bad upload key {key!r}")
        return self.uploads / f"{key}.part"

    def begin(self, upload: Upload) -> int:
        """Open (or find again) an upload; returns how many chunks it holds. A part file written with
        another chunk size, or longer than the file, is started again."""
        part, info = self._part(upload.key), self._part(upload.key).with_suffix(".json")
        wanted = {"sha256": upload.sha256, "size": upload.size, "chunk_bytes": upload.chunk_bytes}
        try:
            same = json.loads(info.read_text(encoding="utf-8")) == wanted
        except (OSError, ValueError):
            same = False
        if not same or not part.exists():
            info.write_text(json.dumps(wanted), encoding="utf-8")
            part.write_bytes(b"")
            self._progress[upload.key] = (hashlib.sha256(), [])
            return 0
        held = min(part.stat().st_size // upload.chunk_bytes, upload.chunks)
        if part.stat().st_size == upload.size:
            held = upload.chunks
        # A chunk half-written when the server stopped is dropped: only whole, verified chunks count.
        with part.open("r+b") as stream:
            stream.truncate(min(held * upload.chunk_bytes, upload.size))
            self._progress[upload.key] = _hash_chunks(stream, upload.chunk_bytes)
        return held

    def append(self, upload: Upload, held: int, index: int, digest: bytes, data: memoryview) -> None:
        """Append chunk ``index`` (it must be the next one) once its sha256 matches ``digest``."""
        if index != held:
            raise StoreError("invalid", f"Chunk {index} arrived; the server expects chunk {held}")
        if index >= upload.chunks:
            raise StoreError("invalid", f"The file has only {upload.chunks} chunks")
        last = index == upload.chunks - 1
        expected = upload.size - index * upload.chunk_bytes if last else upload.chunk_bytes
        if len(data) != expected:
            raise StoreError("invalid", f"Chunk {index} has {len(data)} bytes; it should have {expected}")
        if hashlib.sha256(data).digest() != digest:
            raise StoreError("corrupt", f"Chunk {index} does not match its sha256; send it again")
        with self._part(upload.key).open("ab") as stream:
            stream.write(data)
        progress = self._progress.get(upload.key)
        if progress is not None:
            progress[0].update(data)
            progress[1].append(digest.hex())

    def finish(self, upload: Upload) -> bool:
        """Verify the whole file and move it into the store; True when the store had it already.
        A mismatch drops the upload (it has to start again) and raises ``StoreError``."""
        part = self._part(upload.key)
        progress = self._progress.pop(upload.key, None)
        if progress is None or len(progress[1]) != upload.chunks:
            with part.open("rb") as stream:
                progress = _hash_chunks(stream, upload.chunk_bytes)
        hasher, manifest = progress
        if part.stat().st_size != upload.size or hasher.hexdigest() != upload.sha256:
            self.discard(upload.key)
            raise StoreError("corrupt", "The uploaded file does not match its sha256; publish it again")
        target = self.object_path(upload.sha256)
        if target.is_file():
            self.discard(upload.key)
            return True
        target.parent.mkdir(mode=0o700, exist_ok=True)
        # Manifest first: an object is only ever visible with its manifest beside it.
        temporary = target.with_suffix(".chunks.tmp")
        temporary.write_text(json.dumps(manifest), encoding="utf-8")
        os.replace(temporary, target.with_suffix(".chunks"))
        with part.open("rb") as stream:
            os.fsync(stream.fileno())
        os.replace(part, target)
        self.discard(upload.key)
        return False

    def discard(self, key: str) -> None:
        self._progress.pop(key, None)
        for path in (self._part(key), self._part(key).with_suffix(".json")):
            path.unlink(missing_ok=True)

    def remove_stale_uploads(self, older_than_s: float = STALE_UPLOAD_S) -> int:
        cutoff, removed = time.time() - older_than_s, 0
        for path in self.uploads.glob("*.part"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    self.discard(path.stem)
                    removed += 1
        return removed


def _hash_chunks(stream: Any, chunk_bytes: int) -> tuple[Any, list[str]]:
    """The whole-file hash and the chunk hashes of what ``stream`` holds, read from its start."""
    hasher, manifest = hashlib.sha256(), []
    stream.seek(0)
    while block := stream.read(chunk_bytes):
        hasher.update(block)
        manifest.append(hashlib.sha256(block).hexdigest())
    return hasher, manifest
