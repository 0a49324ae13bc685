"""Runs the watch folders (``core.watch``) on a thread of their own for as long as the app runs.

The watcher waits on file-system events and timers between passes, so it gets a long-lived thread of its
own rather than a pool thread it would hold for hours. It is a plain daemon thread, not a QThread: a
listing stuck on a dead network share must not keep the app from quitting, and Qt aborts the process
when a QThread object is destroyed while it runs. Its events reach the UI thread as queued signals
(emitted from this thread, delivered on the receivers' thread) carrying the ``WatchEvent`` dataclass.

A settled batch is recorded in the watch's ledger only when the watcher is resumed, so the thread
waits for ``batch_handled()`` (the UI calls it once that batch's ingest has ended) before it goes on:
quitting while a batch waits behind another ingest leaves it unrecorded, and the next start hands the
same files out again instead of losing them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from core.watch.store import live_watches, watches_file
from core.watch.watcher import Watcher, WatchEventKind, timing_from_settings

if TYPE_CHECKING:
    from core.paths import AppPaths
    from core.settings import Settings

log = logging.getLogger(__name__)

# Quitting waits this long for the watcher; a listing stuck on a dead network share is left behind.
STOP_TIMEOUT_MS = 5000


class WatchRunner(QObject):
    settled = Signal(object)  # WatchEvent of kind SETTLED: ingest its paths, then call batch_handled()
    folder_missing = Signal(object)  # WatchEvent: reported once per disappearance, not once per pass
    folder_resumed = Signal(object)  # WatchEvent
    failed = Signal(str)  # the watcher itself stopped (an unreadable ledger folder, say)

    def __init__(self, paths: AppPaths, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = threading.Thread(target=self._run, name="watch-folders", daemon=True)
        file = watches_file(paths)
        self._watcher = Watcher(
            live_watches(file),
            paths.data_dir / "watch",
            timing_from_settings(settings),
            use_events=settings.watch_events,
        )
        self._handled = threading.Event()  # set by batch_handled() or a stop request
        self._acknowledged = False  # ...and this one says which

    # -- called from the UI thread ------------------------------------------------------------

    def batch_handled(self) -> None:
        """The last ``settled`` batch has been ingested (or given up on): record it and go on."""
        self._acknowledged = True
        self._handled.set()

    def wake(self) -> None:
        """The watches changed here (a dialog): read them now rather than at the next interval."""
        self._watcher.wake()

    def request_stop(self) -> None:
        """Stop after the current pass; safe to call more than once, and before ``start()``."""
        self._watcher.stop()
        self._handled.set()

    def start(self) -> None:
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_ms: int = STOP_TIMEOUT_MS) -> bool:
        """At quit: stop and join the thread within the bound; False when it is still busy (it is a
        daemon thread: the process can end without it)."""
        self.request_stop()
        if not self._thread.is_alive():
            return True
        self._thread.join(timeout_ms / 1000)
        if not self._thread.is_alive():
            return True
        log.warning("The watch folder thread is still busy after %d ms; quitting without it", timeout_ms)
        return False

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._watch()
        except Exception as exc:  # reported to the user; the rest of the app goes on without watches
            log.exception("Watch folders stopped")
            self.failed.emit(str(exc))

    def _watch(self) -> None:
        # Leaving the loop closes the generator where it stands: a batch not acknowledged is not
        # recorded (see the module docstring). One acknowledged is resumed, recorded, and the watcher
        # then sees the stop request and ends by itself.
        with contextlib.closing(self._watcher.events()) as events:
            for event in events:
                log.info("%s", event.message)
                if event.kind == WatchEventKind.SETTLED:
                    self._acknowledged = False
                    self._handled.clear()
                    if self._watcher.stopped:  # checked after clear(): a stop cannot slip in between
                        return
                    self.settled.emit(event)
                    self._handled.wait()
                    if not self._acknowledged:
                        return
                elif event.kind == WatchEventKind.MISSING:
                    self.folder_missing.emit(event)
                elif event.kind == WatchEventKind.RESUMED:
                    self.folder_resumed.emit(event)
