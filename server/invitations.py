"""One-time codes in the database: invitations that create an account, password resets.

A code is shown once and stored as its SHA-256 (like sign-in tokens). Redeeming one is a single
transaction that marks it used, so two people racing with the same code cannot both get in; an
expired or used code says which, with the date, so the person knows to ask for a new one.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from core.sync.protocol import USER_NAME_PATTERN, UserInfo
from server.admin import AdminError, revoke_user_tokens, utc_now_iso
from server.auth import check_password_strength, hash_password, token_hash
from server.db import invitations, memberships, password_resets, projects, users
from server.store import DomainError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

# Stored in place of a reset account's password hash: no password matches it (not a scrypt hash).
RESET_PASSWORD_HASH = "reset$"


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _new_code() -> tuple[str, str]:
    code = secrets.token_urlsafe(24)
    return code, token_hash(code)


def create_invitation(
    engine: Engine, role: str, project_id: int | None, created_by: int | None, ttl_s: float
) -> tuple[str, float]:
    """A new invitation code and when it expires."""
    code, hashed = _new_code()
    now = time.time()
    with engine.begin() as connection:
        if project_id is not None:
            exists = connection.execute(sa.select(projects.c.id).where(projects.c.id == project_id)).first()
            if exists is None:
                raise DomainError("not_found", f"No project {project_id}")
        connection.execute(
            invitations.insert().values(
                code_hash=hashed,
                role=role,
                project_id=project_id,
                created_by=created_by,
                created_at=now,
                expires_at=now + ttl_s,
            )
        )
    return code, now + ttl_s


def is_member(engine: Engine, user_id: int, project_id: int) -> bool:
    with engine.connect() as connection:
        return (
            connection.execute(
                sa.select(memberships.c.user_id).where(
                    memberships.c.user_id == user_id, memberships.c.project_id == project_id
                )
            ).first()
            is not None
        )


def _usable(used_at: float | None, expires_at: float, what: str) -> None:
    if used_at is not None:
        raise DomainError("expired", f"This {what} was already used on {when(used_at)}; ask for a new one")
    if expires_at <= time.time():
        raise DomainError("expired", f"This {what} expired on {when(expires_at)}; ask for a new one")


def check_new_account(_engine: Engine, username: str, password: str) -> str:
    """The password's hash once the name and password are acceptable (scrypt: run on a reader thread,
    hence the engine it does not use)."""
    if not re.match(USER_NAME_PATTERN, username):
        raise DomainError("invalid", "User names use letters, digits, '.', '_' or '-' (at most 64)")
    try:
        check_password_strength(password, username)
    except ValueError as exc:
        raise DomainError("invalid", str(exc)) from exc
    return hash_password(password)


def redeem_invitation(
    engine: Engine, code: str, username: str, password_hash: str, display_name: str, email: str
) -> UserInfo:
    """Create the invited account (and its membership) and use up the code, in one transaction."""
    now = time.time()
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(invitations).where(invitations.c.code_hash == token_hash(code))
        ).one_or_none()
        if row is None:
            raise DomainError("auth_failed", "Unknown invitation code; check it or ask for a new one")
        _usable(row.used_at, row.expires_at, "invitation")
        if connection.execute(sa.select(users.c.id).where(users.c.name == username)).first():
            raise DomainError("invalid", f"The user name {username!r} is taken; choose another")
        user_id = int(
            connection.execute(
                users.insert().values(
                    name=username,
                    display_name=display_name or username,
                    email=email,
                    role=row.role,
                    password_hash=password_hash,
                    created_at=utc_now_iso(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        if row.project_id is not None:
            connection.execute(memberships.insert().values(project_id=row.project_id, user_id=user_id))
        connection.execute(
            invitations.update()
            .where(invitations.c.code_hash == row.code_hash)
            .values(used_at=now, used_by=user_id)
        )
    return UserInfo(
        id=user_id, name=username, display_name=display_name or username, role=row.role, email=email
    )


def _user_id(connection: Connection, username: str) -> int:
    found = connection.execute(
        sa.select(users.c.id).where(users.c.name == username, users.c.removed == sa.false())
    ).scalar_one_or_none()
    if found is None:
        raise AdminError(f"No user named {username!r}")
    return int(found)


def reset_password(
    engine: Engine, username: str, created_by: int | None, ttl_s: float
) -> tuple[str, float, int]:
    """Sign the user out everywhere, make the old password useless, and return a one-time code for
    choosing a new one (with its expiry and the user's id)."""
    code, hashed = _new_code()
    expires_at = time.time() + ttl_s
    with engine.begin() as connection:
        user_id = _user_id(connection, username)
        connection.execute(
            users.update().where(users.c.id == user_id).values(password_hash=RESET_PASSWORD_HASH)
        )
        revoke_user_tokens(connection, user_id)
        connection.execute(password_resets.delete().where(password_resets.c.user_id == user_id))
        connection.execute(
            password_resets.insert().values(
                user_id=user_id, code_hash=hashed, created_by=created_by, expires_at=expires_at
            )
        )
    return code, expires_at, user_id


def redeem_reset(engine: Engine, username: str, code: str, password_hash: str) -> UserInfo:
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(users, password_resets.c.code_hash, password_resets.c.expires_at)
            .join(password_resets, password_resets.c.user_id == users.c.id)
            .where(users.c.name == username, users.c.removed == sa.false())
        ).one_or_none()
        if row is None or not secrets.compare_digest(row.code_hash, token_hash(code)):
            raise DomainError("auth_failed", "Unknown user name or reset code")
        _usable(None, row.expires_at, "reset code")
        if row.disabled:
            raise DomainError("auth_failed", "This account is disabled; ask an administrator")
        connection.execute(users.update().where(users.c.id == row.id).values(password_hash=password_hash))
        connection.execute(password_resets.delete().where(password_resets.c.user_id == row.id))
    return UserInfo(id=row.id, name=row.name, display_name=row.display_name, role=row.role, email=row.email)
