"""The jobs waiting for each lane, in priority order, and which of them may run now.

A lane's executor runs *tickets*, not jobs: each ticket takes the best runnable job at the moment a
thread is free. So a job bumped to the top, or a user's render queued behind a thousand background
thumbnails, runs next even though the executors themselves are first-in first-out. A lane can be paused
(its waiting jobs stay), everything can be paused, one job can be held, and a held or paused job can
be let through for one step. Thread-safe: the UI thread asks while lane threads take.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.jobs.model import Lane, Priority

if TYPE_CHECKING:
    from core.jobs.model import JobDocument


@dataclass(order=True)
class _Entry:
    key: tuple[int, int]  # (-priority, order): the smallest runs first
    doc: JobDocument = field(compare=False)


@dataclass(frozen=True)
class Taken:
    doc: JobDocument
    one_step: bool  # let through a pause or hold for one step only


class LaneQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[Lane, list[_Entry]] = {lane: [] for lane in Lane}
        self._tickets: dict[Lane, int] = dict.fromkeys(Lane, 0)
        self._order = itertools.count()
        self._bumps = itertools.count(-1, -1)  # the latest bump goes first
        self._all_paused = False
        self._paused_lanes: set[Lane] = set()
        self._held: set[int] = set()  # job ids paused one by one
        self._one_step: set[int] = set()

    # ---- state, as the UI asks it ----------------------------------------------------------------

    @property
    def all_paused(self) -> bool:
        return self._all_paused

    def lane_paused(self, lane: Lane) -> bool:
        with self._lock:
            return self._lane_paused(lane)

    def is_held(self, job_id: int) -> bool:
        """Whether this one job is held (its lane may be paused besides)."""
        with self._lock:
            return job_id in self._held

    def waiting(self, lane: Lane | None = None) -> list[JobDocument]:
        """Copies of the waiting jobs (of one lane or all), in the order they would run."""
        lanes = [lane] if lane is not None else list(Lane)
        with self._lock:
            return copy.deepcopy([e.doc for each in lanes for e in sorted(self._waiting[each])])

    # ---- contents --------------------------------------------------------------------------------

    def put(self, lane: Lane, doc: JobDocument) -> None:
        with self._lock:
            heapq.heappush(self._waiting[lane], _Entry((-doc.priority, next(self._order)), doc))

    def remove(self, job_id: int) -> JobDocument | None:
        with self._lock:
            self._held.discard(job_id)
            self._one_step.discard(job_id)
            for entries in self._waiting.values():
                for i, entry in enumerate(entries):
                    if entry.doc.id == job_id:
                        entries.pop(i)
                        heapq.heapify(entries)
                        return entry.doc
        return None

    def bump(self, job_id: int) -> tuple[Lane, JobDocument] | None:
        """Move a waiting job to the top of its lane; its lane and document, None when not waiting."""
        with self._lock:
            for lane, entries in self._waiting.items():
                for entry in entries:
                    if entry.doc.id == job_id:
                        entry.doc.priority = Priority.TOP
                        entry.key = (-Priority.TOP, next(self._bumps))
                        heapq.heapify(entries)
                        return lane, entry.doc
        return None

    # ---- pausing ---------------------------------------------------------------------------------

    def pause(self, lane: Lane | None) -> None:
        with self._lock:
            if lane is None:
                self._all_paused = True
            else:
                self._paused_lanes.add(lane)

    def resume(self, lane: Lane | None) -> list[Lane]:
        """Resume one lane, or everything (which clears each lane's own pause too); the lanes to feed."""
        with self._lock:
            if lane is None:
                self._all_paused = False
                self._paused_lanes.clear()
                return list(Lane)
            self._paused_lanes.discard(lane)
            return [lane]

    def hold(self, job_id: int) -> None:
        with self._lock:
            self._held.add(job_id)

    def release(self, job_id: int) -> Lane | None:
        """Let a held job go on; its lane when it is waiting (to feed), else None."""
        with self._lock:
            self._held.discard(job_id)
            return self._lane_of_waiting(job_id)

    def let_one_step(self, job_id: int) -> Lane | None:
        """Let a waiting job through its pause for one step; its lane, or None when not waiting."""
        with self._lock:
            lane = self._lane_of_waiting(job_id)
            if lane is not None:
                self._one_step.add(job_id)
            return lane

    def stop_after_step(self, job_id: int | None, one_step: bool) -> bool:
        """Asked by a running job after each step: a held job (or a single step) stops there."""
        with self._lock:
            return one_step or job_id in self._held

    # ---- tickets ---------------------------------------------------------------------------------

    def new_tickets(self, lane: Lane) -> int:
        """How many more tickets the lane's executor needs so that every runnable job has one."""
        with self._lock:
            runnable = sum(1 for e in self._waiting[lane] if self._runnable(e, lane))
            missing = max(0, runnable - self._tickets[lane])
            self._tickets[lane] += missing
            return missing

    def take(self, lane: Lane) -> Taken | None:
        """A ticket runs: the best runnable job of the lane, or None (it went, or was paused)."""
        with self._lock:
            self._tickets[lane] = max(0, self._tickets[lane] - 1)
            entries = self._waiting[lane]
            if entries and self._runnable(entries[0], lane):
                entry = heapq.heappop(entries)
            else:
                candidates = [e for e in entries if self._runnable(e, lane)]
                if not candidates:
                    return None
                entry = min(candidates)
                entries.remove(entry)
                heapq.heapify(entries)
            job_id = entry.doc.id or -1
            one_step = job_id in self._one_step
            self._one_step.discard(job_id)
            return Taken(entry.doc, one_step)

    # ---- under the lock --------------------------------------------------------------------------

    def _lane_paused(self, lane: Lane) -> bool:
        return self._all_paused or lane in self._paused_lanes

    def _lane_of_waiting(self, job_id: int) -> Lane | None:
        for lane, entries in self._waiting.items():
            if any(e.doc.id == job_id for e in entries):
                return lane
        return None

    def _runnable(self, entry: _Entry, lane: Lane) -> bool:
        job_id = entry.doc.id or -1
        if job_id in self._one_step:
            return True
        return not self._lane_paused(lane) and job_id not in self._held
