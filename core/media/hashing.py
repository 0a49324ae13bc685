"""Content hashes: the identity of an asset for dedupe and the key of its cached artifacts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import xxhash

from core.media.errors import unreadable

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

DEFAULT_CHUNK_SIZE = 4 << 20


def content_hash(path: Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> str:
    """xxh3-128 of the file's bytes, streamed through one reused buffer (memory stays flat)."""
    hasher = xxhash.xxh3_128()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    try:
        with path.open("rb", buffering=0) as stream:
            while True:
                count = stream.readinto(view)
                if not count:
                    break
                hasher.update(view[:count])
    except OSError as exc:
        raise unreadable(path, exc) from exc
    return str(hasher.hexdigest())


def sequence_hash(paths: Sequence[Path]) -> str:
    """Identity of an image sequence: a hash over its members' hashes in file-name order.

    Names and folder are left out so a moved or renamed copy of the same frames dedupes; the
    order is fixed by sorting so the caller's ordering cannot change the identity.
    """
    hasher = xxhash.xxh3_128()
    ordered = sorted(paths, key=lambda p: (len(p.name), p.name))
    hasher.update(f"sequence:{len(ordered)}\n".encode())
    for member in ordered:
        hasher.update(content_hash(member).encode("ascii"))
        hasher.update(b"\n")
    return str(hasher.hexdigest())
