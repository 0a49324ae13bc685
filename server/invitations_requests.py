"""Requests with one-time codes on the sync connection: creating and redeeming invitations, resetting
a password and choosing a new one with the reset code.

``SyncServer`` hands over any text message its main schema does not know (``handle``): these are tried
then, so they add nothing to the hot path. Redeeming needs no sign-in and is throttled like a password
sign-in (per account name and per address); it answers ``login_ok`` with a new token.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from pydantic import ValidationError

from core.sync import roles
from core.sync.invitation_protocol import (
    CODE_REQUEST,
    CodeIssued,
    CreateInvitationRequest,
    RedeemInvitationRequest,
    RedeemResetRequest,
    ResetPasswordRequest,
)
from core.sync.protocol import LoginOk, RateLimits, UserInfo
from server import invitations, store
from server.admin import AdminError

if TYPE_CHECKING:
    from server.services import ServerServices
    from server.session import Session

log = logging.getLogger("server.app")


def _stamp(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


async def handle(server: ServerServices, session: Session, raw: str) -> bool:
    """Serve ``raw`` when it is one of these requests; False when it is not (the caller refuses it)."""
    try:
        message = CODE_REQUEST.validate_json(raw)
    except ValidationError:
        return False
    try:
        if isinstance(message, RedeemInvitationRequest | RedeemResetRequest):
            await _redeem(server, session, message)
        elif session.user is None:
            session.send_error("auth_required", "Sign in first (login or auth)", message.id)
        elif isinstance(message, CreateInvitationRequest):
            await _create_invitation(server, session, message)
        else:
            await _reset_password(server, session, message)
    except store.DomainError as error:
        session.send_error(error.code, error.message, message.id)
    return True


async def _create_invitation(
    server: ServerServices, session: Session, message: CreateInvitationRequest
) -> None:
    assert session.user is not None
    inviter = session.user.user
    refusal = roles.may_invite(inviter.role, message.role)
    if refusal is None and inviter.role != "admin":
        # A lead invites into a project they run, never into the studio at large.
        if message.project is None:
            refusal = "Supervisors invite people into a project: name the project"
        elif not await server.read(invitations.is_member, inviter.id, message.project):
            refusal = f"You are not a member of project {message.project}"
    if refusal is not None:
        raise store.DomainError("forbidden", refusal)
    code, expires_at = await server.write(
        invitations.create_invitation, message.role, message.project, inviter.id, message.expires_in_s
    )
    log.info(
        "event=invitation_created by=%s role=%s project=%s expires=%s",
        inviter.name,
        message.role,
        message.project,
        _stamp(expires_at),
    )
    reply = CodeIssued(
        re=message.id,
        kind="invitation",
        code=code,
        expires_at=_stamp(expires_at),
        role=message.role,
        project=message.project,
    )
    session.send(reply.model_dump_json())


async def _reset_password(server: ServerServices, session: Session, message: ResetPasswordRequest) -> None:
    assert session.user is not None
    admin_user = session.user.user
    refusal = roles.refusal(admin_user.role, "reset_password")
    if refusal is not None:
        raise store.DomainError("forbidden", refusal)
    try:
        code, expires_at, user_id = await server.write(
            invitations.reset_password, message.username, admin_user.id, message.expires_in_s
        )
    except AdminError as exc:
        raise store.DomainError("not_found", str(exc)) from exc
    closed = server.close_user_sessions(user_id, keep="")
    log.warning(
        "event=password_reset user=%s by=%s sessions_closed=%d", message.username, admin_user.name, closed
    )
    reply = CodeIssued(
        re=message.id, kind="reset", code=code, expires_at=_stamp(expires_at), username=message.username
    )
    session.send(reply.model_dump_json())


async def _redeem(
    server: ServerServices, session: Session, message: RedeemInvitationRequest | RedeemResetRequest
) -> None:
    if session.user is not None:
        raise store.DomainError("bad_request", "Already signed in on this connection")
    refusal = server.admission.sign_in_refusal(session.address, message.username)
    if refusal is not None:
        session.send_error(
            "rate_limited", refusal.message, message.id, retry_after_s=round(refusal.wait_s, 1)
        )
        return
    try:
        if isinstance(message, RedeemInvitationRequest):
            password_hash = await server.read(
                invitations.check_new_account, message.username, message.password
            )
            user: UserInfo = await server.write(
                invitations.redeem_invitation,
                message.code,
                message.username,
                password_hash,
                message.display_name or "",
                message.email,
            )
        else:
            password_hash = await server.read(
                invitations.check_new_account, message.username, message.new_password
            )
            user = await server.write(invitations.redeem_reset, message.username, message.code, password_hash)
    except store.DomainError as error:
        if error.code in ("auth_failed", "expired"):
            server.admission.sign_in_failed(session.address, message.username)
            log.warning(
                "event=sign_in_failed method=%s user=%s address=%s code=%s",
                message.type,
                message.username,
                session.address,
                error.code,
            )
        raise
    issued, expires_at, project_list = await server.write(
        store.issue_session, user, server.config.token_ttl_s
    )
    session.user = store.SessionUser(user, issued.token_hash)
    session.bucket = server.admission.user_bucket(user.id)
    server.admission.sign_in_succeeded(message.username)
    server.metrics.sign_ins.labels(message.type).inc()
    log.info("event=signed_in user=%s method=%s", user.name, message.type)
    config = server.config
    reply = LoginOk(
        re=message.id,
        server_id=server.server_id,
        token=issued.token,
        expires_at=_stamp(expires_at),
        user=user,
        projects=project_list,
        limits=RateLimits(rate_per_s=config.rate_per_s, burst=config.rate_burst),
    )
    session.send(reply.model_dump_json())
