"""Which assets are versions of one another, from their names: ``shot010_comp_v003.exr``.

A version is a ``v`` followed by 1 to 4 digits, standing alone between separators (``_v012``,
``.v3.``, ``-V001``), the last such token in the name. Everything else in the name, kind included,
is the stack's identity: ``shot010_comp_v003_denoise.mov`` stacks with ``shot010_comp_v004_denoise.mov``
but not with ``shot010_comp_v004.mov`` (another variant) nor with ``shot010_comp_v003.obj``.
Matching ignores case and the extension, so ``plate_v1.mov`` and ``plate_v2.MP4`` stack.
A sequence's name (``shot.####.exr``) carries its frame pattern, which is part of the stem.

Stacks made by hand ("Stack as versions") get a key of their own (``manual_stack_key``) that no name
can produce, so a later ingest never joins them by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

__all__ = ["VersionName", "manual_stack_key", "parse_version"]

_VERSION = re.compile(r"(?<![a-z0-9])v(\d{1,4})(?![a-z0-9])", re.IGNORECASE)
_MANUAL_PREFIX = "manual:"


@dataclass(frozen=True)
class VersionName:
    stack_key: str  # assets with the same key (in one project) are versions of one another
    version: int


def parse_version(name: str, kind: str) -> VersionName | None:
    """The stack and version a file name says, or None for a name with no version token."""
    stem = PurePath(name).stem if "." in name else name
    matches = list(_VERSION.finditer(stem))
    if not matches:
        return None
    last = matches[-1]
    before, after = stem[: last.start()], stem[last.end() :]
    identity = (before.rstrip("._- ") + "|" + after.lstrip("._- ")).lower()
    if identity == "|":
        return None  # "v003.mov" alone names no shot: stacking every such file would be a guess
    return VersionName(f"{kind}:{identity}", int(last.group(1)))


def manual_stack_key(first_asset_id: int) -> str:
    return f"{_MANUAL_PREFIX}{first_asset_id}"


def is_manual(stack_key: str) -> bool:
    return stack_key.startswith(_MANUAL_PREFIX)
