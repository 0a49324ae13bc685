"""Path mapping between this machine and farm workers: studio mounts differ (``/mnt/proj`` here,
``P:\\proj`` on a Windows node).

Each side of a pair is parsed with the path flavour its text shows (a drive letter or a UNC prefix
means Windows), so a Linux client can map onto Windows workers and back. Prefixes match whole
components (``/mnt/proj2`` is not under ``/mnt/proj``); Windows components compare case-insensitively.
The longest matching prefix wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping

_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|[A-Za-z]:$|\\\\|//[^/])")


def pure_path(text: str) -> PurePath:
    """``text`` as a path of the flavour it is written in."""
    return PureWindowsPath(text) if _WINDOWS_PATH.match(text) else PurePosixPath(text)


def _parts(path: PurePath) -> tuple[str, ...]:
    if isinstance(path, PureWindowsPath):
        return tuple(part.lower() for part in path.parts)
    return path.parts


def relative_parts(path: PurePath, prefix: PurePath) -> tuple[str, ...] | None:
    """The components of ``path`` below ``prefix`` (as written in ``path``), or None when outside."""
    if type(path) is not type(prefix):
        return None
    head = _parts(prefix)
    if _parts(path)[: len(head)] != head:
        return None
    return path.parts[len(head) :]


@dataclass(frozen=True)
class MappingPair:
    local: PurePath
    remote: PurePath


class PathMapping:
    """Prefix pairs from the ``path_mappings`` setting: ``[{"local": ..., "remote": ...}, ...]``."""

    def __init__(self, pairs: Iterable[Mapping[str, str]] = ()) -> None:
        self.pairs = [
            MappingPair(pure_path(str(pair["local"])), pure_path(str(pair["remote"])))
            for pair in pairs
            if pair.get("local") and pair.get("remote")
        ]

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def to_remote(self, path: str | os.PathLike[str]) -> str | None:
        """Where a worker finds this machine's ``path``, or None when no mapping covers it."""
        return self._translate(pure_path(str(path)), remote=False)

    def to_local(self, path: str) -> str | None:
        """Where this machine finds a worker's ``path``, or None when no mapping covers it."""
        return self._translate(pure_path(path), remote=True)

    def _translate(self, path: PurePath, *, remote: bool) -> str | None:
        best: tuple[int, str] | None = None
        for pair in self.pairs:
            source, target = (pair.remote, pair.local) if remote else (pair.local, pair.remote)
            rest = relative_parts(path, source)
            if rest is None or ".." in rest:
                continue
            depth = len(source.parts)
            if best is None or depth > best[0]:
                best = (depth, str(target.joinpath(*rest)))
        return best[1] if best is not None else None
