"""Hostile inputs made on the spot, and a way to run the real CLI and see what it cost.

Shared by the fault tests and ``bench/bench_ingest_memory.py``: both need the same bombs and the
same measure (the peak RSS of a real ``stratopipe`` process, read from ``wait4``).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
_CHUNK = 64 << 20
_ADLER_MOD = 65521


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _zeros_zlib_stream(size: int) -> bytes:
    """A valid zlib stream of ``size`` zero bytes, built in milliseconds.

    After a full flush deflate forgets its history, so each 64 MiB block of zeros compresses to the
    same bytes: compress one and repeat it instead of pushing gigabytes through zlib."""
    whole, rest = divmod(size, _CHUNK)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(_CHUNK)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    end = tail.compress(bytes(rest)) + tail.flush()
    adler = ((size % _ADLER_MOD) << 16) | 1  # Adler-32 of n zeros: a stays 1, b is n
    return b"\x78\xda" + block * whole + end + struct.pack(">I", adler)


def write_png_bomb(path: Path, width: int, height: int, *, rgba16: bool = False) -> Path:
    """A complete, valid all-black PNG that declares ``width`` x ``height`` pixels (RGB 8-bit, or
    RGBA 16-bit): a few MB on disk, gigabytes once decoded."""
    colour_type, depth, samples = (6, 16, 8) if rgba16 else (2, 8, 3)
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    raw_size = height * (1 + width * samples)  # a filter byte (0) before each row
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", _zeros_zlib_stream(raw_size))
        + _png_chunk(b"IEND", b"")
    )
    return path


def write_obj(path: Path, triangles: int, *, mtllib: str | None = None) -> Path:
    """A triangle soup OBJ (three vertices per face), optionally naming a material library."""
    with path.open("w", encoding="ascii") as out:
        if mtllib is not None:
            out.write(f"mtllib {mtllib}\nusemtl grey\n")
        row = "v 0.0 0.0 0.0\nv 1.0 0.0 0.0\nv 0.0 1.0 0.0\n"
        for start in range(0, triangles, 10_000):
            count = min(10_000, triangles - start)
            out.write(row * count)
        for face in range(triangles):
            base = 3 * face + 1
            out.write(f"f {base} {base + 1} {base + 2}\n")
    return path


def write_small_png(path: Path, seed: int = 0) -> Path:
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    ok, encoded = cv2.imencode(".png", (rng.random((64, 96, 3)) * 255).astype(np.uint8))
    assert ok
    # Written by Python, not cv2.imwrite: OpenCV crashes on a name that is not valid UTF-8.
    path.write_bytes(encoded.tobytes())
    return path


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_bytes: int  # high-water mark of the process and the children it waited for

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(
    args: list[str | os.PathLike[str]] | list[str],
    data_dir: Path,
    *,
    env: dict[str, str] | None = None,
    timeout_s: float = 240.0,
) -> CliRun:
    """Run ``python -m app ARGS`` as a real process and measure its peak memory with ``wait4``.

    A run past ``timeout_s`` (a hang) is killed and fails the caller with its log so far."""
    process = start_cli(args, data_dir, env=env)
    assert process.stdout is not None
    assert process.stderr is not None
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, out), daemon=True),
        threading.Thread(target=_drain, args=(process.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    hung = threading.Event()

    def kill() -> None:
        hung.set()
        process.kill()

    timer = threading.Timer(timeout_s, kill)
    timer.start()
    try:
        # wait4 rather than Popen.wait: it also returns the child's resource usage.
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    process.stdout.close()
    process.stderr.close()
    stderr = b"".join(err).decode("utf-8", "replace")
    if hung.is_set():
        raise AssertionError(f"stratopipe {os.fsdecode(args[0])} hung for {timeout_s:.0f} s\n{stderr}")
    stdout = b"".join(out).decode("utf-8", "replace")
    return CliRun(process.returncode, stdout, stderr, usage.ru_maxrss * 1024)


def _drain(stream: IO[bytes], sink: list[bytes]) -> None:
    sink.append(stream.read())


def start_cli(
    args: list[str | os.PathLike[str]] | list[str], data_dir: Path, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "app", "--data-dir", str(data_dir), *map(os.fsdecode, args)]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
