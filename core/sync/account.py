"""The signed-in user's own account: changing the password, the profile (display name, email), and
signing out on the server. Used by the app (``workers.sync_bridge``) and by ``stratopipe sync``.

Each request is one short connection of its own: connect, ``auth`` with the stored token, the request,
close. The running sync connection is left alone, so a request never waits behind an outbox flush, and
the server's "other sessions" rule works for us: a password change revokes every other token of the
user, while the one used here (the one this computer keeps) stays signed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError

from core.sync.protocol import (
    AuthOk,
    AuthRequest,
    ChangePasswordRequest,
    LogoutRequest,
    OkReply,
    ProfileReply,
    ProjectInfo,
    UpdateProfileRequest,
    UserInfo,
)
from core.sync.sign_in import (
    ServerExchange,
    ServerRefusal,
    SignInFailure,
    exchange,
    refusal_in_words,
    server_connection,
)

if TYPE_CHECKING:
    import ssl

AccountAction = Literal["password", "profile", "logout"]
# Answers meaning the token itself is no longer accepted (the same set ``SyncClient`` treats so).
TOKEN_REFUSED = frozenset({"auth_failed", "token_expired", "token_revoked"})

DONE_MESSAGES: dict[AccountAction, str] = {
    "password": "Password changed. Your other sign-ins (other computers, scripts) were signed out; "
    "this one stays signed in.",
    "profile": "Profile saved.",
    "logout": "Signed out. The server no longer accepts this computer's sign-in.",
}


@dataclass(frozen=True)
class AccountChanged:
    action: AccountAction
    user: UserInfo  # the record as the server now has it
    projects: list[ProjectInfo]
    server_id: str
    message: str


class AccountRequest(ServerExchange[AccountChanged]):
    """One account request on a connection of its own, signed in with ``token``."""

    what = "The account request"

    def __init__(
        self,
        url: str,
        token: str,
        action: AccountAction,
        request: ChangePasswordRequest | UpdateProfileRequest | LogoutRequest,
        ca_file: str = "",
    ) -> None:
        super().__init__(url, ca_file)
        self.action = action
        self._token = token
        self._request = request
        self._signed_in = False

    async def _exchange(self, ssl_context: ssl.SSLContext | None) -> AccountChanged:
        async with server_connection(self.url, ssl_context) as ws:
            signed_in = await exchange(ws, AuthRequest(id="auth", token=self._token), AuthOk)
            self._signed_in = True
            user = signed_in.user
            if isinstance(self._request, UpdateProfileRequest):
                user = (await exchange(ws, self._request, ProfileReply)).user
            else:
                await exchange(ws, self._request, OkReply)
        return AccountChanged(
            self.action, user, signed_in.projects, signed_in.server_id, DONE_MESSAGES[self.action]
        )

    def _refusal_message(self, refusal: ServerRefusal) -> str:
        if not self._signed_in and refusal.code in TOKEN_REFUSED:
            return f"The server no longer accepts this sign-in ({refusal.message}): sign in again."
        if self.action == "password" and refusal.code == "auth_failed":
            return "The current password is wrong."
        return refusal_in_words(refusal)


def change_password(url: str, token: str, old: str, new: str, ca_file: str = "") -> AccountRequest:
    request = ChangePasswordRequest(id="password", old_password=old, new_password=new)
    return AccountRequest(url, token, "password", request, ca_file)


def update_profile(
    url: str, token: str, display_name: str | None, email: str | None, ca_file: str = ""
) -> AccountRequest:
    """A field given as None is left as the server has it. A field the server would refuse raises
    ``ValueError`` in words before anything is sent."""
    try:
        request = UpdateProfileRequest(id="profile", display_name=display_name, email=email)
    except ValidationError as exc:
        fields = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        if "email" in fields:
            raise ValueError("Enter an email address such as ana@studio.com, or leave it empty") from None
        raise ValueError("Enter a display name (at most 200 characters)") from None
    return AccountRequest(url, token, "profile", request, ca_file)


def sign_out(url: str, token: str, ca_file: str = "") -> AccountRequest:
    return AccountRequest(url, token, "logout", LogoutRequest(id="logout"), ca_file)


def sign_out_result(outcome: AccountChanged | SignInFailure) -> tuple[bool, str]:
    """(whether the server no longer accepts the token, words for the user) after signing out; the
    token has been forgotten on this computer either way."""
    if isinstance(outcome, AccountChanged):
        return True, outcome.message
    if outcome.code in TOKEN_REFUSED:
        return True, "Signed out. The server had already ended this sign-in."
    return False, (
        f"Signed out on this computer only ({outcome.message.rstrip('.')}). The server still accepts "
        "this sign-in until it expires."
    )
