"""Job documents and notifications in the catalog.

Jobs carry a lease (migration 0003): the process that queues or takes over a job owns it, renews the
lease while it is in flight, and writes it only while it still owns it. Any process may take over a
queued or running job whose lease ran out, or whose owner is a process of this machine that no longer
exists (a killed ``stratopipe ingest``), so interrupted work is recovered by whichever entry point
starts next, and never by two at once.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, func, insert, or_, select, update

from core.catalog.records import NotificationRecord
from core.catalog.tables import Job, Notification
from core.jobs.model import JobDocument, JobState, StepRecord, StepStatus

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from sqlalchemy import ColumnElement

job_t = Job.__table__  # type: ignore[attr-defined]
notification_t = Notification.__table__  # type: ignore[attr-defined]

RECOVERED_MESSAGE = "Interrupted when StratoPipe stopped; queued again"
# A job whose owner has not renewed its lease for this long is free to take over. The owner renews
# every LEASE_RENEW_S, so a busy but live process keeps its jobs through a few missed beats.
LEASE_S = 60.0
LEASE_RENEW_S = LEASE_S / 4
_UNFINISHED = (str(JobState.QUEUED), str(JobState.RUNNING))
_FINISHED = (str(JobState.COMPLETED), str(JobState.FAILED), str(JobState.CANCELLED))
_ID_CHUNK = 500  # SQLite's bound-parameter limit is far above; chunks keep statements small


def process_owner() -> str:
    """``host:pid:nonce``: unique per JobStore, and enough to tell whether a local owner is alive."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True only when ``owner`` is a process of this machine that no longer exists.

    A reused pid reads as alive: the job then waits for its lease to run out, the safe side."""
    parts = owner.rsplit(":", 2)
    if os.name != "posix" or len(parts) != 3 or parts[0] != socket.gethostname():
        return False  # other machines (and Windows, where os.kill terminates) wait for the lease
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    listed = list(ids)
    for start in range(0, len(listed), _ID_CHUNK):
        yield listed[start : start + _ID_CHUNK]


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
        "priority": int(doc.priority),
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
        priority=int(row.priority),
    )


class JobStore:
    def __init__(self, engine: Engine, owner: str | None = None) -> None:
        self._engine = engine
        self.owner = owner or process_owner()

    def _lease(self) -> dict[str, Any]:
        return {"owner": self.owner, "lease_expires_at": time.time() + LEASE_S}

    def add(self, docs: list[JobDocument]) -> list[JobDocument]:
        """Persist new jobs, leased to this store (ids assigned in place). One transaction."""
        with self._engine.begin() as conn:
            for doc in docs:
                values = {**_job_values(doc), **self._lease()}
                key = conn.execute(insert(job_t).values(**values)).inserted_primary_key
                assert key is not None
                doc.id = int(key[0])
        return docs

    def save(self, doc: JobDocument) -> bool:
        """Write ``doc`` if this store still owns it; False when another process took it over."""
        if doc.id is None:
            self.add([doc])
            return True
        doc.updated_at = time.time()
        with self._engine.begin() as conn:
            result = conn.execute(
                update(job_t)
                .where(job_t.c.id == doc.id, job_t.c.owner == self.owner)
                .values(**_job_values(doc))
            )
        return bool(result.rowcount)

    def claim(self, job_ids: Iterable[int]) -> set[int]:
        """Lease these existing jobs to this store where allowed (finished ones, ones already ours,
        and interrupted ones); returns the ids this store now owns."""
        ids = list(job_ids)
        with self._engine.begin() as conn:
            for chunk in _chunks(ids):
                conn.execute(
                    update(job_t)
                    .where(job_t.c.id.in_(chunk), or_(job_t.c.state.in_(_FINISHED), self._free()))
                    .values(**self._lease())
                )
        return self._owned(ids)

    def renew(self, job_ids: Iterable[int]) -> set[int]:
        """The heartbeat: extend the lease of these jobs; returns those this store still owns."""
        ids = list(job_ids)
        with self._engine.begin() as conn:
            for chunk in _chunks(ids):
                conn.execute(
                    update(job_t)
                    .where(job_t.c.id.in_(chunk), job_t.c.owner == self.owner)
                    .values(lease_expires_at=time.time() + LEASE_S)
                )
        return self._owned(ids)

    def _owned(self, ids: list[int]) -> set[int]:
        owned: set[int] = set()
        with self._engine.connect() as conn:
            for chunk in _chunks(ids):
                query = select(job_t.c.id).where(job_t.c.id.in_(chunk), job_t.c.owner == self.owner)
                owned.update(int(row.id) for row in conn.execute(query))
        return owned

    def _free(self) -> ColumnElement[bool]:
        """Jobs this store may take: unowned, its own, lease run out, or owner dead."""
        with self._engine.connect() as conn:
            owners = conn.execute(
                select(job_t.c.owner)
                .where(job_t.c.state.in_(_UNFINISHED), job_t.c.owner.is_not(None))
                .distinct()
            )
            dead = [row.owner for row in owners if row.owner != self.owner and owner_is_dead(row.owner)]
        return or_(
            job_t.c.owner.is_(None),
            job_t.c.owner == self.owner,
            job_t.c.lease_expires_at < time.time(),
            job_t.c.owner.in_(dead),
        )

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

    def recover_interrupted(self, in_flight: Iterable[int] = ()) -> list[JobDocument]:
        """Take over the queued and running jobs no live process owns; they go back to the queue
        and their interrupted steps restart. One UPDATE claims them, so of two processes starting
        together each job goes to exactly one. ``in_flight``: this process's running jobs, left alone."""
        with self._engine.begin() as conn:
            conn.execute(
                update(job_t).where(job_t.c.state.in_(_UNFINISHED), self._free()).values(**self._lease())
            )
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(job_t)
                .where(job_t.c.state.in_(_UNFINISHED), job_t.c.owner == self.owner)
                .order_by(job_t.c.id)
            )
            running_here = set(in_flight)
            unfinished = [doc for doc in map(_job_from_row, rows) if doc.id not in running_here]
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
