"""Image sequences: ``shot.1001.exr`` ... ``shot.1100.exr`` become one asset.

The frame number is the last run of digits before the extension. ``name.####.ext`` groups any file
that is not a video or geometry; ``name_####.ext`` and ``name####.ext`` group only images, and never
camera-style names (``IMG_0001.JPG`` is a photo, not a frame) or versions (``comp_v001.exr``).
Frames padded differently (``shot.0001.exr`` and ``shot.1.exr``) are different sequences.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.media.kinds import GEOMETRY_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

_FRAME_PATTERN = re.compile(r"^(?P<prefix>.*?)(?P<frame>\d+)(?P<suffix>\.[^.]+)$")
_CAMERA_PREFIXES = ("img_", "img", "dsc_", "dsc", "_dsc", "dscf", "dscn", "p10", "gopr", "dji_")


@dataclass(frozen=True)
class FrameSequence:
    directory: Path
    prefix: str
    suffix: str
    padding: int  # digits of a padded frame number; 1 when numbers are unpadded
    frames: tuple[int, ...]
    paths: tuple[Path, ...]

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    @property
    def pattern(self) -> str:
        """``shot.####.exr`` (one ``#`` per padded digit; ``shot.#.exr`` when unpadded)."""
        return f"{self.prefix}{'#' * self.padding}{self.suffix}"

    @property
    def display_name(self) -> str:
        """``shot.[1001-1100].exr``: what the catalog shows for the whole sequence."""
        first = str(self.first).zfill(self.padding)
        last = str(self.last).zfill(self.padding)
        return f"{self.prefix}[{first}-{last}]{self.suffix}"

    @property
    def missing_frames(self) -> tuple[int, ...]:
        present = set(self.frames)
        return tuple(f for f in range(self.first, self.last + 1) if f not in present)


@dataclass(frozen=True)
class _Numbered:
    path: Path
    digits: str

    @property
    def frame(self) -> int:
        return int(self.digits)

    @property
    def zero_padded(self) -> bool:
        return len(self.digits) > 1 and self.digits.startswith("0")


def group_sequences(files: Sequence[Path], min_length: int = 2) -> tuple[list[FrameSequence], list[Path]]:
    """Split ``files`` into sequences (at least ``min_length`` frames) and the remaining files.

    Order of the remaining files follows the input; sequences are sorted by folder and name.
    """
    buckets: dict[tuple[Path, str, str], list[_Numbered]] = defaultdict(list)
    grouped: set[Path] = set()
    for path in files:
        match = _FRAME_PATTERN.match(path.name)
        if match is None or not _may_be_frame(match["prefix"], match["suffix"]):
            continue
        key = (path.parent, match["prefix"], match["suffix"])
        buckets[key].append(_Numbered(path, match["frame"]))

    sequences: list[FrameSequence] = []
    for (directory, prefix, suffix), members in buckets.items():
        for padding, same_padding in _split_by_padding(members).items():
            by_frame = {member.frame: member.path for member in same_padding}
            if len(by_frame) < min_length:
                continue
            frames = tuple(sorted(by_frame))
            sequences.append(
                FrameSequence(
                    directory=directory,
                    prefix=prefix,
                    suffix=suffix,
                    padding=padding,
                    frames=frames,
                    paths=tuple(by_frame[f] for f in frames),
                )
            )
            grouped.update(by_frame.values())
    sequences.sort(key=lambda s: (str(s.directory), s.prefix, s.suffix, s.padding))
    singles = [path for path in files if path not in grouped]
    return sequences, singles


def _may_be_frame(prefix: str, suffix: str) -> bool:
    extension = suffix.lower()
    if extension in VIDEO_EXTENSIONS or extension in GEOMETRY_EXTENSIONS:
        return False
    if prefix.endswith("."):
        return True
    if extension not in IMAGE_EXTENSIONS:
        return False
    lowered = prefix.lower()
    # IMG_0001.JPG is a photo and comp_v001.exr a version, not frames of a sequence.
    return not (lowered.startswith(_CAMERA_PREFIXES) or lowered.endswith(("v", "_v", ".v")))


def _split_by_padding(members: list[_Numbered]) -> dict[int, list[_Numbered]]:
    """Group numbers by the padding they were written with.

    A zero-padded number fixes its width. A number without a leading zero fits a padded width it is
    at least as long as (``1000`` belongs with ``0999``); unpadded numbers of mixed lengths
    (``1`` ... ``12``) form an unpadded sequence, and if all have one length that is their padding.
    """
    widths = sorted({len(m.digits) for m in members if m.zero_padded})
    groups: dict[int, list[_Numbered]] = defaultdict(list)
    loose: list[_Numbered] = []
    for member in members:
        if member.zero_padded:
            groups[len(member.digits)].append(member)
            continue
        fitting = [w for w in widths if len(member.digits) >= w]
        if fitting:
            exact = len(member.digits) if len(member.digits) in fitting else max(fitting)
            groups[exact].append(member)
        else:
            loose.append(member)
    if loose:
        lengths = {len(m.digits) for m in loose}
        padding = lengths.pop() if len(lengths) == 1 else 1
        groups[padding].extend(loose)
    return dict(groups)
