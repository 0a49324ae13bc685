"""Watches folders and yields the files that settled there, as batches to ingest.

The folder listing is the truth; watchdog's file-system events only wake the loop early, so a lost or
coalesced event costs latency, never a file. A watch marked ``polling`` (a network share, which sends no
events), or one whose observer cannot start, is listed every ``poll_s``. A folder that vanishes (an
unmounted share, a renamed folder) is reported once and watched for its return; it is not observed while
gone, so its ledger survives and the files already ingested are not ingested again when it comes back.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from core.media.kinds import is_hidden_or_system
from core.watch.settle import FileState, SettleTracker
from core.watch.store import Ledger

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator, Sequence

    from watchdog.observers.api import BaseObserver

    from core.settings import Settings
    from core.watch.store import WatchFolder

log = logging.getLogger(__name__)


class WatchEventKind(StrEnum):
    WATCHING = "watching"
    SETTLED = "settled"
    MISSING = "missing"
    RESUMED = "resumed"


@dataclass(frozen=True)
class WatchEvent:
    kind: WatchEventKind
    watch: WatchFolder
    paths: tuple[Path, ...] = ()

    @property
    def message(self) -> str:
        """A sentence for a log line, the terminal or a notification."""
        folder = self.watch.path
        if self.kind == WatchEventKind.SETTLED:
            return f"{len(self.paths)} new file(s) in {folder} for project {self.watch.project}"
        if self.kind == WatchEventKind.MISSING:
            return f"Watched folder {folder} is gone; watching for it to come back"
        if self.kind == WatchEventKind.RESUMED:
            return f"Watched folder {folder} is back; watching it again"
        return f"Watching {folder} for project {self.watch.project}"


@dataclass(frozen=True)
class WatchTiming:
    poll_s: float = 2.0  # listing interval while files settle, and for polled folders
    settle_s: float = 3.0  # unchanged this long: a file is complete
    sequence_quiet_s: float = 10.0  # no new frame this long: a sequence is complete
    rescan_s: float = 60.0  # idle listing interval of a folder that sends events (a safety net)


class _Wake(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self._wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._wake.set()


@dataclass
class _Folder:
    watch: WatchFolder
    tracker: SettleTracker
    ledger: Ledger
    observer: BaseObserver | None = None
    missing: bool = False
    no_events: bool = False  # its observer could not start: listed on a timer


def list_files(folder: Path) -> dict[str, FileState]:
    """Every visible file under ``folder`` with its size and mtime (files vanishing meanwhile skipped)."""
    found: dict[str, FileState] = {}
    for directory, subdirs, files in os.walk(folder):
        subdirs[:] = [d for d in subdirs if not is_hidden_or_system(Path(directory, d))]
        for name in files:
            path = Path(directory, name)
            if is_hidden_or_system(path):
                continue  # also the ".name.partial" files that copy tools write first
            try:
                info = path.stat()
            except OSError:
                continue
            found[str(path)] = FileState(info.st_size, info.st_mtime_ns)
    return found


class Watcher:
    """Yields ``WatchEvent``s until ``stop()`` (thread-safe, also from a signal handler).

    ``watches`` is asked for the current watches on every pass, so a watch added or removed while the
    watcher runs (from the CLI, or the app's dialog) is taken up without a restart.
    """

    def __init__(
        self,
        watches: Callable[[], Sequence[WatchFolder]],
        ledger_dir: Path,
        timing: WatchTiming,
        *,
        use_events: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._watches = watches
        self._ledger_dir = ledger_dir
        self._timing = timing
        self._use_events = use_events
        self._clock = clock
        self._folders: dict[str, _Folder] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """List the folders (and read the watches) now rather than at the next interval."""
        self._wake.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def events(self) -> Generator[WatchEvent, None, None]:
        try:
            while not self._stop.is_set():
                self._wake.clear()
                yield from self._pass()
                if not self._stop.is_set():
                    self._wake.wait(self._next_wait())
        finally:
            for folder in self._folders.values():
                self._stop_observer(folder)

    def _pass(self) -> Iterator[WatchEvent]:
        current = {w.path: w for w in self._watches()}
        for path in [p for p in self._folders if p not in current]:
            self._stop_observer(self._folders.pop(path))
        for path, watch in current.items():
            known = self._folders.get(path)
            if known is None or known.watch != watch:
                if known is not None:
                    self._stop_observer(known)
                self._folders[path] = self._new_folder(watch)
                yield WatchEvent(WatchEventKind.WATCHING, watch)
        for folder in list(self._folders.values()):
            if self._stop.is_set():
                return
            yield from self._visit(folder)

    def _new_folder(self, watch: WatchFolder) -> _Folder:
        ledger = Ledger(self._ledger_dir, watch.path)
        t = self._timing
        tracker = SettleTracker(
            settle_s=t.settle_s, sequence_quiet_s=t.sequence_quiet_s, clock=self._clock, done=ledger.load()
        )
        return _Folder(watch, tracker, ledger)

    def _visit(self, folder: _Folder) -> Iterator[WatchEvent]:
        root = Path(folder.watch.path)
        if not root.is_dir():
            if not folder.missing:
                folder.missing = True
                self._stop_observer(folder)
                log.warning("Watched folder %s is gone", root)
                yield WatchEvent(WatchEventKind.MISSING, folder.watch)
            return
        if folder.missing:
            folder.missing = False
            log.info("Watched folder %s is back", root)
            yield WatchEvent(WatchEventKind.RESUMED, folder.watch)
        self._start_observer(folder)
        folder.tracker.observe(list_files(root))
        settled = [path for group in folder.tracker.take_settled() for path in group]
        if settled:
            yield WatchEvent(WatchEventKind.SETTLED, folder.watch, tuple(settled))
            # Recorded only once the consumer has handled the batch: a watcher killed while ingesting
            # hands the same files out again on its next start (ingest reports them as duplicates).
            folder.ledger.save(folder.tracker.done)

    def _next_wait(self) -> float:
        t = self._timing
        busy = any(f.tracker.pending_count or f.missing or f.observer is None for f in self._folders.values())
        return t.poll_s if busy or not self._folders else t.rescan_s

    def _start_observer(self, folder: _Folder) -> None:
        if folder.observer is not None or folder.no_events or folder.watch.polling or not self._use_events:
            return
        observer = Observer()
        try:
            observer.schedule(_Wake(self._wake), folder.watch.path, recursive=True)
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit: listing on a timer still works
            log.warning(
                "No file events for %s (%s); listing it every %s s",
                folder.watch.path,
                exc,
                self._timing.poll_s,
            )
            folder.no_events = True
            return
        folder.observer = observer

    @staticmethod
    def _stop_observer(folder: _Folder) -> None:
        if folder.observer is not None:
            folder.observer.stop()
            folder.observer.join(timeout=5)
            folder.observer = None


def timing_from_settings(settings: Settings) -> WatchTiming:
    return WatchTiming(
        poll_s=settings.watch_poll_s,
        settle_s=settings.watch_settle_s,
        sequence_quiet_s=settings.watch_sequence_quiet_s,
        rescan_s=settings.watch_rescan_s,
    )
