"""Run Python's cyclic garbage collector on the UI thread only.

Automatic collection runs in whichever thread happens to allocate. When that is a worker (a lane, the
sync thread, an embedded server) and the garbage holds Qt wrappers, Qt objects get destroyed off the UI
thread and the process can crash. So automatic collection is switched off and this timer collects on
the UI thread instead, generation by generation as the counts cross the usual thresholds.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

CHECK_INTERVAL_MS = 500


class MainThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> int:
        """Collect the oldest generation whose count passed its threshold; returns objects freed."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                return gc.collect(generation)
        return 0

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
