"""Deleting tasks and shared assets: tombstone events in the project's sequence.

The rows go (an asset with its comments and tasks); the event stays, so every client removes them when
it hears of it, an offline one at its next catch-up (``core.sync.deletions``). A tombstone's record is
only ``{"id", "project", "deleted": true}``: whoever deleted it and when are the event's actor and time.
Deletions are rare, so their statements live here rather than on the writer's hot path
(``server.statements``), compiled once per dialect all the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from core.sync.roles import asset_deletion_refusal, task_deletion_refusal
from server.db import assets, comments, projects, tasks
from server.sql import CompiledStatement
from server.store import DomainError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Dialect

    from core.sync.protocol import (
        Change,
        DeleteAssetChange,
        DeleteTaskChange,
        FieldConflict,
        NotifyTarget,
        RecordKind,
    )
    from server.change_result import ChangeResult
    from server.statements import Statements
    from server.store import SessionUser


class DeletionBatch(Protocol):
    """The part of ``server.changes``' batch applier the deletion handlers use."""

    @property
    def cursor(self) -> Any: ...
    @property
    def sql(self) -> Statements: ...

    def existing(self, table: sa.Table, record_id: str, project_id: int) -> dict[str, Any]: ...
    def record_event(
        self,
        session: SessionUser,
        change: Change,
        kind: RecordKind,
        record: dict[str, Any],
        notify: list[NotifyTarget],
        conflicts: list[FieldConflict] | None = None,
    ) -> ChangeResult: ...


class _DeletionStatements:
    def __init__(self, dialect: Dialect) -> None:
        record_id: sa.BindParameter[str] = sa.bindparam("b_id")
        self.task = CompiledStatement(tasks.delete().where(tasks.c.id == record_id), dialect)
        self.asset = CompiledStatement(assets.delete().where(assets.c.id == record_id), dialect)
        project: sa.BindParameter[int] = sa.bindparam("b_project")
        self.owner = CompiledStatement(
            sa.select(projects.c.owner_id).where(projects.c.id == project), dialect
        )
        # By project and asset: the order of the comments' index (``ix_comments_project_asset``).
        self.asset_comments = CompiledStatement(
            comments.delete().where(comments.c.project_id == project, comments.c.asset_id == record_id),
            dialect,
        )
        self.asset_tasks = CompiledStatement(
            tasks.delete().where(tasks.c.project_id == project, tasks.c.asset_id == record_id), dialect
        )


_STATEMENTS: dict[tuple[str, str, str], _DeletionStatements] = {}


def _statements(dialect: Dialect) -> _DeletionStatements:
    key = (dialect.name, dialect.driver, str(dialect.paramstyle))
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = _DeletionStatements(dialect)
    return found


def tombstone(record_id: str, project_id: int) -> dict[str, Any]:
    return {"id": record_id, "project": project_id, "deleted": True}


def apply_delete_task(applier: DeletionBatch, session: SessionUser, change: DeleteTaskChange) -> ChangeResult:
    row = applier.existing(tasks, change.task_id, change.project)
    refusal = task_deletion_refusal(session.user.role, row["creator"] == session.user.id)
    if refusal is not None:
        raise DomainError("forbidden", refusal)
    _statements(applier.sql.dialect).task.run(applier.cursor, {"b_id": change.task_id})
    return applier.record_event(session, change, "task", tombstone(change.task_id, change.project), [])


def apply_delete_asset(
    applier: DeletionBatch, session: SessionUser, change: DeleteAssetChange
) -> ChangeResult:
    statements = _statements(applier.sql.dialect)
    owner = statements.owner.first(applier.cursor, {"b_project": change.project})
    refusal = asset_deletion_refusal(session.user.role, owner is not None and owner[0] == session.user.id)
    if refusal is not None:
        raise DomainError("forbidden", refusal)
    applier.existing(assets, change.asset_id, change.project)
    for statement in (statements.asset_comments, statements.asset_tasks, statements.asset):
        statement.run(applier.cursor, {"b_id": change.asset_id, "b_project": change.project})
    return applier.record_event(session, change, "asset", tombstone(change.asset_id, change.project), [])


def deletion_handlers(applier: DeletionBatch) -> dict[str, Callable[[SessionUser, Any], ChangeResult]]:
    """The writer's handlers for the deletion change types."""
    return {
        "delete_task": lambda session, change: apply_delete_task(applier, session, change),
        "delete_asset": lambda session, change: apply_delete_asset(applier, session, change),
    }
