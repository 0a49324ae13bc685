"""Image sequences: ``shot.1001.exr`` ... ``shot.1100.exr`` become one asset, and nothing else does.

Names are parsed by ``fileseq`` (the VFX pipelines' own frame-range library): the frame number is the
last run of digits before the extension, and numbers written with different padding (``shot.0001.exr``
and ``shot.1.exr``) are different sequences. A name-level group is only a *candidate*: numbers in names
also mean sizes, bit depths and picture counts (``icon16.png``/``icon32.png``, ``pic1.png``/``pic3.png``).
So a candidate must also be a plausible frame run (see :func:`plausible_run`) and, once ingest reads the
headers, frames of one format and size (``core.media.probe.check_sequence_frames``). Each sequence
carries the reason it was grouped, which the catalog keeps and the inspector shows.

``name.####.ext`` groups any file that is not a video or geometry; ``name_####.ext`` and ``name####.ext``
group only images, and never camera-style names (``IMG_0001.JPG`` is a photo, not a frame) or versions
(``comp_v001.exr``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import fileseq

from core.media.kinds import (
    AUDIO_EXTENSIONS,
    GEOMETRY_EXTENSIONS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

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

    @property
    def reason(self) -> str:
        """Why these files were taken for one sequence, in the artist's words (names only)."""
        padded = f"{self.padding}-digit padded" if self.padding > 1 else "unpadded"
        run = f"{len(self.frames)} frames {self.first}–{self.last}, {padded} frame numbers"
        step = _constant_step(self.frames)
        if step is not None and step > 1:
            return f"{run}, every {step} frames"
        gaps = len(self.missing_frames)
        return f"{run}, {gaps} missing" if gaps else f"{run}, no gaps"


def group_sequences(files: Sequence[Path], min_length: int = 2) -> tuple[list[FrameSequence], list[Path]]:
    """Split ``files`` into name-level sequences (at least ``min_length`` frames) and the rest.

    Order of the remaining files follows the input; sequences are sorted by folder and name.
    """
    by_text = {str(path): path for path in files}
    sequences: list[FrameSequence] = []
    grouped: set[Path] = set()
    for found in fileseq.findSequencesInList(list(by_text)):
        frame_set = found.frameSet()
        if frame_set is None or len(frame_set) < min_length:
            continue
        frames = tuple(sorted(int(f) for f in frame_set))
        prefix, suffix = found.basename(), found.extension()
        if frames[0] < 0 or not _may_be_frame(prefix, suffix) or not plausible_run(frames):
            continue
        paths = tuple(by_text.get(found.frame(f)) for f in frames)
        if any(p is None for p in paths):
            continue  # fileseq rewrote a name it parsed (it never should): keep the files as they are
        members = tuple(p for p in paths if p is not None)
        sequences.append(
            FrameSequence(
                directory=members[0].parent,
                prefix=prefix,
                suffix=suffix,
                padding=max(found.zfill(), 1),
                frames=frames,
                paths=members,
            )
        )
        grouped.update(members)
    sequences.sort(key=lambda s: (str(s.directory), s.prefix, s.suffix, s.padding))
    singles = [path for path in files if path not in grouped]
    return sequences, singles


def plausible_run(frames: Sequence[int]) -> bool:
    """Whether sorted frame numbers look like a render's frames rather than numbers in names.

    Two files must be neighbours (``pic1``/``pic3`` are two pictures). Three or more must either step
    evenly (a render on twos or every tenth frame) or fill at least half of their range: ``16, 32, 64``
    (icon sizes) and ``8, 16, 32`` (bit depths) do neither.
    """
    if len(frames) < 2:
        return False
    if len(frames) == 2:
        return frames[1] - frames[0] == 1
    if _constant_step(frames) is not None:
        return True
    return 2 * len(frames) >= frames[-1] - frames[0] + 1


def _constant_step(frames: Sequence[int]) -> int | None:
    steps = {b - a for a, b in pairwise(frames)}
    return steps.pop() if len(steps) == 1 else None


def _may_be_frame(prefix: str, suffix: str) -> bool:
    extension = suffix.lower()
    if extension in VIDEO_EXTENSIONS or extension in GEOMETRY_EXTENSIONS or extension in AUDIO_EXTENSIONS:
        return False
    if prefix.endswith("."):
        return True
    if extension not in IMAGE_EXTENSIONS:
        return False
    lowered = prefix.lower()
    # IMG_0001.JPG is a photo and comp_v001.exr a version, not frames of a sequence.
    return not (lowered.startswith(_CAMERA_PREFIXES) or lowered.endswith(("v", "_v", ".v")))
