"""Job documents: what a job is, independent of who runs it or where it is stored.

A job is a list of named steps. Each step records its status, start, end, duration, output, error and
the device or backend it used, so the Jobs panel and ``--json`` can say exactly what happened.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import IntEnum, StrEnum
from typing import Any


class JobState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class Lane(StrEnum):
    """One executor per scarce resource: jobs of a lane queue for it, never for each other."""

    MEDIA = "media"  # decoding and thumbnails: a thread pool
    RENDER = "render"  # one warm render child process (an OpenGL context belongs to one thread)
    INFERENCE = "inference"  # the engine that owns the GPU


MAX_ATTEMPTS = 3
# Lines of log kept per step in its record (the newest ones): enough to see why, never a log file.
STEP_LOG_LIMIT = 40


class Priority(IntEnum):
    """Which queued job of a lane runs next: the highest priority, then the oldest.

    What the user asked for now (a menu action) goes before what a profile queued in the background;
    a job bumped from the Jobs panel goes before everything else.
    """

    LOW = 0  # a profile marked low: everything else first
    BACKGROUND = 10  # follow-ups of an ingest (render, classify, filmstrip) under a normal profile
    NORMAL = 20  # an ingest's thumbnails, jobs from the CLI
    HIGH = 30  # a profile marked high (dailies that must show up first)
    USER = 40  # one action from a menu: a render, an enhance, an analysis
    TOP = 50  # bumped to the top from the Jobs panel


@dataclass
class StepRecord:
    name: str
    status: StepStatus = StepStatus.PENDING
    started_at: float | None = None
    ended_at: float | None = None
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    device: str | None = None
    attempts: int = 0
    # Structured lines (step_start, step_done, step_error and what the step logged), newest kept.
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def add_log(self, line: dict[str, Any]) -> None:
        self.log.append(line)
        del self.log[:-STEP_LOG_LIMIT]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["duration_s"] = self.duration_s
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepRecord:
        return cls(
            name=str(data["name"]),
            status=StepStatus(data.get("status", StepStatus.PENDING)),
            started_at=data.get("started_at"),
            ended_at=data.get("ended_at"),
            output=dict(data.get("output") or {}),
            error=data.get("error"),
            device=data.get("device"),
            attempts=int(data.get("attempts", 0)),
            log=[dict(line) for line in data.get("log") or [] if isinstance(line, dict)],
        )


@dataclass
class JobDocument:
    """The persisted description of one job. Plain data: safe to send through Qt signals."""

    kind: str
    steps: list[StepRecord]
    asset_id: int | None = None
    project_id: int | None = None
    id: int | None = None
    state: JobState = JobState.PENDING
    attempts: int = 0
    error: str | None = None
    device: str | None = None
    progress: float = 0.0
    message: str = ""
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    params: dict[str, Any] = field(default_factory=dict)
    priority: int = Priority.NORMAL

    @classmethod
    def new(
        cls,
        kind: str,
        step_names: list[str],
        *,
        asset_id: int | None = None,
        project_id: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> JobDocument:
        return cls(
            kind=kind,
            steps=[StepRecord(name) for name in step_names],
            asset_id=asset_id,
            project_id=project_id,
            params=dict(params or {}),
        )

    def step(self, name: str) -> StepRecord:
        for record in self.steps:
            if record.name == name:
                return record
        raise KeyError(name)

    @property
    def duration_s(self) -> float | None:
        starts = [s.started_at for s in self.steps if s.started_at is not None]
        ends = [s.ended_at for s in self.steps if s.ended_at is not None]
        if not starts or not ends:
            return None
        return max(ends) - min(starts)

    def steps_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "asset_id": self.asset_id,
            "project_id": self.project_id,
            "state": str(self.state),
            "attempts": self.attempts,
            "error": self.error,
            "device": self.device,
            "progress": self.progress,
            "message": self.message,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "duration_s": self.duration_s,
            "params": self.params,
            "priority": self.priority,
            "steps": self.steps_json(),
        }
