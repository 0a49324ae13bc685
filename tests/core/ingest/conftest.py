from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest


def write_image(path: Path, seed: int, size: tuple[int, int] = (120, 160)) -> Path:
    rng = np.random.default_rng(seed)
    image = (rng.random((*size, 3)) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


@pytest.fixture
def drop_folder(tmp_path: Path) -> Path:
    """What an artist drags in: nested folders, a sequence, clutter, a bad file, odd names."""
    root = tmp_path / "drop"
    write_image(root / "hero.jpg", 1)
    write_image(root / "props" / "crate diffuse (v2).png", 2)
    write_image(root / "props" / "größe_ñ.png", 3)
    for frame in range(1001, 1006):
        write_image(root / "renders" / f"shot010.{frame:04d}.png", 100 + frame, (32, 48))
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "props" / "Thumbs.db").write_bytes(b"junk")
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    (root / "empty.jpg").write_bytes(b"")
    os.symlink(root, root / "props" / "loop")  # a symlink loop must not hang the scan
    return root
