"""What the server does to its database besides applying changes: sign-in, token checks, reads for
subscriptions and catch-up, and the notification feed (changes: ``server.changes``).

All functions are synchronous and run on executor threads or inline on the loop for SQLite, so they
stay small.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from core.sync.protocol import ErrorCode, NotificationItem, ProjectInfo, UserInfo
from server.auth import (
    IssuedToken,
    burn_password_check,
    check_password_strength,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from server.db import events, memberships, notifications, projects, tokens, users

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A request the server refuses; ``code`` goes to the client as the error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


@dataclass(frozen=True)
class SessionUser:
    user: UserInfo
    token_hash: str


# ---------------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------------


def _user_info(row: Any, *, own: bool = False) -> UserInfo:
    """``own``: the record goes to the user it describes, who alone sees their email address."""
    email = row.email if own else ""
    return UserInfo(id=row.id, name=row.name, display_name=row.display_name, role=row.role, email=email)


_PROJECT_INFO_COLUMNS = (
    projects.c.id,
    projects.c.name,
    projects.c.head_seq,
    projects.c.deleted_at,
    projects.c.owner_id,
)


def member_projects(connection: Connection, user_id: int) -> list[ProjectInfo]:
    rows = connection.execute(
        sa.select(*_PROJECT_INFO_COLUMNS)
        .join(memberships, memberships.c.project_id == projects.c.id)
        .where(memberships.c.user_id == user_id)
        .order_by(projects.c.id)
    ).all()
    # A deleted project stays in the list, marked, so a client that missed its tombstone unlinks it.
    return [
        ProjectInfo(
            id=r.id, name=r.name, head_seq=r.head_seq, deleted=r.deleted_at is not None, owner=r.owner_id
        )
        for r in rows
    ]


def check_login(engine: Engine, username: str, password: str) -> UserInfo:
    """The user these credentials name (scrypt: about 50 ms of CPU, no write)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(users).where(users.c.name == username, users.c.removed == sa.false())
        ).one_or_none()
    if row is None:
        burn_password_check(password)
        raise DomainError("auth_failed", "Unknown user name or wrong password")
    if not verify_password(password, row.password_hash):
        raise DomainError("auth_failed", "Unknown user name or wrong password")
    if row.disabled:
        # Said only to someone who knows the password: it tells nobody else that the account exists.
        raise DomainError("auth_failed", "This account is disabled; ask an administrator")
    return _user_info(row, own=True)


def issue_session(
    engine: Engine, user: UserInfo, ttl_s: float
) -> tuple[IssuedToken, float, list[ProjectInfo]]:
    """A new token for a signed-in user (a write: it runs on the writer's connection)."""
    issued = new_token()
    now = time.time()
    with engine.begin() as connection:
        connection.execute(
            tokens.insert().values(
                token_hash=issued.token_hash, user_id=user.id, created_at=now, expires_at=now + ttl_s
            )
        )
        project_list = member_projects(connection, user.id)
    return issued, now + ttl_s, project_list


def token_problem(revoked: bool, expires_at: float, removed: bool) -> DomainError | None:
    # A disabled account needs no check here: disabling it revoked its tokens and it gets no new ones.
    if revoked or removed:
        return DomainError("token_revoked", "This sign-in was revoked; sign in again")
    if expires_at <= time.time():
        return DomainError("token_expired", "This sign-in has expired; sign in again")
    return None


def authenticate(engine: Engine, token: str) -> tuple[SessionUser, list[ProjectInfo]]:
    hashed = token_hash(token)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(users, tokens.c.revoked, tokens.c.expires_at)
            .join(tokens, tokens.c.user_id == users.c.id)
            .where(tokens.c.token_hash == hashed)
        ).one_or_none()
        if row is None:
            raise DomainError("auth_failed", "Unknown token; sign in again")
        problem = token_problem(row.revoked, row.expires_at, row.removed)
        if problem is not None:
            raise problem
        return SessionUser(_user_info(row, own=True), hashed), member_projects(connection, row.id)


@dataclass(frozen=True)
class AccessCheck:
    """What changed for one signed-in session since it subscribed."""

    token_problem: DomainError | None
    lost_projects: frozenset[int]


def check_access(engine: Engine, hashed: str, user_id: int, subscribed: frozenset[int]) -> AccessCheck:
    """Is this sign-in still valid, and which subscribed projects is the user no longer a member of?

    An administrator revokes tokens and removes members from another process (``stratopipe-server
    user|project ...``): open connections find out here, within the server's access-check interval.
    """
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(tokens.c.revoked, tokens.c.expires_at, users.c.removed)
            .join(users, users.c.id == tokens.c.user_id)
            .where(tokens.c.token_hash == hashed)
        ).one_or_none()
        if row is None:
            return AccessCheck(
                DomainError("token_revoked", "This sign-in was revoked; sign in again"), subscribed
            )
        problem = token_problem(row.revoked, row.expires_at, row.removed)
        if problem is not None or not subscribed:
            return AccessCheck(problem, subscribed if problem is not None else frozenset())
        still = connection.execute(
            sa.select(memberships.c.project_id).where(
                memberships.c.user_id == user_id, memberships.c.project_id.in_(sorted(subscribed))
            )
        ).scalars()
        return AccessCheck(None, subscribed - frozenset(int(p) for p in still))


def revoke_token(engine: Engine, hashed: str) -> None:
    with engine.begin() as connection:
        connection.execute(tokens.update().where(tokens.c.token_hash == hashed).values(revoked=True))


def new_password_hash(engine: Engine, user_id: int, old_password: str, new_password: str) -> str:
    """The hash to store for ``new_password`` once ``old_password`` is checked (two scrypt runs: on a
    reader thread, so the writer stores it without waiting for them)."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(users.c.name, users.c.password_hash).where(users.c.id == user_id)
        ).one()
    if not verify_password(old_password, row.password_hash):
        raise DomainError("auth_failed", "The current password is wrong")
    try:
        check_password_strength(new_password, row.name)
    except ValueError as exc:
        raise DomainError("invalid", str(exc)) from exc
    return hash_password(new_password)


def store_password(engine: Engine, user_id: int, password_hash: str, keep_token_hash: str) -> None:
    """Store a new password hash and revoke every sign-in of the user but the one that changed it."""
    with engine.begin() as connection:
        connection.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))
        connection.execute(
            tokens.update()
            .where(tokens.c.user_id == user_id, tokens.c.token_hash != keep_token_hash)
            .values(revoked=True)
        )


def update_profile(engine: Engine, user_id: int, display_name: str | None, email: str | None) -> UserInfo:
    values = {
        name: value for name, value in (("display_name", display_name), ("email", email)) if value is not None
    }
    with engine.begin() as connection:
        if values:
            connection.execute(users.update().where(users.c.id == user_id).values(**values))
        row = connection.execute(sa.select(users).where(users.c.id == user_id)).one()
    return _user_info(row, own=True)


def is_member(connection: Connection, user_id: int, project_id: int) -> bool:
    found = connection.execute(
        sa.select(memberships.c.user_id).where(
            memberships.c.project_id == project_id, memberships.c.user_id == user_id
        )
    ).first()
    return found is not None


def subscription_info(engine: Engine, user_id: int, project_id: int) -> tuple[ProjectInfo, list[UserInfo]]:
    with engine.connect() as connection:
        if not is_member(connection, user_id, project_id):
            raise DomainError("not_member", f"You are not a member of project {project_id}")
        project = connection.execute(
            sa.select(*_PROJECT_INFO_COLUMNS).where(projects.c.id == project_id)
        ).one()
        if project.deleted_at is not None:
            raise DomainError("not_found", f"Project {project_id} was deleted")
        member_rows = connection.execute(
            sa.select(users.c.id, users.c.name, users.c.display_name, users.c.role)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.project_id == project_id)
            .order_by(users.c.id)
        ).all()
    info = ProjectInfo(id=project.id, name=project.name, head_seq=project.head_seq, owner=project.owner_id)
    return info, [_user_info(r) for r in member_rows]


def read_events(engine: Engine, project_id: int, after_seq: int, limit: int) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(events.c.seq, events.c.payload)
            .where(events.c.project_id == project_id, events.c.seq > after_seq)
            .order_by(events.c.seq)
            .limit(limit)
        ).all()
    return [(int(r.seq), str(r.payload)) for r in rows]


def list_notifications(engine: Engine, user_id: int, since_id: int, limit: int) -> list[NotificationItem]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(notifications)
            .where(notifications.c.user_id == user_id, notifications.c.id > since_id)
            .order_by(notifications.c.id)
            .limit(limit)
        ).all()
    return [
        NotificationItem(
            id=r.id,
            project=r.project_id,
            kind=r.kind,
            seq=r.seq,
            actor=r.actor,
            record_id=r.record_id,
            created_at=r.created_at,
            read=r.read,
        )
        for r in rows
    ]


def mark_notifications_read(engine: Engine, user_id: int, ids: list[int]) -> None:
    with engine.begin() as connection:
        connection.execute(
            notifications.update()
            .where(notifications.c.user_id == user_id, notifications.c.id.in_(ids))
            .values(read=True)
        )


def project_heads(engine: Engine, project_ids: list[int]) -> dict[int, int]:
    """The newest sequence number of each project (what another server process may have written)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(projects.c.id, projects.c.head_seq).where(projects.c.id.in_(sorted(project_ids)))
        ).all()
    return {int(r.id): int(r.head_seq) for r in rows}
