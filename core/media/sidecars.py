"""Files that belong to a 3D model: a glTF's buffers and textures, an OBJ's material libraries and maps.

Ingest asks each ``.gltf``/``.obj`` for the files it references, so a ``scene.bin`` or ``crate.mtl``
dropped beside its model is listed in the model's metadata instead of failing as an unknown file.
Only references to files that exist are returned; embedded (``data:``) and remote URIs are not files.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

_MTL_MAX_BYTES = 4 << 20
# MTL statements whose last argument is a texture file (options such as ``-bm 0.5`` come first).
_MTL_MAPS = ("map_", "bump", "disp", "decal", "refl", "norm")


def model_sidecars(model: Path) -> tuple[Path, ...]:
    """The existing files ``model`` references (glTF buffers/images, OBJ mtllibs and their maps)."""
    extension = model.suffix.lower()
    try:
        if extension == ".gltf":
            found = _gltf_references(model)
        elif extension == ".obj":
            found = _obj_references(model)
        else:
            return ()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        # An unreadable model fails in its own probe with a clear message; here it simply has no sidecars.
        log.debug("No sidecars read from %s: %s", model, exc)
        return ()
    unique = dict.fromkeys(path for path in found if path.is_file() and path != model)
    return tuple(unique)


def _gltf_references(model: Path) -> list[Path]:
    document = json.loads(model.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        return []
    found: list[Path] = []
    for section in ("buffers", "images"):
        entries = document.get(section)
        for entry in entries if isinstance(entries, list) else []:
            uri = entry.get("uri") if isinstance(entry, dict) else None
            if isinstance(uri, str) and (path := _local_uri(model.parent, uri)) is not None:
                found.append(path)
    return found


def _local_uri(base: Path, uri: str) -> Path | None:
    """A glTF URI as a file beside the model; None for data URIs and remote resources."""
    if uri.startswith("data:") or urlparse(uri).scheme not in ("", "file"):
        return None
    return base / unquote(urlparse(uri).path)


def _obj_references(model: Path) -> list[Path]:
    found: list[Path] = []
    with model.open("rb") as stream:
        for raw in stream:
            keyword, _, rest = raw.decode("utf-8", "replace").strip().partition(" ")
            if keyword == "f":
                # Materials are bound (usemtl) before the faces that use them, and libraries are
                # loaded before that: past the first face a multi-gigabyte file has nothing for us.
                break
            if keyword != "mtllib" or not rest.strip():
                continue
            for library in _file_arguments(model.parent, rest.strip()):
                found.append(library)
                found.extend(_mtl_maps(library))
    return found


def _mtl_maps(library: Path) -> list[Path]:
    if not library.is_file() or library.stat().st_size > _MTL_MAX_BYTES:
        return []
    found: list[Path] = []
    for line in library.read_text(encoding="utf-8", errors="replace").splitlines():
        keyword, _, rest = line.strip().partition(" ")
        if keyword.lower().startswith(_MTL_MAPS) and rest.strip():
            found.extend(_file_arguments(library.parent, rest.strip(), last_only=True))
    return found


def _file_arguments(base: Path, text: str, *, last_only: bool = False) -> list[Path]:
    """Files named by a statement's arguments. Names may hold spaces, so the longest tail of the
    arguments that names an existing file wins; else each word (``mtllib a.mtl b.mtl``), or only the
    last word for a map statement, whose options (``-bm 0.5``) come first."""
    words = text.split()
    for start in range(len(words) if last_only else 1):
        tail = base / " ".join(words[start:]).replace("\\", os.sep)
        if tail.is_file():
            return [tail]
    return [base / word.replace("\\", os.sep) for word in (words[-1:] if last_only else words)]
