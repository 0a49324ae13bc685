"""Geometry metadata through trimesh (imported lazily), with size checks before loading.

Binary STL, PLY, OFF and glTF binary files state their element counts in a header: a file that claims
more faces or vertices than the limit is refused before trimesh allocates anything.
"""

from __future__ import annotations

import json
import logging
import struct
from typing import TYPE_CHECKING, Any

import numpy as np

from core.media.errors import InvalidMediaError, UnsupportedMediaError, unreadable

if TYPE_CHECKING:
    from pathlib import Path

    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)

# Formats trimesh reads with the packages we ship; others are catalogued without mesh statistics.
_TRIMESH_FORMATS = frozenset({"obj", "stl", "ply", "off", "glb", "gltf", "3mf", "dae", "3dxml"})
# glTF is Y-up by specification; the others do not say in a way we can read cheaply.
_UP_AXIS_BY_FORMAT = {"glb": "Y", "gltf": "Y", "3mf": "Z", "stl": "Z (convention)"}
_GLB_JSON_CHUNK = 0x4E4F534A


def probe_geometry(path: Path, limits: MediaLimits) -> dict[str, Any]:
    """Everything about the mesh. It parses the whole file: run it in the sandbox child."""
    file_format = precheck_geometry(path, limits)
    scene = _load_scene(path, file_format)
    return _describe(path, file_format, scene, limits)


def precheck_geometry(path: Path, limits: MediaLimits) -> str:
    """The file's format, refusing what is known without parsing: formats we cannot inspect, and
    counts over the limits that the header declares."""
    file_format = path.suffix.lower().lstrip(".") or _format_from_content(path)
    if file_format not in _TRIMESH_FORMATS:
        raise UnsupportedMediaError(
            f"{path.name}: {file_format.upper() or 'this'} geometry cannot be inspected by this "
            f"version (it is catalogued without mesh statistics) ({path})",
            path,
        )
    declared = declared_counts(path, file_format)
    if declared is not None:
        _check_counts(path, declared[0], declared[1], limits, declared=True)
    return file_format


def _format_from_content(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            head = stream.read(84)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if head.startswith(b"glTF"):
        return "glb"
    if head.startswith(b"ply"):
        return "ply"
    if head.lstrip().startswith((b"OFF", b"COFF", b"NOFF")):
        return "off"
    if head.lstrip().startswith(b"{"):
        return "gltf"
    if head.lstrip().startswith(b"solid") or len(head) == 84:
        return "stl"
    return "obj"


def declared_counts(path: Path, file_format: str) -> tuple[int, int] | None:
    """(vertices, faces) as the file's header states them, or None when not cheaply known."""
    try:
        with path.open("rb") as stream:
            head = stream.read(65536)
            size = stream.seek(0, 2)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if file_format == "stl" and len(head) >= 84:
        faces = int.from_bytes(head[80:84], "little")
        if size == 84 + 50 * faces:  # binary STL (an ASCII one fails this size check)
            return faces * 3, faces
        if not head.lstrip().startswith(b"solid"):
            raise InvalidMediaError(
                f"{path.name} is a damaged binary STL: the header says {faces:,} triangles but the "
                f"file size does not match (truncated?) ({path})",
                path,
            )
        return None
    if file_format == "ply":
        return _ply_counts(head)
    if file_format == "off":
        return _off_counts(head)
    if file_format == "glb":
        return _glb_counts(head)
    return None


def _ply_counts(head: bytes) -> tuple[int, int] | None:
    end = head.find(b"end_header")
    if end < 0:
        return None
    counts = {"vertex": 0, "face": 0}
    for line in head[:end].decode("ascii", "replace").splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "element" and words[1] in counts:
            counts[words[1]] = int(words[2]) if words[2].isdigit() else 0
    return counts["vertex"], counts["face"]


def _off_counts(head: bytes) -> tuple[int, int] | None:
    lines = [line.split("#", 1)[0].split() for line in head.decode("ascii", "replace").splitlines()[:50]]
    words = [w for w in lines if w]
    if not words:
        return None
    # "OFF" may share its line with the counts.
    counts = words[0][1:] if len(words[0]) > 1 else (words[1] if len(words) > 1 else [])
    if len(counts) >= 2 and counts[0].isdigit() and counts[1].isdigit():
        return int(counts[0]), int(counts[1])
    return None


def _glb_counts(head: bytes) -> tuple[int, int] | None:
    """Sum POSITION and index accessor counts of the JSON chunk (if it fits in the first 64 KB)."""
    if len(head) < 20:
        return None
    chunk_length, chunk_type = struct.unpack_from("<II", head, 12)
    if chunk_type != _GLB_JSON_CHUNK or 20 + chunk_length > len(head):
        return None
    try:
        document = json.loads(head[20 : 20 + chunk_length])
        accessors = document.get("accessors", [])
        vertices = faces = 0
        for mesh in document.get("meshes", []):
            for primitive in mesh.get("primitives", []):
                position = primitive.get("attributes", {}).get("POSITION")
                if position is not None:
                    vertices += int(accessors[position]["count"])
                if primitive.get("indices") is not None:
                    faces += int(accessors[primitive["indices"]]["count"]) // 3
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return vertices, faces


def _check_counts(path: Path, vertices: int, faces: int, limits: MediaLimits, *, declared: bool) -> None:
    said = "declares" if declared else "has"
    if faces > limits.max_mesh_faces:
        raise InvalidMediaError(
            f"{path.name} {said} {faces:,} faces, which exceeds the limit of "
            f"{limits.max_mesh_faces:,} faces ({path})",
            path,
        )
    if vertices > limits.max_mesh_vertices:
        raise InvalidMediaError(
            f"{path.name} {said} {vertices:,} vertices, which exceeds the limit of "
            f"{limits.max_mesh_vertices:,} vertices ({path})",
            path,
        )


def _load_scene(path: Path, file_format: str) -> Any:
    import trimesh

    try:
        # process=False: report the file as stored (and see its NaNs); merging is slow on big meshes.
        return trimesh.load_scene(str(path), file_type=file_format, process=False)
    except (FileNotFoundError, PermissionError) as exc:
        raise unreadable(path, exc) from exc
    except MemoryError:
        raise  # not a corrupt file: the sandbox that runs this says which limit it hit
    except Exception as exc:
        raise InvalidMediaError(
            f"{path.name} could not be read as {file_format.upper()} geometry (corrupt or "
            f"truncated: {exc}) ({path})",
            path,
        ) from exc


def _describe(path: Path, file_format: str, scene: Any, limits: MediaLimits) -> dict[str, Any]:
    geometries = list(scene.geometry.values())
    if not geometries:
        raise InvalidMediaError(f"{path.name} contains no geometry ({path})", path)
    vertices = sum(len(g.vertices) for g in geometries)
    faces = sum(len(getattr(g, "faces", ())) for g in geometries)
    _check_counts(path, vertices, faces, limits, declared=False)
    for geometry in geometries:
        if len(geometry.vertices) and not np.isfinite(geometry.vertices).all():
            raise InvalidMediaError(
                f"{path.name} has vertices with invalid coordinates (NaN or infinite); the file is "
                f"corrupt ({path})",
                path,
            )
    bounds = scene.bounds
    result: dict[str, Any] = {
        "format": file_format,
        "vertices": int(vertices),
        "faces": int(faces),
        "parts": len(geometries),
        "bounds": np.asarray(bounds, dtype=float).round(6).tolist() if bounds is not None else None,
        "has_uvs": any(_has_uvs(g) for g in geometries),
        "has_vertex_colors": any(_visual_kind(g) == "vertex" for g in geometries),
        "has_textures": any(_has_texture_image(g) for g in geometries),
        "point_cloud": faces == 0,
        "units": scene.units,
        "up_axis": _UP_AXIS_BY_FORMAT.get(file_format),
    }
    return result


def _visual_kind(geometry: Any) -> str | None:
    visual = getattr(geometry, "visual", None)
    return getattr(visual, "kind", None) if visual is not None else None


def _has_uvs(geometry: Any) -> bool:
    uv = getattr(getattr(geometry, "visual", None), "uv", None)
    return uv is not None and len(uv) > 0


def _has_texture_image(geometry: Any) -> bool:
    material = getattr(getattr(geometry, "visual", None), "material", None)
    if material is None:
        return False
    return any(
        getattr(material, name, None) is not None
        for name in ("image", "baseColorTexture", "normalTexture", "emissiveTexture")
    )
