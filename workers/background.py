"""One way to run background work: superqt workers on a chosen pool, owned by one ``BackgroundWork``.

Every piece of off-UI-thread work that is not a lane job (thumbnail and filmstrip reads, viewer
decodes, the device probe, ingest drivers, probes in Preferences) is a superqt worker started here.
Its signals come back queued to the UI thread, so receivers never touch widgets from a pool thread.
``app/`` builds the one instance and, at quit, asks every worker to stop and waits for them with a
bound, as superqt's ``WorkerBase.await_workers`` does for the global pool; the instance also knows
which pools its workers run on, so a pool with its own thread limit is drained as well.
"""

from __future__ import annotations

import logging
import sys
import time
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QThreadPool
from superqt.utils import FunctionWorker

if TYPE_CHECKING:
    from collections.abc import Callable

    from superqt.utils import WorkerBase

log = logging.getLogger(__name__)

_R = TypeVar("_R")

DEFAULT_QUIT_TIMEOUT_MS = 5000


def report_uncaught(exc: BaseException) -> None:
    """A worker failed and nobody asked to hear about it: treat it as an uncaught error."""
    sys.excepthook(type(exc), exc, exc.__traceback__)


class BackgroundWork(QObject):
    """Starts workers, keeps each until it has finished, and awaits them all at quit."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Holding the worker keeps its Python side (and its signal object) alive until the queued
        # ``finished`` arrives; Qt deletes the C++ runnable on the pool thread when ``run`` returns.
        self._running: dict[int, tuple[WorkerBase[Any], QThreadPool]] = {}
        self._closed = False

    @property
    def running(self) -> int:
        """Workers started and not yet reported finished."""
        return len(self._running)

    def start(self, worker: WorkerBase[Any], pool: QThreadPool | None = None) -> None:
        """Run ``worker`` on ``pool`` (a component's own, to bound its threads) or the global pool."""
        if self._closed:
            log.debug("Not starting %r: the app is quitting", worker)
            return
        target = pool if pool is not None else QThreadPool.globalInstance()
        key = id(worker)
        self._running[key] = (worker, target)
        # Keyed by id, not captured: a closure over the worker would be a cycle through C++ (its own
        # signal object holding the slot) that the garbage collector cannot see.
        worker.finished.connect(partial(self._forget, key))
        target.start(worker)

    def _forget(self, key: int) -> None:
        self._running.pop(key, None)

    def call(
        self,
        function: Callable[[], _R],
        returned: Callable[[_R], object],
        *,
        pool: QThreadPool | None = None,
        errored: Callable[[Exception], object] = report_uncaught,
    ) -> FunctionWorker[_R]:
        """Run ``function()`` off the UI thread; ``returned(result)`` then runs on the UI thread.

        Bind arguments with ``functools.partial``. ``returned`` should be a bound method of a QObject
        (or a lambda whose owner outlives the work): Qt drops the delivery once that QObject is gone.
        """
        worker: FunctionWorker[_R] = FunctionWorker(function)
        worker.returned.connect(returned)
        worker.errored.connect(errored)
        self.start(worker, pool)
        return worker

    def quit_and_wait(self, timeout_ms: int = DEFAULT_QUIT_TIMEOUT_MS) -> bool:
        """At quit: refuse new work, ask every worker to stop, drop queued ones, wait up to the bound.

        Returns False (and logs which pools were still busy) when something outlived the bound; a
        Python thread cannot be killed, so the caller goes on quitting rather than hang.
        """
        self._closed = True
        for worker, _pool in self._running.values():
            worker.quit()
        pools = {id(pool): pool for _worker, pool in self._running.values() if shiboken6.isValid(pool)}
        deadline = time.monotonic() + timeout_ms / 1000
        busy: list[str] = []
        for pool in pools.values():
            pool.clear()  # queued work that has not started never will
            left_ms = max(0, int(1000 * (deadline - time.monotonic())))
            if not pool.waitForDone(left_ms):
                busy.append(f"{pool.objectName() or 'pool'} ({pool.activeThreadCount()} running)")
        self._running.clear()
        if busy:
            log.warning("Background work still running after %d ms: %s", timeout_ms, ", ".join(busy))
            return False
        return True
