"""The app's process-level lifecycle: where uncaught errors go, and how Ctrl+C and SIGTERM quit it.

Every uncaught error, from a slot on the UI thread, a plain thread or a worker nobody listens to, is
logged with its traceback (``logs/stratopipe.log``) and summarised to the user in one non-modal box, so
nothing fails silently and nothing blocks. A hard crash (a segfault in a native library) cannot run
Python code, so ``faulthandler`` writes the stacks of every thread to ``logs/faults.log`` instead.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from PySide6.QtCore import QObject, QSocketNotifier, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from app.logging_setup import ring_buffer

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import TracebackType

log = logging.getLogger(__name__)

FAULT_LOG = "faults.log"
# What the error box's "Show Details" holds of the log, for a report the user can copy.
RECENT_LOG_LINES = 60
QUIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class CrashReporter(QObject):
    """Installs ``sys.excepthook``, ``threading.excepthook`` and ``faulthandler``; ``uninstall`` undoes it.

    The hooks may run on any thread: they only log and emit ``error_reported``, which Qt queues to
    the UI thread, where the one message box is shown (or updated, when errors keep coming).
    """

    error_reported = Signal(str)  # a one-line summary for the user

    def __init__(self, log_dir: Path, log_file: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._log_file = log_file
        self._handling = threading.local()
        self._box: QMessageBox | None = None
        self._count = 0
        self._faults: TextIO = (log_dir / FAULT_LOG).open("a", encoding="utf-8")
        faulthandler.enable(self._faults, all_threads=True)
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook
        self.error_reported.connect(self._show)

    def uninstall(self) -> None:
        sys.excepthook = self._previous_hook
        threading.excepthook = self._previous_thread_hook
        faulthandler.disable()
        self._faults.close()

    def _excepthook(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        self._report("Uncaught error", kind, exc, tb)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        self._report(f"Uncaught error in thread {name}", args.exc_type, args.exc_value, args.exc_traceback)

    def _report(
        self, what: str, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        # An error raised while reporting one (a broken handler, a full disk) must not recurse: the
        # interpreter's own hook prints it to stderr instead.
        if getattr(self._handling, "active", False):
            sys.__excepthook__(kind, exc, tb)
            return
        self._handling.active = True
        try:
            log.critical("%s", what, exc_info=(kind, exc, tb))
            self.error_reported.emit(f"{kind.__name__}: {exc}")
        finally:
            self._handling.active = False

    def _show(self, summary: str) -> None:
        if not isinstance(QApplication.instance(), QApplication):
            return  # before the app starts or after it ends: the log is all there can be
        self._count += 1
        text = summary if self._count == 1 else f"{self._count} errors so far; the latest:\n{summary}"
        if self._box is None:
            # Non-modal and reused: an error in a repeating timer must not stack up dialogs or block.
            self._box = QMessageBox(QMessageBox.Icon.Warning, "StratoPipe", "")
            self._box.setModal(False)
            self._box.setInformativeText(f"The details are in {self._log_file}")
        recent = "\n".join(list(ring_buffer.lines)[-RECENT_LOG_LINES:])
        self._box.setDetailedText(f"{text}\n\nThe log's last lines:\n{recent}")
        self._box.setText(f"Something went wrong: {summary[:200]}")
        self._box.show()


class QuitSignals(QObject):
    """Calls ``on_signal(signal number)`` on the UI thread when SIGINT or SIGTERM arrives.

    Python runs signal handlers only when the interpreter gets control, and Qt's event loop sits in C++
    for as long as nothing happens. ``signal.set_wakeup_fd`` makes the C-level handler write the
    signal number to a socket; a QSocketNotifier on the other end wakes the loop, and the slot reads
    which signals came. The Python handlers do nothing themselves: acting inside whatever frame the
    interpreter happened to be in would be re-entrant, a slot is not.
    """

    def __init__(self, on_signal: Callable[[int], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on_signal = on_signal
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = {number: signal.signal(number, _ignore) for number in QUIT_SIGNALS}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)

    def uninstall(self) -> None:
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._reader.close()
        self._writer.close()

    def _drain(self) -> None:
        try:
            received = self._reader.recv(64)
        except BlockingIOError:
            return
        for number in dict.fromkeys(received):  # each signal once, in arrival order
            if number in QUIT_SIGNALS:
                self._on_signal(number)


def _ignore(number: int, frame: object) -> None:
    """The Python-level handler: the wakeup byte carries the signal to ``QuitSignals._drain``."""
