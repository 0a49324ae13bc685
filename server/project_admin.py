"""Deleting a project: its owner or an administrator marks it deleted (``projects.deleted_at``).

Nothing is removed: the project's rows and events stay on the server, a last tombstone event
(``{"id": project, "project": project, "deleted": true}``) tells connected clients, the project list
(``ProjectInfo.deleted``) tells the others at their next sign-in, and every client unlinks its local
project (``core.sync.project_deletion``). The writer refuses further changes (``DELETED_PROJECT``) and
the server further subscriptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from core.sync.roles import project_deletion_refusal
from server.db import projects
from server.sql import CompiledStatement
from server.store import DomainError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Dialect

    from core.sync.protocol import DeleteProjectChange
    from server.change_result import ChangeResult
    from server.deletions import DeletionBatch
    from server.store import SessionUser


def deleted_project(project_id: int) -> DomainError:
    return DomainError("not_found", f"Project {project_id} was deleted")


class _ProjectStatements:
    def __init__(self, dialect: Dialect) -> None:
        project: sa.BindParameter[int] = sa.bindparam("b_project")
        self.owner = CompiledStatement(
            sa.select(projects.c.owner_id).where(projects.c.id == project), dialect
        )
        self.mark_deleted = CompiledStatement(
            projects.update().where(projects.c.id == project).values(deleted_at=sa.bindparam("b_at")), dialect
        )


_STATEMENTS: dict[tuple[str, str, str], _ProjectStatements] = {}


def _statements(dialect: Dialect) -> _ProjectStatements:
    key = (dialect.name, dialect.driver, str(dialect.paramstyle))
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = _ProjectStatements(dialect)
    return found


def apply_delete_project(
    applier: DeletionBatch, session: SessionUser, change: DeleteProjectChange, now: str
) -> ChangeResult:
    statements = _statements(applier.sql.dialect)
    owner = statements.owner.first(applier.cursor, {"b_project": change.project})
    refusal = project_deletion_refusal(session.user.role, owner is not None and owner[0] == session.user.id)
    if refusal is not None:
        raise DomainError("forbidden", refusal)
    statements.mark_deleted.run(applier.cursor, {"b_project": change.project, "b_at": now})
    record = {"id": change.project, "project": change.project, "deleted": True}
    return applier.record_event(session, change, "project", record, [])


def project_admin_handlers(
    applier: DeletionBatch, now: str
) -> dict[str, Callable[[SessionUser, Any], ChangeResult]]:
    """The writer's handlers for the project change types."""
    return {"delete_project": lambda session, change: apply_delete_project(applier, session, change, now)}
