"""Account and project administration: what the ``user`` and ``project`` CLI commands do.

Plain synchronous functions over an engine, safe to run while a server uses the same SQLite file (WAL).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from core.sync.json_shape import raw_members
from core.sync.protocol import EMAIL_PATTERN, ROLES, USER_NAME_PATTERN, ProjectInfo, Role, UserInfo
from core.sync.records import record_from_row
from server.auth import IssuedToken, check_password_strength, hash_password, new_token
from server.db import assets, comments, events, memberships, projects, tasks, tokens, users
from server.event_json import event_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

DEFAULT_TOKEN_TTL_S = 30 * 24 * 3600.0


class AdminError(Exception):
    """A refused administrative action, with a message meant for the operator."""


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _user_row(connection: Connection, name: str) -> Any:
    row = connection.execute(
        sa.select(users.c.id, users.c.role, users.c.removed).where(users.c.name == name)
    ).one_or_none()
    if row is None or row.removed:
        raise AdminError(f"No user named {name!r}")
    return row


def _project_id(connection: Connection, name: str) -> int:
    project_id = connection.execute(
        sa.select(projects.c.id).where(projects.c.name == name)
    ).scalar_one_or_none()
    if project_id is None:
        raise AdminError(f"No project named {name!r}")
    return int(project_id)


def project_id(engine: Engine, name: str) -> int:
    with engine.connect() as connection:
        return _project_id(connection, name)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AdminError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}")


def _check_email(email: str) -> None:
    if len(email) > 254 or not re.match(EMAIL_PATTERN, email):
        raise AdminError(f"{email!r} is not an email address")


def add_user(
    engine: Engine, name: str, role: Role, password: str, display_name: str = "", email: str = ""
) -> int:
    if not re.match(USER_NAME_PATTERN, name):
        raise AdminError("User names use letters, digits, '.', '_' or '-' (at most 64)")
    _check_role(role)
    _check_email(email)
    try:
        check_password_strength(password, name)
    except ValueError as exc:
        raise AdminError(str(exc)) from exc
    with engine.begin() as connection:
        if connection.execute(sa.select(users.c.id).where(users.c.name == name)).first():
            raise AdminError(f"A user named {name!r} already exists (or existed)")
        result = connection.execute(
            users.insert().values(
                name=name,
                display_name=display_name or name,
                email=email,
                role=role,
                password_hash=hash_password(password),
                created_at=utc_now_iso(),
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def revoke_user_tokens(connection: Connection, user_id: int) -> int:
    result = connection.execute(tokens.update().where(tokens.c.user_id == user_id).values(revoked=True))
    return int(result.rowcount)


def set_password(engine: Engine, name: str, password: str) -> None:
    """Change a password and sign the user out everywhere."""
    try:
        check_password_strength(password, name)
    except ValueError as exc:
        raise AdminError(str(exc)) from exc
    with engine.begin() as connection:
        user_id = _user_row(connection, name).id
        connection.execute(
            users.update().where(users.c.id == user_id).values(password_hash=hash_password(password))
        )
        revoke_user_tokens(connection, user_id)


def remove_user(engine: Engine, name: str) -> None:
    """Disable an account: its tokens and memberships go, its past comments and tasks stay."""
    with engine.begin() as connection:
        user_id = _user_row(connection, name).id
        connection.execute(users.update().where(users.c.id == user_id).values(removed=True))
        connection.execute(memberships.delete().where(memberships.c.user_id == user_id))
        revoke_user_tokens(connection, user_id)


def set_role(engine: Engine, name: str, role: Role) -> None:
    """A session keeps the role it signed in with, so the user's sign-ins are revoked: their apps
    sign in again and get the new role (a lowered role must not go on writing under the old one)."""
    _check_role(role)
    with engine.begin() as connection:
        user_id = _user_row(connection, name).id
        connection.execute(users.update().where(users.c.id == user_id).values(role=role))
        revoke_user_tokens(connection, user_id)


def set_disabled(engine: Engine, name: str, disabled: bool) -> None:
    """Disable (sign out everywhere, refuse sign-ins) or enable an account; memberships are kept."""
    with engine.begin() as connection:
        user_id = _user_row(connection, name).id
        connection.execute(users.update().where(users.c.id == user_id).values(disabled=disabled))
        if disabled:
            revoke_user_tokens(connection, user_id)


def set_profile(engine: Engine, name: str, display_name: str | None, email: str | None) -> None:
    values: dict[str, str] = {}
    if display_name is not None:
        if not display_name.strip() or len(display_name) > 200:
            raise AdminError("Display names need 1 to 200 characters")
        values["display_name"] = display_name
    if email is not None:
        _check_email(email)
        values["email"] = email
    with engine.begin() as connection:
        user_id = _user_row(connection, name).id
        if values:
            connection.execute(users.update().where(users.c.id == user_id).values(**values))


@dataclass(frozen=True)
class UserListing:
    """A user as an administrator sees them (``user list``)."""

    user: UserInfo
    disabled: bool


def list_users(engine: Engine) -> list[UserListing]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(users).where(users.c.removed == sa.false()).order_by(users.c.name)
        ).all()
    return [
        UserListing(
            UserInfo(id=r.id, name=r.name, display_name=r.display_name, role=r.role, email=r.email),
            r.disabled,
        )
        for r in rows
    ]


def add_project(engine: Engine, name: str, owner: str | None = None) -> int:
    name = name.strip()
    if not name or len(name) > 200:
        raise AdminError("Project names need 1 to 200 characters")
    with engine.begin() as connection:
        if connection.execute(sa.select(projects.c.id).where(projects.c.name == name)).first():
            raise AdminError(f"A project named {name!r} already exists")
        result = connection.execute(projects.insert().values(name=name, created_at=utc_now_iso()))
        project_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        if owner is not None:
            _set_owner(connection, project_id, owner)
        return project_id


def _set_owner(connection: Connection, project_id: int, owner: str) -> None:
    """Make ``owner`` the project's owner, and a member of it if they are not yet."""
    user_id = _user_row(connection, owner).id
    connection.execute(projects.update().where(projects.c.id == project_id).values(owner_id=user_id))
    member = sa.select(memberships.c.user_id).where(
        memberships.c.project_id == project_id, memberships.c.user_id == user_id
    )
    if connection.execute(member).first() is None:
        connection.execute(memberships.insert().values(project_id=project_id, user_id=user_id))


def set_owner(engine: Engine, project: str, owner: str) -> None:
    with engine.begin() as connection:
        _set_owner(connection, _project_id(connection, project), owner)


def list_projects(engine: Engine) -> list[ProjectInfo]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(projects.c.id, projects.c.name, projects.c.head_seq, projects.c.owner_id).order_by(
                projects.c.name
            )
        ).all()
    return [ProjectInfo(id=r.id, name=r.name, head_seq=r.head_seq, owner=r.owner_id) for r in rows]


def add_member(engine: Engine, project: str, user: str) -> None:
    with engine.begin() as connection:
        project_id = _project_id(connection, project)
        user_id = _user_row(connection, user).id
        exists = connection.execute(
            sa.select(memberships.c.user_id).where(
                memberships.c.project_id == project_id, memberships.c.user_id == user_id
            )
        ).first()
        if exists is None:
            connection.execute(memberships.insert().values(project_id=project_id, user_id=user_id))


def remove_member(engine: Engine, project: str, user: str) -> None:
    with engine.begin() as connection:
        project_id = _project_id(connection, project)
        user_id = _user_row(connection, user).id
        result = connection.execute(
            memberships.delete().where(
                memberships.c.project_id == project_id, memberships.c.user_id == user_id
            )
        )
        if result.rowcount == 0:
            raise AdminError(f"{user!r} is not a member of {project!r}")


def issue_token(engine: Engine, user_id: int, ttl_s: float = DEFAULT_TOKEN_TTL_S) -> IssuedToken:
    issued = new_token()
    now = time.time()
    with engine.begin() as connection:
        connection.execute(
            tokens.insert().values(
                token_hash=issued.token_hash, user_id=user_id, created_at=now, expires_at=now + ttl_s
            )
        )
    return issued


# What a redacted event's record keeps: its identity and place, none of its content. Column values, so
# the stored (possibly unreadable) JSON columns are replaced before anything decodes them.
_REDACTED_COLUMNS: dict[str, dict[str, Any]] = {
    "comment": {"body": "", "annotation": None, "deleted": True},
    "asset": {"metadata": "{}", "thumbnail_b64": None},
    "task": {"description": ""},
}
_RECORD_TABLES = {"comment": comments, "asset": assets, "task": tasks}


def redact_event(engine: Engine, project: str, seq: int) -> str:
    """Replace the content of event ``seq`` of ``project`` (one no client can read, or one that must
    go) with an empty record of the same id and version, for every client that reads it from now on.
    The current row loses the content too when this event made it. Returns what was redacted.

    The stored event is read without parsing it whole (it may be nested too deep for any parser)."""
    with engine.begin() as connection:
        project_id = _project_id(connection, project)
        row = connection.execute(
            sa.select(events).where(events.c.project_id == project_id, events.c.seq == seq)
        ).one_or_none()
        if row is None:
            raise AdminError(f"Project {project!r} has no event {seq}")
        try:
            stored = raw_members(row.payload)
            kind = json.loads(stored["kind"])
            record = raw_members(stored["record"])
            record_id, version = json.loads(record["id"]), int(json.loads(record["version"]))
        except (ValueError, KeyError, IndexError) as exc:
            raise AdminError(f"Event {seq} is too damaged to redact: {exc}") from exc
        table = _RECORD_TABLES[kind]
        current = connection.execute(sa.select(table).where(table.c.id == record_id)).one_or_none()
        if current is None:
            raise AdminError(f"Event {seq} names {kind} {record_id}, which is not stored")
        blank = _REDACTED_COLUMNS[kind]
        tombstone = record_from_row(kind, {**current._asdict(), **blank, "version": version})
        payload = event_json(
            seq=seq,
            project=project_id,
            change_id=row.change_id,
            op=row.op,
            kind=kind,
            actor=row.actor,
            at=json.loads(stored["at"]),
            record=tombstone,
            notify=[],
            conflicts=[],
        )
        connection.execute(
            events.update()
            .where(events.c.project_id == project_id, events.c.seq == seq)
            .values(payload=payload)
        )
        if current.version == version:
            connection.execute(table.update().where(table.c.id == record_id).values(**blank))
    return f"{kind} {record_id}"
