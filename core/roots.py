"""Where files live across machines: named roots, and moving a catalog's paths to a new place.

The catalog stores absolute paths, valid on the machine that ingested. A *root* names a folder that
holds a show's files on every machine (``show`` is ``/mnt/show`` here and ``S:\\show`` on a Windows
workstation): an asset under a root also keeps its place relative to that root, so the catalog can be
pointed at the same files elsewhere. :func:`plan_relink` rewrites stored paths from an old prefix to a
new one, and checks each file exists at its new place before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from core.catalog.records import AssetRecord

_SEPARATORS = re.compile(r"[\\/]+")


@dataclass(frozen=True)
class Relink:
    asset_id: int
    name: str
    old_path: str
    new_path: str
    exists: bool


def root_location(path: Path, roots: Mapping[str, str]) -> dict[str, str] | None:
    """``{"root": name, "relative": "a/b.exr"}`` for the deepest root holding ``path``, else None."""
    best: tuple[int, str, str] | None = None
    for name, folder in roots.items():
        relative = _relative_to(str(path), folder)
        if relative is not None and (best is None or len(folder) > best[0]):
            best = (len(folder), name, relative)
    if best is None:
        return None
    return {"root": best[1], "relative": best[2]}


def plan_relink(records: Iterable[AssetRecord], old_prefix: str, new_prefix: str) -> list[Relink]:
    """The assets whose path starts with ``old_prefix`` (whole folder names), moved to ``new_prefix``.

    Separators of either OS are accepted on both sides, so a catalog made on Windows relinks on Linux.
    """
    plan: list[Relink] = []
    for record in records:
        relative = _relative_to(record.path, old_prefix)
        if relative is None:
            continue
        new_path = str(Path(new_prefix, *relative.split("/"))) if relative else str(Path(new_prefix))
        plan.append(Relink(record.id, record.name, record.path, new_path, Path(new_path).is_file()))
    return plan


def plan_root_relink(records: Iterable[AssetRecord], roots: Mapping[str, str]) -> list[Relink]:
    """Each asset that remembers a root, pointed at that root's folder on this machine."""
    plan: list[Relink] = []
    for record in records:
        location = record.metadata.get("location")
        if not isinstance(location, dict) or location.get("root") not in roots:
            continue
        relative = str(location.get("relative", ""))
        new_path = str(Path(roots[str(location["root"])], *relative.split("/")))
        if new_path != record.path:
            plan.append(Relink(record.id, record.name, record.path, new_path, Path(new_path).is_file()))
    return plan


def relinked_metadata(metadata: Mapping[str, Any], new_path: str) -> dict[str, Any]:
    """Metadata that names folders (a sequence's frame directory) follows the file to ``new_path``."""
    changed = dict(metadata)
    sequence = changed.get("sequence")
    if isinstance(sequence, dict):
        changed["sequence"] = {**sequence, "directory": str(Path(new_path).parent)}
    return changed


def _relative_to(path: str, prefix: str) -> str | None:
    """``path`` below ``prefix`` as ``a/b`` ('' for the prefix itself), comparing whole names only."""
    parts = [p for p in _SEPARATORS.split(path) if p]
    base = [p for p in _SEPARATORS.split(prefix) if p]
    if not base or parts[: len(base)] != base:
        return None
    return "/".join(parts[len(base) :])
