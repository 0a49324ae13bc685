"""The watched folders of this machine (``watches.json`` in the config dir) and what each has ingested.

Watches are machine configuration, like the settings and profiles beside them: a folder path means
something on this machine only, and a catalog moved to another machine (see ``core.roots``) should not
start watching folders there. What a watch has already handed to ingest (its ledger) is kept per watch
in the data dir, so a restart picks up only the files added or changed while the watcher was stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from core.json_files import read_model, write_json_atomically
from core.watch.settle import FileState

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from core.paths import AppPaths

log = logging.getLogger(__name__)

WATCHES_SCHEMA_VERSION = 1


class WatchError(ValueError):
    """A watch that cannot be added or found; the message says why."""


class WatchFolder(BaseModel):
    """One watched folder: where its files go and how they are processed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, description="absolute folder path")
    project: str = Field(min_length=1)
    profile: str | None = Field(default=None, description="None: the project's profile")
    polling: bool = Field(
        default=False, description="list the folder on a timer only (network shares send no events)"
    )


class WatchBook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = WATCHES_SCHEMA_VERSION
    watches: list[WatchFolder] = Field(default_factory=list)

    def add(self, watch: WatchFolder) -> None:
        if self.find(watch.path) is not None:
            raise WatchError(f"{watch.path} is watched already (remove it first to change it)")
        self.watches.append(watch)

    def find(self, path: str) -> WatchFolder | None:
        return next((w for w in self.watches if w.path == path), None)

    def remove(self, path: str) -> WatchFolder:
        found = self.find(path)
        if found is None:
            raise WatchError(f"{path} is not watched (see `stratopipe watch list`)")
        self.watches.remove(found)
        return found


def watches_file(paths: AppPaths) -> Path:
    return paths.config_dir / "watches.json"


def load_watches(path: Path) -> WatchBook:
    return read_model(path, WatchBook, "watch folders", WatchError)


def save_watches(book: WatchBook, path: Path) -> None:
    write_json_atomically(path, book.model_dump(mode="json"))


def live_watches(path: Path, initial: Sequence[WatchFolder] = ()) -> Callable[[], Sequence[WatchFolder]]:
    """The watches in ``path``, read again on every call, for a ``Watcher`` that runs for hours.

    A file caught half-edited by hand keeps the last list that was valid rather than stopping every
    watch until the edit is finished.
    """
    known = list(initial)

    def current() -> Sequence[WatchFolder]:
        nonlocal known
        try:
            known = load_watches(path).watches
        except WatchError as exc:
            log.warning("%s", exc)
        return known

    return current


class Ledger:
    """The files one watch has handed to ingest, with their size and mtime at the time."""

    def __init__(self, folder: Path, watched: str) -> None:
        digest = hashlib.sha1(watched.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]
        self._file = folder / f"{digest}.json"

    def load(self) -> dict[str, FileState]:
        try:
            stored = json.loads(self._file.read_text(encoding="utf-8"))
            return {path: FileState(int(size), int(mtime)) for path, (size, mtime) in stored.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            # Losing the ledger costs a rescan (known files come back as duplicates), never a file.
            log.warning("Cannot read the watch ledger %s (%s); the folder is scanned afresh", self._file, exc)
            return {}

    def save(self, done: Mapping[str, FileState]) -> None:
        write_json_atomically(self._file, {p: [s.size, s.mtime_ns] for p, s in done.items()})
