"""Cyclic garbage is collected on the UI thread, never by a worker that happens to allocate."""

from __future__ import annotations

import gc
import threading
from typing import Any

from PySide6.QtCore import QObject


def test_worker_allocations_do_not_collect_qt_cycles(qtbot: Any) -> None:
    assert not gc.isenabled()  # the session's collector switched automatic collection off
    destroyed_in: list[str] = []

    class Cycle:
        def __init__(self) -> None:
            self.me = self
            self.qobject = QObject()
            self.qobject.destroyed.connect(lambda: destroyed_in.append(threading.current_thread().name))

    Cycle()  # unreachable at once, but only the cycle collector can free it

    def churn() -> None:
        junk = [[i] for i in range(200_000)]  # enough allocations to trigger automatic collection
        del junk

    worker = threading.Thread(target=churn, name="worker")
    worker.start()
    worker.join()
    assert destroyed_in == []
    keep = [[i] for i in range(5_000)]  # the UI thread allocates too: its timer collects
    qtbot.waitUntil(lambda: destroyed_in == ["MainThread"], timeout=5_000)
    del keep
