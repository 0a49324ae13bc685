"""Noticing catalog commits made by other processes (a ``stratopipe ingest`` while the app is open).

One dedicated, long-lived, read-only SQLite connection asks ``PRAGMA data_version``: SQLite moves it on
only when *another* connection committed to the file since this connection last asked, so an idle
catalog costs one pragma per look. When it moved, a small fingerprint is read (the highest asset id,
assets per project from the trigger-kept ``asset_kind_count``, the projects' names): job products
(thumbnails, renders, metadata) change none of it, so the app's own job results never look like an
external change. Any connection other than this one counts as "another", the app's own pool included:
callers tell their own ingest apart by the asset ids it reported (past ``ExternalChange.since_id``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class CatalogFingerprint:
    max_asset_id: int
    counts: tuple[tuple[int, int], ...]  # (project id, assets), by project id
    projects: tuple[tuple[int, str], ...]  # (project id, name), by project id


@dataclass(frozen=True)
class ExternalChange:
    """What moved since the last look: assets past ``since_id`` are new (up to ``max_asset_id``)."""

    since_id: int
    max_asset_id: int
    new_assets: int
    projects_changed: tuple[int, ...]  # projects whose asset count changed (added, removed, moved)
    project_list_changed: bool  # a project was created, renamed or deleted


class ExternalChanges:
    """Polled from one thread (the UI's timer); ``poll()`` answers None when nothing that matters moved."""

    def __init__(self, db_file: Path) -> None:
        # Never writes (query_only), and never holds a read transaction between looks (autocommit:
        # every statement is its own short read, so it never pins the WAL). Not ``mode=ro``: a
        # read-only connection cannot recreate the WAL index when it is the file's only connection.
        self._conn = sqlite3.connect(str(db_file), isolation_level=None, timeout=5, check_same_thread=True)
        self._conn.execute("PRAGMA query_only = 1")
        self._version = self._data_version()
        self._fingerprint = self._read()

    def close(self) -> None:
        self._conn.close()

    def changed(self) -> bool:
        """Whether another connection committed since the last look (one pragma; consumes nothing)."""
        return self._data_version() != self._version

    def poll(self) -> ExternalChange | None:
        version = self._data_version()
        if version == self._version:
            return None
        self._version = version
        before, after = self._fingerprint, self._read()
        self._fingerprint = after
        if before == after:
            return None  # job results, notifications, ratings: nothing the grid counts moved
        new_assets = 0
        if after.max_asset_id > before.max_asset_id:
            query = "SELECT count(*) FROM asset WHERE id > ?"
            new_assets = int(self._conn.execute(query, (before.max_asset_id,)).fetchone()[0])
        old_counts, new_counts = dict(before.counts), dict(after.counts)
        projects = tuple(sorted(p for p in old_counts.keys() | new_counts.keys()
                                if old_counts.get(p, 0) != new_counts.get(p, 0)))  # fmt: skip
        return ExternalChange(
            since_id=before.max_asset_id,
            max_asset_id=after.max_asset_id,
            new_assets=new_assets,
            projects_changed=projects,
            project_list_changed=before.projects != after.projects,
        )

    def _data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def _read(self) -> CatalogFingerprint:
        # One read transaction, so the three answers describe the same commit.
        self._conn.execute("BEGIN")
        try:
            max_id = self._conn.execute("SELECT coalesce(max(id), 0) FROM asset").fetchone()[0]
            counts = self._conn.execute(
                "SELECT project_id, sum(n) FROM asset_kind_count GROUP BY project_id "
                "HAVING sum(n) != 0 ORDER BY project_id"
            ).fetchall()
            projects = self._conn.execute("SELECT id, name FROM project ORDER BY id").fetchall()
        finally:
            self._conn.execute("COMMIT")
        return CatalogFingerprint(
            int(max_id),
            tuple((int(p), int(n)) for p, n in counts),
            tuple((int(p), str(name)) for p, name in projects),
        )
