"""Invitations and password resets from the client's side: redeeming a code (no sign-in needed; it
signs in, like a password), and, for admins and leads, issuing one. Each is one short connection
(``core.sync.sign_in.ServerExchange``): run it on a worker thread or from the CLI."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from core.sync.invitation_protocol import (
    CODE_REPLY,
    CodeIssued,
    CreateInvitationRequest,
    RedeemInvitationRequest,
    RedeemResetRequest,
    ResetPasswordRequest,
)
from core.sync.protocol import AuthOk, AuthRequest, ErrorReply, LoginOk
from core.sync.sign_in import (
    REPLY_TIMEOUT_S,
    LoginResult,
    ServerExchange,
    ServerRefusal,
    SignInAttempt,
    exchange,
    refusal_in_words,
    server_connection,
)

if TYPE_CHECKING:
    import ssl

    from websockets.asyncio.client import ClientConnection


async def _code_exchange(ws: ClientConnection, request: Any, expected: type[Any]) -> Any:
    await ws.send(request.model_dump_json())
    reply = CODE_REPLY.validate_json(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
    if isinstance(reply, ErrorReply):
        raise ServerRefusal(reply)
    if not isinstance(reply, expected):
        raise ServerRefusal(ErrorReply(code="internal", message=f"Unexpected reply {reply.type!r}"))
    return reply


class CodeRedemption(SignInAttempt):
    """Create the invited account, or set a new password with a reset code; it signs in either way,
    so the app's sign-in path takes it where it takes a password sign-in."""

    what = "Redeeming the code"

    def __init__(
        self, url: str, request: RedeemInvitationRequest | RedeemResetRequest, ca_file: str = ""
    ) -> None:
        super().__init__(url, request.username, "", ca_file)
        self._request = request

    async def _exchange(self, ssl_context: ssl.SSLContext | None) -> LoginResult:
        async with server_connection(self.url, ssl_context) as ws:
            reply: LoginOk = await _code_exchange(ws, self._request, LoginOk)
        return LoginResult(reply.token, reply.expires_at, reply.user, reply.projects, reply.server_id)

    def _refusal_message(self, refusal: ServerRefusal) -> str:
        if refusal.code == "invalid" and "password" in refusal.message.lower():
            return f"Choose another password: {refusal.message}"
        return refusal_in_words(refusal)


class CodeIssue(ServerExchange[CodeIssued]):
    """An admin or lead asks for an invitation or a reset code, signed in with ``token``."""

    what = "The request"

    def __init__(
        self, url: str, token: str, request: CreateInvitationRequest | ResetPasswordRequest, ca_file: str = ""
    ) -> None:
        super().__init__(url, ca_file)
        self._token = token
        self._request = request

    async def _exchange(self, ssl_context: ssl.SSLContext | None) -> CodeIssued:
        async with server_connection(self.url, ssl_context) as ws:
            await exchange(ws, AuthRequest(id="auth", token=self._token), AuthOk)
            reply: CodeIssued = await _code_exchange(ws, self._request, CodeIssued)
        return reply


def redeem_invitation(
    url: str,
    code: str,
    username: str,
    password: str,
    display_name: str = "",
    email: str = "",
    ca_file: str = "",
) -> CodeRedemption:
    request = RedeemInvitationRequest(
        id="redeem",
        code=code.strip(),
        username=username,
        password=password,
        display_name=display_name or None,
        email=email,
    )
    return CodeRedemption(url, request, ca_file)


def redeem_reset(url: str, username: str, code: str, new_password: str, ca_file: str = "") -> CodeRedemption:
    request = RedeemResetRequest(id="reset", username=username, code=code.strip(), new_password=new_password)
    return CodeRedemption(url, request, ca_file)


def create_invitation(
    url: str, token: str, role: str, project: int | None, days: float = 7.0, ca_file: str = ""
) -> CodeIssue:
    request = CreateInvitationRequest.model_validate(
        {"id": "invite", "role": role, "project": project, "expires_in_s": days * 24 * 3600.0}
    )
    return CodeIssue(url, token, request, ca_file)


def reset_password(url: str, token: str, username: str, ca_file: str = "") -> CodeIssue:
    return CodeIssue(url, token, ResetPasswordRequest(id="reset", username=username), ca_file)
