"""Job documents and notifications in the catalog."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from core.catalog.records import NotificationRecord
from core.catalog.tables import Job, Notification
from core.jobs.model import JobDocument, JobState, StepRecord, StepStatus

job_t = Job.__table__  # type: ignore[attr-defined]
notification_t = Notification.__table__  # type: ignore[attr-defined]

RECOVERED_MESSAGE = "Interrupted when StratoPipe stopped; queued again"


def _job_values(doc: JobDocument) -> dict[str, Any]:
    return {
        "kind": doc.kind,
        "asset_id": doc.asset_id,
        "project_id": doc.project_id,
        "state": str(doc.state),
        "attempts": doc.attempts,
        "error": doc.error,
        "device": doc.device,
        "progress": doc.progress,
        "message": doc.message,
        "created_at": doc.created_at,
        "updated_at": doc.updated_at,
        "params_json": json.dumps(doc.params, default=str),
        "steps_json": json.dumps(doc.steps_json(), default=str),
    }


def _job_from_row(row: Any) -> JobDocument:
    return JobDocument(
        id=row.id,
        kind=row.kind,
        asset_id=row.asset_id,
        project_id=row.project_id,
        state=JobState(row.state),
        attempts=row.attempts,
        error=row.error,
        device=row.device,
        progress=row.progress,
        message=row.message,
        created_at=row.created_at,
        updated_at=row.updated_at,
        params=json.loads(row.params_json),
        steps=[StepRecord.from_json(s) for s in json.loads(row.steps_json)],
    )


class JobStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, docs: list[JobDocument]) -> list[JobDocument]:
        """Persist new jobs (ids assigned in place). One transaction for the whole batch."""
        with self._engine.begin() as conn:
            for doc in docs:
                key = conn.execute(insert(job_t).values(**_job_values(doc))).inserted_primary_key
                assert key is not None
                doc.id = int(key[0])
        return docs

    def save(self, doc: JobDocument) -> None:
        if doc.id is None:
            self.add([doc])
            return
        doc.updated_at = time.time()
        with self._engine.begin() as conn:
            conn.execute(update(job_t).where(job_t.c.id == doc.id).values(**_job_values(doc)))

    def get(self, job_id: int) -> JobDocument | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(job_t).where(job_t.c.id == job_id)).first()
        return _job_from_row(row) if row is not None else None

    def find(
        self,
        *,
        states: list[JobState] | None = None,
        kind: str | None = None,
        asset_id: int | None = None,
        limit: int = 500,
    ) -> list[JobDocument]:
        query = select(job_t)
        if states:
            query = query.where(job_t.c.state.in_([str(s) for s in states]))
        if kind:
            query = query.where(job_t.c.kind == kind)
        if asset_id is not None:
            query = query.where(job_t.c.asset_id == asset_id)
        query = query.order_by(job_t.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            return [_job_from_row(r) for r in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(job_t.c.state, func.count()).group_by(job_t.c.state))
            return {r[0]: int(r[1]) for r in rows}

    def recover_interrupted(self) -> list[JobDocument]:
        """Jobs left running or queued by a crash go back to the queue; their steps restart."""
        unfinished = self.find(states=[JobState.RUNNING, JobState.QUEUED], limit=1_000_000)
        for doc in unfinished:
            for step in doc.steps:
                if step.status == StepStatus.RUNNING:
                    step.status = StepStatus.PENDING
                    step.started_at = None
            doc.state = JobState.QUEUED
            doc.message = RECOVERED_MESSAGE
            self.save(doc)
        return unfinished

    def clear_finished(self, older_than_s: float = 0.0) -> int:
        cutoff = time.time() - older_than_s
        finished = [str(JobState.COMPLETED), str(JobState.CANCELLED)]
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(job_t).where(job_t.c.state.in_(finished), job_t.c.updated_at <= cutoff)
            )
            return int(result.rowcount or 0)


class NotificationStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(
        self,
        kind: str,
        title: str,
        body: str = "",
        *,
        level: str = "info",
        target: dict[str, Any] | None = None,
    ) -> NotificationRecord:
        now = time.time()
        values = {
            "kind": kind,
            "title": title,
            "body": body,
            "level": level,
            "created_at": now,
            "read": False,
            "target_json": json.dumps(target or {}, default=str),
        }
        with self._engine.begin() as conn:
            key = conn.execute(insert(notification_t).values(**values)).inserted_primary_key
        assert key is not None
        return NotificationRecord(int(key[0]), kind, title, body, level, now, False, target or {})

    def recent(self, *, unread_only: bool = False, limit: int = 200) -> list[NotificationRecord]:
        query = select(notification_t).order_by(notification_t.c.id.desc()).limit(limit)
        if unread_only:
            query = query.where(notification_t.c.read.is_(False))
        with self._engine.connect() as conn:
            return [
                NotificationRecord(
                    r.id,
                    r.kind,
                    r.title,
                    r.body,
                    r.level,
                    r.created_at,
                    bool(r.read),
                    json.loads(r.target_json),
                )
                for r in conn.execute(query)
            ]

    def mark_read(self, ids: list[int] | None = None) -> None:
        statement = update(notification_t).values(read=True)
        if ids is not None:
            statement = statement.where(notification_t.c.id.in_(ids))
        with self._engine.begin() as conn:
            conn.execute(statement)

    def unread_count(self) -> int:
        with self._engine.connect() as conn:
            query = select(func.count()).where(notification_t.c.read.is_(False))
            return int(conn.execute(query).scalar() or 0)
