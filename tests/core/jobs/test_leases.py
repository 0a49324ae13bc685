"""Job leases on a real catalog file: two stores are two processes' views of one catalog."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import update

from core.catalog.catalog import Catalog
from core.catalog.stores import JobStore, job_t, owner_is_dead
from core.jobs.model import JobState, StepStatus
from core.pipeline import JobKind, make_job


def _queued(store: JobStore, count: int) -> list[int]:
    docs = [make_job(JobKind.THUMBNAIL, index + 1, 1) for index in range(count)]
    for doc in docs:
        doc.state = JobState.RUNNING
        doc.steps[0].status = StepStatus.RUNNING
    store.add(docs)
    return [doc.id for doc in docs if doc.id is not None]


def _dead_pid() -> int:
    probe = subprocess.Popen([sys.executable, "-c", "pass"])
    probe.wait()
    return probe.pid


def test_a_live_owners_jobs_are_left_alone_until_its_lease_runs_out(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    mine, theirs = catalog.jobs, JobStore(catalog.engine)
    ids = _queued(theirs, 2)

    assert mine.recover_interrupted() == []  # the owner (this very process) is alive, its lease fresh
    assert mine.claim(ids) == set()
    with catalog.engine.begin() as conn:
        conn.execute(update(job_t).where(job_t.c.id == ids[0]).values(lease_expires_at=0.0))

    recovered = mine.recover_interrupted()
    assert [doc.id for doc in recovered] == [ids[0]]
    assert recovered[0].state == JobState.QUEUED
    assert recovered[0].steps[0].status == StepStatus.PENDING
    # The old owner lost it: its writes no longer land, and its heartbeat says so.
    stale = catalog.jobs.get(ids[0])
    assert stale is not None
    assert theirs.save(stale) is False
    assert theirs.renew(ids) == {ids[1]}
    catalog.close()


def test_jobs_of_a_dead_local_process_are_recovered_at_once(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    dead_owner = f"{socket.gethostname()}:{_dead_pid()}:0000"
    assert owner_is_dead(dead_owner)
    assert not owner_is_dead(catalog.jobs.owner)
    assert not owner_is_dead(f"another-host:{_dead_pid()}:0000")  # it may live there: wait for the lease
    ids = _queued(JobStore(catalog.engine, owner=dead_owner), 3)

    first, second = catalog.jobs, JobStore(catalog.engine)
    assert sorted(doc.id for doc in first.recover_interrupted()) == ids
    assert second.recover_interrupted() == []  # each job goes to one process
    catalog.close()
