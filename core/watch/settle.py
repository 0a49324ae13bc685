"""When a file in a watched folder is ready to ingest: a state machine over observed listings.

A file copied in over a network, or written by a renderer, shows up long before it is complete. A file
is *settled* once its size and modification time have not changed for ``settle_s``; the numbered files
of one sequence (``shot.0001.exr``, ``shot.0002.exr``...) are held back together until no new frame has
arrived for ``sequence_quiet_s``, so a render still writing frames is ingested as one sequence rather
than as a trickle of partial ones. Time comes from an injectable clock, so tests step it instead of
sleeping.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

# The last run of digits in a name, before the extension: the frame number of a sequence.
_FRAME_NUMBER = re.compile(r"\d+(?=(\.[^.\d]*)?$)")


@dataclass(frozen=True)
class FileState:
    """What a listing saw of one file."""

    size: int
    mtime_ns: int


@dataclass
class _Pending:
    state: FileState
    first_seen: float
    changed_at: float


def sequence_key(path: Path) -> str | None:
    """The name shared by the frames of a sequence (``shot.#.exr``); None for an unnumbered file."""
    found = _FRAME_NUMBER.search(path.name)
    if found is None:
        return None
    return str(path.parent / (path.name[: found.start()] + "#" + path.name[found.end() :]))


class SettleTracker:
    """Feed it listings of a folder (``observe``); take the batches that have settled (``take_settled``).

    ``done`` holds the files already handed out, with the state they had then: seen again unchanged they
    are not handed out twice; changed (overwritten) they settle and are handed out again.
    """

    def __init__(
        self,
        *,
        settle_s: float,
        sequence_quiet_s: float,
        clock: Callable[[], float] = time.monotonic,
        done: Mapping[str, FileState] | None = None,
    ) -> None:
        self._settle_s = settle_s
        self._sequence_quiet_s = sequence_quiet_s
        self._clock = clock
        self._pending: dict[str, _Pending] = {}
        self.done: dict[str, FileState] = dict(done or {})

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def observe(self, listing: Mapping[str, FileState]) -> None:
        """A complete listing of the watched files: new and changed files start (again) to settle."""
        now = self._clock()
        for path in [p for p in self._pending if p not in listing]:
            del self._pending[path]  # deleted or moved away before it settled
        for path in [p for p in self.done if p not in listing]:
            del self.done[path]  # so that a file put back later is ingested again
        for path, state in listing.items():
            if self.done.get(path) == state:
                continue
            pending = self._pending.get(path)
            if pending is None:
                self._pending[path] = _Pending(state, first_seen=now, changed_at=now)
            elif pending.state != state:
                pending.state = state
                pending.changed_at = now

    def take_settled(self) -> list[list[Path]]:
        """The groups (a single file, or the frames of one sequence) that have settled, now marked done."""
        now = self._clock()
        groups: dict[str, list[str]] = {}
        for path in self._pending:
            groups.setdefault(sequence_key(Path(path)) or path, []).append(path)
        settled: list[list[Path]] = []
        for key, members in sorted(groups.items()):
            entries = [self._pending[p] for p in members]
            if any(now - e.changed_at < self._settle_s for e in entries):
                continue
            numbered = members != [key]  # an unnumbered file is its own group, keyed by its path
            if numbered and now - max(e.first_seen for e in entries) < self._sequence_quiet_s:
                continue
            for path in members:
                self.done[path] = self._pending.pop(path).state
            settled.append(sorted(Path(p) for p in members))
        return settled
