"""``add_member`` / ``remove_member`` on the sync connection (``core.sync.member_protocol``): a project's
owner, its supervisors and admins manage its members from the client.

``SyncServer`` hands over a text message its main schema does not know, as for invitations, so these
cost the hot path nothing. A removed member's live subscription ends at the server's next access check
(``not_member``); the project's owner stays a member (an administrator names another owner first).

An added member's open connections learn it at once: the project list only comes with ``auth_ok``, so
each of them, on this server process and (PostgreSQL) on the others (``server.cluster``), is told
``projects_changed`` and closed, and the client signs in again at once. A membership an administrator
adds with ``stratopipe-server project member add`` writes the database from another process, which the
running servers do not hear: it shows at the user's next connection.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NamedTuple, Protocol

import sqlalchemy as sa
from pydantic import ValidationError

from core.sync.member_protocol import (
    MEMBER_REQUEST,
    PROJECTS_CHANGED,
    AddMemberRequest,
    MemberChanged,
    ProjectsChanged,
)
from core.sync.roles import member_management_refusal
from server.db import memberships, projects, users
from server.services import ServerServices
from server.session import open_sessions_of
from server.store import DomainError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.engine import Engine

    from core.sync.member_protocol import MemberRequest
    from server.session import Session

log = logging.getLogger("server.app")


class MemberServices(ServerServices, Protocol):
    def tell_added(self, user_id: int, project: int, name: str, keep: Session | None) -> int:
        """Tell the user's open connections but ``keep``, on every server process, that they were added
        to ``project`` (called ``name``), and close them; returns how many there were on this process."""


class MembershipChange(NamedTuple):
    user_id: int
    changed: bool
    project_name: str


def tell_added(
    sessions: Iterable[Session], user_id: int, project: int, name: str, keep: Session | None
) -> int:
    """``projects_changed`` to the open connections of ``user_id`` among ``sessions`` but ``keep``, each
    then closed (the explanation goes out first); returns how many."""
    told = [s for s in open_sessions_of(sessions, user_id) if s is not keep]
    if not told:
        return 0
    text = ProjectsChanged(message=f"You were added to project {name}", project=project).model_dump_json()
    for session in told:
        session.metrics.errors.labels(PROJECTS_CHANGED).inc()
        session.send(text)
        session.close_soon("added to a project")
    log.info(
        "event=projects_changed user=%s project=%d connections=%d", told[0].user_name, project, len(told)
    )
    return len(told)


def _refusal(engine: Engine, user_id: int, role: str, project_id: int) -> str | None:
    with engine.connect() as connection:
        project = connection.execute(
            sa.select(projects.c.owner_id, projects.c.deleted_at).where(projects.c.id == project_id)
        ).one_or_none()
        member = connection.execute(
            sa.select(memberships.c.user_id).where(
                memberships.c.project_id == project_id, memberships.c.user_id == user_id
            )
        ).first()
    if project is None or (member is None and role != "admin"):
        raise DomainError("not_member", f"You are not a member of project {project_id}")
    if project.deleted_at is not None:
        raise DomainError("not_found", f"Project {project_id} was deleted")
    return member_management_refusal(role, project.owner_id == user_id, member is not None)


def _change(engine: Engine, project_id: int, username: str, add: bool) -> MembershipChange:
    with engine.begin() as connection:
        user = connection.execute(
            sa.select(users.c.id, users.c.removed).where(users.c.name == username)
        ).one_or_none()
        if user is None or user.removed:
            raise DomainError("not_found", f"No user named {username!r}")
        project = connection.execute(
            sa.select(projects.c.owner_id, projects.c.name).where(projects.c.id == project_id)
        ).one_or_none()
        if project is None:
            raise DomainError("not_member", f"You are not a member of project {project_id}")
        if not add and project.owner_id == user.id:
            raise DomainError(
                "invalid", "The project's owner stays a member; an admin can name another owner"
            )
        where = sa.and_(memberships.c.project_id == project_id, memberships.c.user_id == user.id)
        exists = connection.execute(sa.select(memberships.c.user_id).where(where)).first() is not None
        if add and not exists:
            connection.execute(memberships.insert().values(project_id=project_id, user_id=user.id))
        elif not add and exists:
            connection.execute(memberships.delete().where(where))
        return MembershipChange(int(user.id), exists != add, str(project.name))


async def handle(server: MemberServices, session: Session, raw: str) -> bool:
    """Serve ``raw`` when it is one of these requests; False when it is not (the caller refuses it)."""
    try:
        message: MemberRequest = MEMBER_REQUEST.validate_json(raw)
    except ValidationError:
        return False
    try:
        await _serve(server, session, message)
    except DomainError as error:
        session.send_error(error.code, error.message, message.id)
    return True


async def _serve(server: MemberServices, session: Session, message: MemberRequest) -> None:
    if session.user is None:
        raise DomainError("auth_required", "Sign in first (login or auth)")
    me = session.user.user
    refusal = await server.read(_refusal, me.id, me.role, message.project)
    if refusal is not None:
        raise DomainError("forbidden", refusal)
    add = isinstance(message, AddMemberRequest)
    change: MembershipChange = await server.write(_change, message.project, message.username, add)
    action = "added" if add else "removed"
    log.info("event=member_%s project=%d user=%s by=%s", action, message.project, message.username, me.name)
    reply = MemberChanged(
        re=message.id, project=message.project, username=message.username, member=add, changed=change.changed
    )
    session.send(reply.model_dump_json())
    if add and change.changed:
        # After the commit, so the connection signing in again reads the membership. The requesting
        # connection has its answer; another of its user's (an admin adding themselves) is told.
        server.tell_added(change.user_id, message.project, change.project_name, session)
