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


# Batch kinds (an ingest, or a job kind) -> the notification kind whose preference governs them.
_BATCH_NOTIFICATION_KINDS = {
    "ingest": NotificationKind.INGEST,
    "thumbnail": NotificationKind.INGEST,
}


def notification_kind_of_batch(batch_kind: str) -> NotificationKind:
    """Thumbnails finish an ingest; renders, turntables and AI jobs are all "renders and AI jobs"."""
    return _BATCH_NOTIFICATION_KINDS.get(batch_kind, NotificationKind.RENDER)


# Background analysis that follows an ingest: its batches notify only when something failed.
QUIET_KINDS = frozenset({"classify", "video"})

_NOUNS = {
    "ingest": ("Ingested", "file"),
    "render": ("Rendered", "model"),
    "thumbnail": ("Made thumbnails for", "file"),
    "classify": ("Categorised", "asset"),
    "enhance": ("Enhanced", "image"),
    "turntable": ("Rendered turntables for", "model"),
    "video": ("Analysed", "video"),
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
        return {
            "batch": self.batch_id,
            "asset_ids": list(self.asset_ids[:1000]),
            "failed": first_failed,
        }


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
