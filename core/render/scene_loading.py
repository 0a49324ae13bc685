"""Load a geometry file into a normalised trimesh scene, refusing hostile files with clear errors.

Runs inside the render child. Cheap header checks happen before trimesh reads anything (a binary STL
that claims 50M faces is refused from its first 84 bytes); the loaded scene is checked again (face
limit over all instances, NaN/inf vertices, nothing to draw). Models are turned Y-up: glTF, OBJ and
PLY already are; STL, 3MF and CAD formats are conventionally Z-up and get rotated.

Large OFF, ASCII PLY and plain OBJ files are parsed by ``fast_loaders`` (numpy) when they fit its
simple subset; everything else goes through trimesh.

Missing textures are replaced by a magenta image through trimesh's resolver, so the user sees the
problem instead of a plausible grey.
"""

from __future__ import annotations

import io
import json
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.render.api import Z_UP_SUFFIXES, InvalidModelError, UpAxis

if TYPE_CHECKING:
    import trimesh
    from PIL import Image

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tga", ".tif", ".tiff", ".webp"})
# Textures larger than this are shrunk for preview renders; a 16k map costs 1 GB of GL memory.
MAX_TEXTURE_EDGE = 4096
MAGENTA = (255, 0, 255)
# An unusual size so a file's own tiny magenta texture is not mistaken for our placeholder.
_PLACEHOLDER_SIZE = (3, 5)
_GLB_MAGIC = b"glTF"
_GLB_JSON_CHUNK = 0x4E4F534A
_TRIANGLES_MODE = 4


@dataclass
class LoadedModel:
    scene: trimesh.Scene
    face_count: int
    missing_textures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def placeholder_texture_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", _PLACEHOLDER_SIZE, MAGENTA).save(buffer, format="PNG")
    return buffer.getvalue()


def is_placeholder_texture(image: Image.Image | None) -> bool:
    if image is None or image.size != _PLACEHOLDER_SIZE:
        return False
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    return bool(np.all(pixels == np.array(MAGENTA)))


# --- header checks (before trimesh) -------------------------------------------------------------


def _check_binary_stl(path: Path, size: int, max_faces: int) -> None:
    with path.open("rb") as handle:
        head = handle.read(84)
    if len(head) < 84:
        if head.lstrip().lower().startswith(b"solid"):
            return  # a tiny ASCII STL; trimesh decides
        raise InvalidModelError(f"{path.name}: truncated STL ({size} bytes, no complete header)")
    (claimed,) = struct.unpack("<I", head[80:84])
    expected = 84 + 50 * claimed
    if expected == size:
        if claimed > max_faces:
            raise InvalidModelError(
                f"{path.name}: {claimed:,} faces is over the render limit of {max_faces:,}"
            )
        return
    if head.lstrip().lower().startswith(b"solid"):
        return  # ASCII STL: its size says nothing about a face count
    if claimed > max_faces:
        raise InvalidModelError(
            f"{path.name}: the STL header claims {claimed:,} faces, over the render limit of "
            f"{max_faces:,} (and the file holds only {max(size - 84, 0) // 50:,})"
        )
    if size < expected:
        raise InvalidModelError(
            f"{path.name}: truncated binary STL: the header says {claimed:,} faces but the file "
            f"holds only {max(size - 84, 0) // 50:,}"
        )


def _check_ply(path: Path, max_faces: int) -> None:
    with path.open("rb") as handle:
        header = handle.read(64 * 1024)
    if not header.startswith(b"ply"):
        raise InvalidModelError(f"{path.name}: not a PLY file (no 'ply' magic)")
    for raw_line in header.split(b"\n"):
        parts = raw_line.strip().split()
        if parts[:1] == [b"end_header"]:
            return
        if len(parts) == 3 and parts[0] == b"element" and parts[1] in (b"face", b"vertex"):
            count = int(parts[2]) if parts[2].isdigit() else -1
            limit = max_faces if parts[1] == b"face" else max_faces * 3
            if count < 0 or count > limit:
                raise InvalidModelError(
                    f"{path.name}: PLY header declares {parts[2].decode(errors='replace')} "
                    f"{parts[1].decode()} elements, over the render limit of {limit:,}"
                )
    raise InvalidModelError(f"{path.name}: PLY header has no end_header line")


def _check_off(path: Path, max_faces: int) -> None:
    with path.open("rb") as handle:
        head = handle.read(4096).decode("ascii", errors="replace")
    tokens = [t for line in head.splitlines() if not line.startswith("#") for t in line.split()]
    if tokens[:1] and tokens[0].endswith("OFF"):
        tokens = tokens[1:]
    if len(tokens) >= 2 and tokens[1].isdigit() and int(tokens[1]) > max_faces:
        raise InvalidModelError(
            f"{path.name}: OFF header declares {int(tokens[1]):,} faces, over the render limit "
            f"of {max_faces:,}"
        )


def _gltf_face_estimate(document: dict[str, Any]) -> int:
    accessors = document.get("accessors", [])
    total = 0
    for mesh in document.get("meshes", []):
        for primitive in mesh.get("primitives", []):
            if primitive.get("mode", _TRIANGLES_MODE) != _TRIANGLES_MODE:
                continue
            index = primitive.get("indices", primitive.get("attributes", {}).get("POSITION"))
            if isinstance(index, int) and 0 <= index < len(accessors):
                total += int(accessors[index].get("count", 0)) // 3
    return total


def _check_glb(path: Path, size: int, max_faces: int) -> None:
    with path.open("rb") as handle:
        header = handle.read(20)
        if len(header) < 20 or header[:4] != _GLB_MAGIC:
            raise InvalidModelError(f"{path.name}: broken GLB header (no 'glTF' magic)")
        version, declared_length, chunk_length, chunk_type = struct.unpack("<IIII", header[4:20])
        if version != 2:
            raise InvalidModelError(f"{path.name}: GLB version {version} is not supported (2)")
        if declared_length > size:
            raise InvalidModelError(
                f"{path.name}: truncated GLB: the header says {declared_length:,} bytes, "
                f"the file has {size:,}"
            )
        if chunk_type != _GLB_JSON_CHUNK or 20 + chunk_length > size:
            raise InvalidModelError(f"{path.name}: broken GLB header (bad JSON chunk)")
        raw_json = handle.read(chunk_length)
    _check_gltf_document(path, raw_json, max_faces)


def _check_gltf_document(path: Path, raw_json: bytes, max_faces: int) -> None:
    try:
        document = json.loads(raw_json)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidModelError(f"{path.name}: broken glTF JSON ({exc})") from None
    if not isinstance(document, dict):
        raise InvalidModelError(f"{path.name}: broken glTF JSON (not an object)")
    faces = _gltf_face_estimate(document)
    if faces > max_faces:
        raise InvalidModelError(f"{path.name}: {faces:,} faces is over the render limit of {max_faces:,}")


def precheck_file(path: Path, max_faces: int) -> None:
    """Refuse files that are missing, empty, broken or too big from their headers alone."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidModelError(f"{path.name}: file not found ({path})") from None
    except OSError as exc:
        raise InvalidModelError(f"{path.name}: cannot read file ({exc})") from None
    if not path.is_file():
        raise InvalidModelError(f"{path.name}: not a regular file")
    if size == 0:
        raise InvalidModelError(f"{path.name}: the file is empty")
    suffix = path.suffix.lower()
    if suffix == ".stl":
        _check_binary_stl(path, size, max_faces)
    elif suffix == ".ply":
        _check_ply(path, max_faces)
    elif suffix == ".off":
        _check_off(path, max_faces)
    elif suffix == ".glb":
        _check_glb(path, size, max_faces)
    elif suffix == ".gltf":
        _check_gltf_document(path, path.read_bytes(), max_faces)


# --- loading --------------------------------------------------------------------------------------


def _make_resolver(path: Path, missing: list[str]) -> Any:
    """A trimesh file resolver that hands back a magenta image for textures that are not there."""
    import trimesh

    placeholder = placeholder_texture_png()

    class MissingTextureResolver(trimesh.resolvers.FilePathResolver):
        def get(self, name: str) -> bytes:
            try:
                data: bytes = super().get(name)
            except (OSError, ValueError, KeyError):
                if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                    raise
                log.warning("Texture %s referenced by %s is missing", name, path.name)
                missing.append(name)
                return placeholder
            return data

    return MissingTextureResolver(str(path))


def _up_rotation(path: Path, up_axis: UpAxis) -> np.ndarray[Any, np.dtype[np.float64]] | None:
    z_up = up_axis == "z" or (up_axis == "auto" and path.suffix.lower() in Z_UP_SUFFIXES)
    if not z_up:
        return None
    # -90 degrees about X: (x, y, z) -> (x, z, -y), so +Z becomes +Y.
    return np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])


def _shrink_textures(scene: trimesh.Scene, warnings: list[str]) -> None:
    """Normalise texture modes and cap their size; GL uploads need RGB(A) and memory is limited."""
    from PIL import Image

    for geometry in scene.geometry.values():
        material = getattr(getattr(geometry, "visual", None), "material", None)
        if material is None:
            continue
        for attribute in ("image", "baseColorTexture", "emissiveTexture", "normalTexture"):
            image = getattr(material, attribute, None)
            if not isinstance(image, Image.Image):
                continue
            changed = image
            if changed.mode not in ("RGB", "RGBA"):
                changed = changed.convert("RGBA" if "A" in changed.getbands() else "RGB")
            if max(changed.size) > MAX_TEXTURE_EDGE:
                warnings.append(
                    f"Texture {changed.size[0]}x{changed.size[1]} shrunk to {MAX_TEXTURE_EDGE} px"
                )
                changed = changed.copy()
                changed.thumbnail((MAX_TEXTURE_EDGE, MAX_TEXTURE_EDGE))
            if changed is not image:
                setattr(material, attribute, changed)


def count_instanced_faces(scene: trimesh.Scene) -> int:
    total = 0
    for node in scene.graph.nodes_geometry:
        _, geometry_name = scene.graph[node]
        faces = getattr(scene.geometry.get(geometry_name), "faces", None)
        if faces is not None:
            total += len(faces)
    return total


def _validate_scene(path: Path, scene: trimesh.Scene, max_faces: int) -> int:
    import trimesh

    drawable = 0
    for name, geometry in scene.geometry.items():
        vertices = getattr(geometry, "vertices", None)
        if vertices is None or len(vertices) == 0:
            continue
        if not np.isfinite(np.asarray(vertices, dtype=np.float64)).all():
            raise InvalidModelError(f"{path.name}: geometry {name!r} has NaN or infinite vertex coordinates")
        if isinstance(geometry, trimesh.Trimesh | trimesh.PointCloud):
            drawable += 1
    if drawable == 0:
        raise InvalidModelError(f"{path.name}: the file contains no renderable geometry")
    faces = count_instanced_faces(scene)
    if faces > max_faces:
        raise InvalidModelError(f"{path.name}: {faces:,} faces is over the render limit of {max_faces:,}")
    return faces


def _load_scene(path: Path, missing: list[str]) -> Any:
    import trimesh

    from core.render.fast_loaders import read_simple_mesh

    simple = read_simple_mesh(path)
    if simple is not None:
        mesh = trimesh.Trimesh(
            vertices=simple.vertices,
            faces=simple.faces,
            vertex_colors=simple.vertex_colors,
            process=False,
        )
        return trimesh.Scene(mesh)
    # process=False: keep vertices as written (merging would hide NaNs and costs seconds on
    # big meshes); the renderer does not need watertight or deduplicated geometry.
    return trimesh.load(str(path), force="scene", process=False, resolver=_make_resolver(path, missing))


def load_model(path: Path, up_axis: UpAxis = "auto", max_faces: int = 20_000_000) -> LoadedModel:
    """Read ``path`` into a Y-up scene or raise ``InvalidModelError`` with a message for the user."""
    import trimesh

    precheck_file(path, max_faces)
    missing: list[str] = []
    try:
        loaded = _load_scene(path, missing)
    except MemoryError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, struct.error, OSError) as exc:
        reason = str(exc) or type(exc).__name__
        if "not supported" in reason.lower() or "unsupported" in reason.lower():
            reason = f"{path.suffix or 'this'} is not a geometry format StratoPipe can render"
        raise InvalidModelError(f"{path.name}: cannot read geometry ({reason})") from None
    except Exception as exc:  # noqa: BLE001 - trimesh raises anything on hostile input
        raise InvalidModelError(f"{path.name}: cannot read geometry ({type(exc).__name__}: {exc})") from None
    if not isinstance(loaded, trimesh.Scene):
        raise InvalidModelError(f"{path.name}: the file contains no renderable geometry")
    faces = _validate_scene(path, loaded, max_faces)
    rotation = _up_rotation(path, up_axis)
    if rotation is not None:
        loaded.apply_transform(rotation)  # type: ignore[no-untyped-call]
    warnings: list[str] = []
    if missing:
        warnings.append("Missing texture(s) shown in magenta: " + ", ".join(sorted(set(missing))))
    _shrink_textures(loaded, warnings)
    return LoadedModel(
        scene=loaded, face_count=faces, missing_textures=sorted(set(missing)), warnings=warnings
    )
