from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.media.errors import UnreadableMediaError
from core.media.hashing import content_hash, sequence_hash


def test_same_bytes_same_hash_across_names_and_chunk_sizes(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 40_000  # ~10 MB: several chunks
    first = tmp_path / "a.bin"
    first.write_bytes(payload)
    copy = tmp_path / "copy with spaces ü.bin"
    shutil.copyfile(first, copy)
    digest = content_hash(first)
    assert len(digest) == 32
    assert content_hash(copy) == digest
    assert content_hash(first, chunk_size=4096) == digest


def test_one_changed_byte_changes_the_hash(tmp_path: Path) -> None:
    path = tmp_path / "plate.exr"
    path.write_bytes(b"\x00" * 100_000)
    before = content_hash(path)
    with path.open("r+b") as stream:
        stream.seek(99_999)
        stream.write(b"\x01")
    assert content_hash(path) != before


def test_missing_file_raises_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableMediaError, match=r"ghost\.png"):
        content_hash(tmp_path / "ghost.png")


def test_sequence_hash_is_order_independent_and_content_based(tmp_path: Path) -> None:
    frames = []
    for number in range(1, 4):
        frame = tmp_path / f"s.{number:04d}.exr"
        frame.write_bytes(f"frame {number}".encode())
        frames.append(frame)
    digest = sequence_hash(frames)
    assert sequence_hash(list(reversed(frames))) == digest
    moved = tmp_path / "moved"
    moved.mkdir()
    copies = [Path(shutil.copy(f, moved / f.name)) for f in frames]
    assert sequence_hash(copies) == digest
    frames[1].write_bytes(b"re-rendered frame 2")
    assert sequence_hash(frames) != digest
    assert sequence_hash(frames[:2]) != sequence_hash(frames)
