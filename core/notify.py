"""Batch summaries: one notification per batch of work, never one per file.

A :class:`BatchTracker` counts the jobs of a batch as they finish. A batch is *closed* when its producer
says no more jobs will join (an ingest that finished scanning, say); it is summarised once it is closed
and every job in it has finished.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.jobs.model import JobDocument, JobState


class NotificationKind(StrEnum):
    """What a notification is about; each kind has its own preference (``Settings.notify_<kind>``)."""

    INGEST = "ingest"
    RENDER = "render"
    MENTION = "mention"
    TASK_ASSIGNED = "task_assigned"
    COMMENT = "comment"
    ALERT = "alert"  # something went wrong without anyone asking: a stall, a crash recovered, sync lost


class NotificationSection(StrEnum):
    """The notification centre's three lists."""

    ACTIVITY = "activity"  # what the user's own work produced: ingests, renders, analyses
    NOTIFICATIONS = "notifications"  # what other people did: mentions, tasks, comments
    ALERTS = "alerts"  # what needs a look


def section_of(kind: str) -> NotificationSection:
    if kind == NotificationKind.ALERT:
        return NotificationSection.ALERTS
    if kind in (NotificationKind.MENTION, NotificationKind.TASK_ASSIGNED, NotificationKind.COMMENT):
        return NotificationSection.NOTIFICATIONS
    return NotificationSection.ACTIVITY


class AlertKind(StrEnum):
    STALLED = "stalled"
    RECOVERED = "recovered"
    SYNC_LOST = "sync_lost"


@dataclass(frozen=True)
class JobAlert:
    """Something the user did not ask to hear about but must: raised by the scheduler or the shell."""

    kind: AlertKind
    title: str
    body: str = ""
    job_id: int | None = None
    asset_id: int | None = None

    @property
    def target(self) -> dict[str, Any]:
        return {"alert": str(self.kind), "job_id": self.job_id, "asset_id": self.asset_id}


def stall_alert(job_id: int | None, step: str, why: str) -> JobAlert:
    return JobAlert(
        AlertKind.STALLED,
        f"Step {step} stalled",
        f"Job {job_id}: {why}. It was stopped, and runs again until its attempts are used up.",
        job_id=job_id,
    )


def recovered_alert(count: int, first_job_id: int | None) -> JobAlert:
    return JobAlert(
        AlertKind.RECOVERED,
        f"Recovered {count} interrupted job{'s' if count != 1 else ''}",
        "StratoPipe stopped while they were queued or running. Their finished steps were kept; the "
        "rest runs again now.",
        job_id=first_job_id,
    )


def sync_lost_alert(state: str) -> JobAlert:
    return JobAlert(
        AlertKind.SYNC_LOST,
        "Sync connection lost",
        f"The server connection is {state}. Comments and tasks are kept here and sent when it is back.",
    )


# Batch kinds (an ingest, or a job kind) -> the notification kind whose preference governs them.
_BATCH_NOTIFICATION_KINDS = {
    "ingest": NotificationKind.INGEST,
    "thumbnail": NotificationKind.INGEST,
}


def notification_kind_of_batch(batch_kind: str) -> NotificationKind:
    """Thumbnails finish an ingest; renders, turntables and AI jobs are all "renders and AI jobs"."""
    return _BATCH_NOTIFICATION_KINDS.get(batch_kind, NotificationKind.RENDER)


# Background analysis that follows an ingest: its batches notify only when something failed (a user's
# own "Classify again" from a menu is not background: it always says how it went).
QUIET_KINDS = frozenset({"classify", "video"})


# Batches a user started from a menu ("user:classify-1a2b"): never background, so never quiet.
USER_BATCH_PREFIX = "user:"


def is_quiet(summary: BatchSummary) -> bool:
    """Background batches of a quiet kind say nothing when all went well."""
    return summary.kind in QUIET_KINDS and not summary.batch_id.startswith(USER_BATCH_PREFIX)


_NOUNS = {
    "ingest": ("Ingested", "file"),
    "render": ("Rendered", "model"),
    "thumbnail": ("Made thumbnails for", "file"),
    "classify": ("Categorised", "asset"),
    "enhance": ("Enhanced", "image"),
    "turntable": ("Rendered turntables for", "model"),
    "video": ("Analysed", "video"),
    "analysis": ("Analysed", "shot"),
}
# The single job's wording: "Rendered chair.obj", "Render failed: chair.obj".
_SINGLE = {
    "render": ("Rendered", "Render"),
    "turntable": ("Rendered a turntable of", "Turntable"),
    "classify": ("Categorised", "Classification"),
    "enhance": ("Enhanced", "Enhance"),
    "thumbnail": ("Made a thumbnail for", "Thumbnail"),
    "video": ("Analysed", "Video analysis"),
    "analysis": ("Analysed shot", "Shot analysis"),
}


@dataclass(frozen=True)
class BatchSummary:
    batch_id: str
    kind: str
    total: int
    ok: int
    failed: int
    cancelled: int
    asset_ids: tuple[int, ...]
    failures: tuple[tuple[str, str], ...]  # (path or asset name, error)
    title: str
    body: str

    @property
    def level(self) -> str:
        return "warning" if self.failed else "info"

    @property
    def target(self) -> dict[str, Any]:
        first_failed = self.failures[0][0] if self.failures else None
        target: dict[str, Any] = {
            "batch": self.batch_id,
            "asset_ids": list(self.asset_ids[:1000]),
            "failed": first_failed,
        }
        if self.kind == "analysis" and self.ok:
            target["open_viewer"] = True  # the result is the plot under the player
        return target


def summarise(
    batch_id: str,
    kind: str,
    ok: int,
    failed: int,
    cancelled: int,
    asset_ids: tuple[int, ...],
    failures: tuple[tuple[str, str], ...],
    *,
    extra: str = "",
) -> BatchSummary:
    verb, noun = _NOUNS.get(kind, ("Finished", "job"))
    total = ok + failed + cancelled
    parts = [f"{ok} ready" if kind in ("ingest", "thumbnail") else f"{ok} ok"]
    if failed:
        parts.append(f"{failed} failed")
    if cancelled:
        parts.append(f"{cancelled} cancelled")
    title = f"{verb} {total} {noun}{'s' if total != 1 else ''}: {', '.join(parts)}"
    lines = [extra] if extra else []
    lines.extend(f"{name}: {error}" for name, error in failures[:5])
    if len(failures) > 5:
        lines.append(f"… and {len(failures) - 5} more")
    return BatchSummary(
        batch_id, kind, total, ok, failed, cancelled, asset_ids, failures, title, "\n".join(lines)
    )


def summarise_single(batch_id: str, kind: str, doc: JobDocument, name: str) -> BatchSummary:
    """One job a user started from a menu: its own sentence, with what it found when it says much."""
    done, noun = _SINGLE[kind]
    ok = int(doc.state == JobState.COMPLETED)
    failed = int(doc.state == JobState.FAILED)
    failures: tuple[tuple[str, str], ...] = ((name, doc.error or "failed"),) if failed else ()
    if ok:
        title, body = f"{done} {name}", _single_detail(doc)
    elif failed:
        title, body = f"{noun} failed: {name}", doc.error or ""
    else:
        title, body = f"{noun} cancelled: {name}", ""
    asset_ids = (doc.asset_id,) if doc.asset_id is not None else ()
    return BatchSummary(batch_id, kind, 1, ok, failed, 1 - ok - failed, asset_ids, failures, title, body)


def _single_detail(doc: JobDocument) -> str:
    output = doc.steps[-1].output if doc.steps else {}
    if "complexity" in output and isinstance(output.get("shots"), list):
        shots = len(output["shots"])
        plural = "s" if shots != 1 else ""
        return f"Complexity {output['complexity']}, {shots} shot{plural}. Open it to see the plot."
    return f"Took {doc.duration_s:.1f} s on {doc.device}" if doc.duration_s and doc.device else ""


@dataclass
class _Batch:
    kind: str
    jobs: set[int] = field(default_factory=set)
    finished: dict[int, JobDocument] = field(default_factory=dict)
    closed: bool = False
    extra_failures: list[tuple[str, str]] = field(default_factory=list)
    extra_note: str = ""
    asset_names: dict[int, str] = field(default_factory=dict)


class BatchTracker:
    """Thread-safe bookkeeping of batches; ``finish``/``close`` return a summary once complete."""

    def __init__(self) -> None:
        self._batches: dict[str, _Batch] = {}
        self._job_batch: dict[int, str] = {}
        self._lock = threading.Lock()

    def add_jobs(self, batch_id: str, kind: str, docs: list[JobDocument]) -> None:
        with self._lock:
            batch = self._batches.setdefault(batch_id, _Batch(kind))
            for doc in docs:
                if doc.id is not None:
                    batch.jobs.add(doc.id)
                    self._job_batch[doc.id] = batch_id

    def name_assets(self, batch_id: str, names: dict[int, str]) -> None:
        with self._lock:
            self._batches.setdefault(batch_id, _Batch("ingest")).asset_names.update(names)

    def finish(self, doc: JobDocument) -> BatchSummary | None:
        with self._lock:
            if doc.id is None or doc.id not in self._job_batch:
                return None
            batch_id = self._job_batch[doc.id]
            batch = self._batches[batch_id]
            batch.finished[doc.id] = doc
            return self._maybe_summary(batch_id)

    def close(
        self,
        batch_id: str,
        kind: str,
        *,
        failures: list[tuple[str, str]] | None = None,
        note: str = "",
    ) -> BatchSummary | None:
        """No more jobs join this batch. Failures that had no job (files refused at ingest) count too."""
        with self._lock:
            batch = self._batches.setdefault(batch_id, _Batch(kind))
            batch.closed = True
            batch.extra_failures.extend(failures or [])
            batch.extra_note = note
            return self._maybe_summary(batch_id)

    def _maybe_summary(self, batch_id: str) -> BatchSummary | None:
        batch = self._batches[batch_id]
        if not batch.closed or len(batch.finished) < len(batch.jobs):
            return None
        del self._batches[batch_id]
        for job_id in batch.jobs:
            self._job_batch.pop(job_id, None)
        docs = list(batch.finished.values())
        ok = sum(1 for d in docs if d.state == JobState.COMPLETED)
        cancelled = sum(1 for d in docs if d.state == JobState.CANCELLED)
        failed_docs = [d for d in docs if d.state == JobState.FAILED]
        failures = [
            (batch.asset_names.get(d.asset_id or -1, f"asset {d.asset_id}"), d.error or "failed")
            for d in failed_docs
        ]
        failures = batch.extra_failures + failures
        asset_ids = tuple(d.asset_id for d in docs if d.asset_id is not None)
        if len(docs) == 1 and not batch.extra_failures and batch.kind in _SINGLE:
            name = batch.asset_names.get(docs[0].asset_id or -1, f"asset {docs[0].asset_id}")
            return summarise_single(batch_id, batch.kind, docs[0], name)
        return summarise(
            batch_id,
            batch.kind,
            ok,
            len(failures),
            cancelled,
            asset_ids,
            tuple(failures),
            extra=batch.extra_note,
        )
