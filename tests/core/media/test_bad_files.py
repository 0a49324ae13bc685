"""Every bad file gets a clear error that names it; nothing hangs, nothing decodes a bomb."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

import numpy as np
import pytest

from core.media.decode import load_image_rgba
from core.media.errors import InvalidMediaError, UnreadableMediaError
from core.media.kinds import AssetKind
from core.media.limits import MediaLimits
from core.media.probe import probe
from core.media.thumbnails import make_thumbnail
from core.media.video import poster_frame
from tests.core.media.conftest import gradient_bgr, write_image, write_video

if TYPE_CHECKING:
    from pathlib import Path


def crafted_png(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` but carries one tiny compressed row."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width * 3 + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_from_its_header(tmp_path: Path, limits: MediaLimits) -> None:
    bomb = tmp_path / "innocent.png"
    bomb.write_bytes(crafted_png(20_000, 20_000))
    with pytest.raises(InvalidMediaError, match=r"innocent\.png is 20,000 x 20,000 pixels.*bomb"):
        probe(bomb, AssetKind.IMAGE, limits)
    with pytest.raises(InvalidMediaError, match="megapixel limit"):
        make_thumbnail(bomb, AssetKind.IMAGE, tmp_path / "t", "00" * 16, 256, limits)
    assert not (tmp_path / "t").exists()


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = write_image(tmp_path / "huge.png", gradient_bgr())
    tiny_limit = MediaLimits(max_file_size_bytes=100, max_image_pixels=10**9)
    with pytest.raises(InvalidMediaError, match=r"huge\.png is 0 MB, over the 0 MB file size"):
        probe(path, AssetKind.IMAGE, tiny_limit)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_images_fail_clearly(tmp_path: Path, limits: MediaLimits, suffix: str) -> None:
    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    whole = write_image(tmp_path / f"whole{suffix}", noisy)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InvalidMediaError, match=rf"cut\{suffix} is truncated"):
        probe(cut, AssetKind.IMAGE, limits)
    with pytest.raises(InvalidMediaError, match=rf"cut\{suffix}"):
        load_image_rgba(cut, limits, max_side=64)


def test_zero_byte_and_junk_images(tmp_path: Path, limits: MediaLimits) -> None:
    empty = tmp_path / "empty.exr"
    empty.touch()
    with pytest.raises(InvalidMediaError, match="empty"):
        probe(empty, AssetKind.IMAGE, limits)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 4)
    with pytest.raises(InvalidMediaError, match=r"junk\.jpg"):
        load_image_rgba(junk, limits)
    unknown = tmp_path / "noise.webp"
    unknown.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InvalidMediaError, match=r"noise\.webp is not an image"):
        probe(unknown, AssetKind.IMAGE, limits)


def test_folder_and_vanished_file(tmp_path: Path, limits: MediaLimits) -> None:
    with pytest.raises(InvalidMediaError, match="is a folder"):
        probe(tmp_path, AssetKind.IMAGE, limits)
    with pytest.raises(UnreadableMediaError, match="no longer exists"):
        probe(tmp_path / "gone.png", AssetKind.IMAGE, limits)


def test_truncated_mp4_without_moov_fails_fast(tmp_path: Path, limits: MediaLimits) -> None:
    whole = write_video(tmp_path / "clip.mp4", seconds=1.0)
    data = whole.read_bytes()
    moov = data.find(b"moov")
    assert moov > data.find(b"mdat")  # PyAV writes moov last: cutting before it loses the index
    cut = tmp_path / "cut clip.mp4"
    cut.write_bytes(data[: moov - 4])
    with pytest.raises(InvalidMediaError, match=r"cut clip\.mp4 is not a playable video"):
        probe(cut, AssetKind.VIDEO, limits)
    with pytest.raises(InvalidMediaError, match=r"cut clip\.mp4"):
        poster_frame(cut, 64)


def test_junk_named_like_a_video(tmp_path: Path, limits: MediaLimits) -> None:
    junk = tmp_path / "render.mov"
    junk.write_bytes(bytes(range(7, 256)) * 64)
    with pytest.raises(InvalidMediaError, match=r"render\.mov"):
        probe(junk, AssetKind.VIDEO, limits)


def test_sixteen_bit_rgba_is_sized_by_decoded_bytes_not_pixels(tmp_path: Path) -> None:
    from tests.faults.hostile import write_png_bomb

    normals = write_png_bomb(tmp_path / "normals.png", 6_000, 6_000, rgba16=True)  # 36 MP, 288 MB
    roomy = MediaLimits(max_file_size_bytes=64 << 20, max_image_pixels=50_000_000)
    tight = MediaLimits(
        max_file_size_bytes=64 << 20, max_image_pixels=50_000_000, decode_budget_bytes=512 << 20
    )
    assert probe(normals, AssetKind.IMAGE, roomy)["bit_depth"] == 16
    with pytest.raises(
        InvalidMediaError, match=r"4 channels of 16 bits: 275 MB once decoded, over the 171 MB"
    ):
        probe(normals, AssetKind.IMAGE, tight)
    with pytest.raises(InvalidMediaError, match="it was not decoded"):
        make_thumbnail(normals, AssetKind.IMAGE, tmp_path / "t", "00" * 16, 256, tight)
