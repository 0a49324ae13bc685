"""Requests about the account itself: sign-in (password or token), changing one's password and profile.

Every refused sign-in is logged at WARNING with the account and the address (``event=sign_in_failed``),
so administrators see guessing in the server log; lock-outs get their own line
(``event=sign_in_locked``). A wrong old password when changing it counts as a failed sign-in: a stolen
token must not become a way to guess the password.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from core.sync.protocol import (
    AuthOk,
    AuthRequest,
    ChangePasswordRequest,
    LoginOk,
    LoginRequest,
    OkReply,
    ProfileReply,
    RateLimits,
    UpdateProfileRequest,
)
from server import store

if TYPE_CHECKING:
    from server.services import ServerServices
    from server.session import Session

log = logging.getLogger("server.app")

MAX_FAILED_LOGINS = 5


def _refused(server: ServerServices, session: Session, username: str | None, request_id: str | None) -> bool:
    """Send the throttle's answer and return True when this attempt may not go ahead."""
    refusal = server.admission.sign_in_refusal(session.address, username)
    if refusal is None:
        return False
    method = "token" if username is None else "password"
    server.metrics.sign_in_failures.labels(method, "rate_limited").inc()
    log.warning(
        "event=sign_in_throttled user=%s address=%s retry_after_s=%.0f",
        username or "-",
        session.address,
        refusal.wait_s,
    )
    session.send_error("rate_limited", refusal.message, request_id, retry_after_s=round(refusal.wait_s, 1))
    return True


def _failed(server: ServerServices, session: Session, username: str | None, error: store.DomainError) -> None:
    method = "token" if username is None else "password"
    server.metrics.sign_in_failures.labels(method, error.code).inc()
    lock_s = server.admission.sign_in_failed(session.address, username)
    log.warning(
        "event=sign_in_failed method=%s user=%s address=%s code=%s",
        method,
        username or "-",
        session.address,
        error.code,
    )
    if lock_s > 0:
        log.warning(
            "event=sign_in_locked user=%s address=%s lock_s=%.0f", username or "-", session.address, lock_s
        )


async def authenticate(server: ServerServices, session: Session, message: LoginRequest | AuthRequest) -> None:
    if session.user is not None:
        session.send_error("bad_request", "Already signed in on this connection", message.id)
        return
    username = message.username if isinstance(message, LoginRequest) else None
    if _refused(server, session, username, message.id):
        return
    config = server.config
    limits = RateLimits(rate_per_s=config.rate_per_s, burst=config.rate_burst)
    try:
        if isinstance(message, LoginRequest):
            # scrypt takes ~50 ms of CPU (a reader thread); the token is a write (the writer).
            user = await server.read(store.check_login, message.username, message.password)
            issued, expires_at, projects = await server.write(store.issue_session, user, config.token_ttl_s)
            session.user = store.SessionUser(user, issued.token_hash)
            reply: LoginOk | AuthOk = LoginOk(
                re=message.id,
                server_id=server.server_id,
                token=issued.token,
                expires_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires_at)),
                user=user,
                projects=projects,
                limits=limits,
            )
            server.admission.sign_in_succeeded(message.username)
        else:
            session.user, projects = await server.read(store.authenticate, message.token)
            reply = AuthOk(
                re=message.id,
                server_id=server.server_id,
                user=session.user.user,
                projects=projects,
                limits=limits,
            )
    except store.DomainError as error:
        session.failed_logins += 1
        _failed(server, session, username, error)
        session.send_error(error.code, error.message, message.id)
        if session.failed_logins >= MAX_FAILED_LOGINS:
            session.close_soon("too many failed sign-ins")
        return
    # From now on the user's budget, shared by all of their connections.
    session.bucket = server.admission.user_bucket(session.user.user.id)
    server.metrics.sign_ins.labels("password" if username is not None else "token").inc()
    log.info("event=signed_in user=%s", session.user_name)
    session.send(reply.model_dump_json())


async def change_password(server: ServerServices, session: Session, message: ChangePasswordRequest) -> None:
    signed_in = session.user
    assert signed_in is not None
    name = signed_in.user.name
    if _refused(server, session, name, message.id):
        return
    try:
        new_hash = await server.read(
            store.new_password_hash, signed_in.user.id, message.old_password, message.new_password
        )
    except store.DomainError as error:
        if error.code == "auth_failed":
            _failed(server, session, name, error)
        session.send_error(error.code, error.message, message.id)
        return
    server.admission.sign_in_succeeded(name)
    await server.write(store.store_password, signed_in.user.id, new_hash, signed_in.token_hash)
    closed = server.close_user_sessions(signed_in.user.id, keep=signed_in.token_hash)
    log.info("event=password_changed user=%s other_sessions_closed=%d", name, closed)
    session.send(OkReply(re=message.id).model_dump_json())


async def update_profile(server: ServerServices, session: Session, message: UpdateProfileRequest) -> None:
    signed_in = session.user
    assert signed_in is not None
    user = await server.write(store.update_profile, signed_in.user.id, message.display_name, message.email)
    session.user = store.SessionUser(user, signed_in.token_hash)
    log.info("event=profile_updated user=%s", user.name)
    session.send(ProfileReply(re=message.id, user=user).model_dump_json())
