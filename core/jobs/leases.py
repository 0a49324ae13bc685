"""The lease heartbeat: this process keeps the jobs it holds leased while it runs them.

Its own thread rather than the writer lane: a backlog of catalog writes must not let a live job's lease
run out. A job whose lease another process took over is cancelled here, so one job never runs twice.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from core.catalog.stores import LEASE_RENEW_S

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.catalog.stores import JobStore

log = logging.getLogger(__name__)


class LeaseHeartbeat:
    def __init__(
        self,
        jobs: JobStore,
        in_hand: Callable[[], list[int]],
        lost: Callable[[int], None],
        interval_s: float = LEASE_RENEW_S,
    ) -> None:
        self._jobs = jobs
        self._in_hand = in_hand
        self._lost = lost
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="job-leases", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            held = self._in_hand()
            if not held:
                continue
            try:
                kept = self._jobs.renew(held)
            except Exception:
                log.exception("Could not renew job leases")
                continue
            for job_id in set(held) - kept:
                log.warning("Job %s was taken over by another process; stopping it here", job_id)
                self._lost(job_id)
