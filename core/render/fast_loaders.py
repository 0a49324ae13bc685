"""Fast numpy readers for the big, simple text formats where trimesh's Python parsers are slow.

Covered: OFF (triangles), ASCII PLY (x/y/z, optional uchar RGB(A), triangle lists) and OBJ made
only of ``v``/``f`` lines (binary STL/PLY and ASCII STL are already vectorised in trimesh).
``numpy.loadtxt`` parses the numbers in C, 3-8x faster than trimesh on 100k+ faces. Anything
outside that subset (quads, materials, UVs, normals, comments in odd places, binary data) returns
``None`` and trimesh reads the file as before, so the fast path never changes what a file means: it
yields the same vertices, faces and colours as ``trimesh.load(path, process=False)`` (the tests
compare both on generated meshes).
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

log = logging.getLogger(__name__)

_PLY_SCALARS: dict[bytes, str] = {
    b"float": "<f4", b"float32": "<f4", b"double": "<f8", b"float64": "<f8",
}  # fmt: skip
_PLY_COLOUR_TYPES = frozenset({b"uchar", b"uint8"})
_PLY_COLOUR_LAYOUTS: tuple[list[bytes], ...] = ([], [b"red", b"green", b"blue"],
                                                [b"red", b"green", b"blue", b"alpha"])  # fmt: skip
_PLY_INDEX_TYPES = frozenset({b"int", b"int32", b"uint", b"uint32"})
_PLY_COUNT_TYPES = frozenset({b"uchar", b"uint8", b"char", b"int8"})


class _NotSimple(Exception):
    """The file is outside the fast subset; trimesh must read it."""


@dataclass(frozen=True)
class SimpleMesh:
    vertices: npt.NDArray[np.float64]
    faces: npt.NDArray[np.int64]
    vertex_colors: npt.NDArray[np.uint8] | None = None


def _load_rows(block: bytes, dtype: Any, columns: int, **options: Any) -> npt.NDArray[Any]:
    """Parse whitespace-separated rows with exactly ``columns`` values each."""
    if not block.strip():
        raise _NotSimple("no data")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            rows = np.loadtxt(io.BytesIO(block), dtype=dtype, ndmin=2, encoding="latin-1", **options)
        except (ValueError, UserWarning) as exc:
            raise _NotSimple(str(exc)) from None
    if rows.shape[1] != columns:
        raise _NotSimple(f"{rows.shape[1]} values per row, expected {columns}")
    return rows


def _line_starts(data: bytes) -> npt.NDArray[np.intp]:
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    return np.concatenate([[0], newlines + 1])


def _split_after_lines(data: bytes, count: int) -> tuple[bytes, bytes]:
    """``data`` cut after its first ``count`` lines."""
    starts = _line_starts(data)
    if count >= len(starts):
        raise _NotSimple("file shorter than its header says")
    cut = int(starts[count])
    return data[:cut], data[cut:]


def _triangles(rows: npt.NDArray[np.int64], vertex_count: int) -> npt.NDArray[np.int64]:
    """Rows of "3 a b c" -> (n, 3) faces, checked against the vertex count."""
    if not (rows[:, 0] == 3).all():
        raise _NotSimple("not only triangles")
    faces = np.ascontiguousarray(rows[:, 1:])
    if len(faces) and (faces.min() < 0 or faces.max() >= vertex_count):
        raise _NotSimple("face index out of range")
    return faces


def _read_off(data: bytes) -> SimpleMesh:
    header: list[bytes] = []
    offset = 0
    for _ in range(8):  # "OFF" [+ counts], maybe comments, then the counts
        newline = data.find(b"\n", offset)
        if newline < 0 or len(header) >= 4:
            break
        header.extend(data[offset:newline].split(b"#", 1)[0].split())
        offset = newline + 1
    if header[:1] != [b"OFF"] or len(header) != 4 or not all(w.isdigit() for w in header[1:]):
        raise _NotSimple("unusual OFF header")
    vertex_count, face_count = int(header[1]), int(header[2])
    vertex_block, face_block = _split_after_lines(data[offset:], vertex_count)
    vertices = _load_rows(vertex_block, np.float64, 3, comments=None)
    if len(vertices) != vertex_count:
        raise _NotSimple("vertex rows do not match the header")
    rows = _load_rows(face_block, np.int64, 4, comments=None)
    if len(rows) != face_count:
        raise _NotSimple("face rows do not match the header")
    return SimpleMesh(vertices, _triangles(rows, vertex_count))


def _read_ascii_ply(data: bytes) -> SimpleMesh:
    end = data.find(b"end_header")
    if end < 0:
        raise _NotSimple("no end_header")
    header_end = data.find(b"\n", end)
    header = data[:end].split(b"\n")
    if header_end < 0 or header[0].strip() != b"ply" or b"format ascii 1.0" not in data[:end]:
        raise _NotSimple("not an ASCII PLY")
    elements: list[tuple[bytes, int, list[list[bytes]]]] = []
    for raw in header[1:]:
        words = raw.split()
        if not words or words[0] in (b"comment", b"obj_info", b"format"):
            continue
        if words[0] == b"element" and len(words) == 3 and words[2].isdigit():
            elements.append((words[1], int(words[2]), []))
        elif words[0] == b"property" and elements:
            elements[-1][2].append(words[1:])
        else:
            raise _NotSimple(f"unusual PLY header line {raw[:40]!r}")
    if [name for name, _, _ in elements] != [b"vertex", b"face"]:
        raise _NotSimple("PLY elements other than vertex, face")
    (_, vertex_count, vertex_props), (_, face_count, face_props) = elements
    names = [prop[-1] for prop in vertex_props]
    colour_layouts: tuple[list[bytes], ...] = (
        [],
        [b"red", b"green", b"blue"],
        [b"red", b"green", b"blue", b"alpha"],
    )
    if names[:3] != [b"x", b"y", b"z"] or names[3:] not in colour_layouts:
        raise _NotSimple("PLY vertex properties other than x y z [red green blue [alpha]]")
    position_types = {prop[0] for prop in vertex_props[:3]}
    if len(position_types) != 1 or next(iter(position_types)) not in _PLY_SCALARS:
        raise _NotSimple("mixed or unusual PLY position types")
    if any(len(prop) != 2 or prop[0] not in _PLY_COLOUR_TYPES for prop in vertex_props[3:]):
        raise _NotSimple("unusual PLY colour types")
    if (
        len(face_props) != 1
        or len(face_props[0]) != 4
        or face_props[0][0] != b"list"
        or face_props[0][1] not in _PLY_COUNT_TYPES
        or face_props[0][2] not in _PLY_INDEX_TYPES
        or face_props[0][3] not in (b"vertex_indices", b"vertex_index")
    ):
        raise _NotSimple("unusual PLY face properties")
    vertex_block, face_block = _split_after_lines(data[header_end + 1 :], vertex_count)
    rows = _load_rows(vertex_block, np.float64, len(vertex_props), comments=None)
    if len(rows) != vertex_count:
        raise _NotSimple("vertex rows do not match the header")
    # trimesh reads "float" positions as float32 and widens them: round the same way.
    position_type = _PLY_SCALARS[next(iter(position_types))]
    vertices = rows[:, :3].astype(position_type).astype(np.float64)
    colors = None
    if len(vertex_props) > 3:
        channels = rows[:, 3:]
        if channels.min() < 0 or channels.max() > 255:
            raise _NotSimple("PLY colours outside 0..255")
        colors = np.full((vertex_count, 4), 255, dtype=np.uint8)
        colors[:, : channels.shape[1]] = channels.astype(np.uint8)
    face_rows = _load_rows(face_block, np.int64, 4, comments=None)
    if len(face_rows) != face_count:
        raise _NotSimple("face rows do not match the header")
    return SimpleMesh(vertices, _triangles(face_rows, vertex_count), colors)


def _read_plain_obj(data: bytes) -> SimpleMesh:
    first_face = data.find(b"\nf ")
    if first_face < 0:
        raise _NotSimple("no plain faces")
    # Only "v x y z" lines before the first face and "f a b c" after it; any other statement makes
    # the number parsing fail, which hands the file to trimesh.
    vertices = _load_rows(data[:first_face].replace(b"v ", b"  "), np.float64, 3, comments="#")
    rows = _load_rows(data[first_face:].replace(b"f ", b"  "), np.int64, 3, comments="#")
    if rows.min() < 1 or rows.max() > len(vertices):
        raise _NotSimple("relative or out-of-range face indices")
    faces = rows - 1
    used = np.zeros(len(vertices), dtype=bool)
    used[faces] = True
    if not used.all():  # trimesh drops vertices no face uses, keeping the order of the rest
        new_index = np.cumsum(used) - 1
        vertices, faces = vertices[used], new_index[faces]
    return SimpleMesh(vertices, faces)


_READERS: dict[str, Callable[[bytes], SimpleMesh]] = {
    ".off": _read_off,
    ".ply": _read_ascii_ply,
    ".obj": _read_plain_obj,
}
# Below this size trimesh is quick enough and its wider format support wins.
MIN_FAST_BYTES = 64 * 1024


def read_simple_mesh(path: Path, min_bytes: int = MIN_FAST_BYTES) -> SimpleMesh | None:
    """The mesh in ``path`` when it is a large file in the fast subset, else ``None`` (use trimesh)."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None or path.stat().st_size < min_bytes:
        return None
    with path.open("rb") as handle:
        if path.suffix.lower() == ".ply" and b"format ascii" not in handle.read(256):
            return None  # binary PLY: trimesh reads it with numpy already
        handle.seek(0)
        data = handle.read()
    try:
        mesh = reader(data)
    except _NotSimple as reason:
        log.debug("%s: trimesh reads it (%s)", path.name, reason)
        return None
    if len(mesh.faces) == 0:
        return None
    return mesh
