"""Who hears about the scheduler's work: the listener protocol, and a count of work still in flight."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from core.jobs.model import JobDocument
    from core.notify import BatchSummary


class SchedulerListener(Protocol):
    def job_updated(self, doc: JobDocument) -> None: ...
    def asset_changed(self, asset_id: int) -> None: ...
    def batch_finished(self, summary: BatchSummary) -> None: ...


class NullListener:
    def job_updated(self, doc: JobDocument) -> None:
        pass

    def asset_changed(self, asset_id: int) -> None:
        pass

    def batch_finished(self, summary: BatchSummary) -> None:
        pass


@dataclass
class Outstanding:
    """Jobs and catalog writes not yet done: what ``wait_idle`` waits for."""

    count: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)

    def add(self, n: int = 1) -> None:
        with self.condition:
            self.count += n

    def done(self) -> None:
        with self.condition:
            self.count -= 1
            if self.count <= 0:
                self.condition.notify_all()

    def wait(self, timeout: float | None) -> bool:
        with self.condition:
            return self.condition.wait_for(lambda: self.count <= 0, timeout)
