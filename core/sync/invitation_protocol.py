"""Messages for one-time codes on the sync connection: invitations and password resets.

Kept apart from ``core.sync.protocol`` (the hot path's schemas): the server tries these only for a
message the main schema does not know (``server.invitations_requests``), so they cost changes nothing.
Redeeming a code needs no sign-in and answers like a password sign-in (``login_ok``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from core.sync.protocol import (
    EMAIL_PATTERN,
    MAX_PASSWORD_CHARS,
    ErrorReply,
    Identifier,
    LoginOk,
    Name,
    Role,
)

Code = Annotated[str, StringConstraints(min_length=8, max_length=128)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_CHARS)]
MAX_INVITATION_DAYS = 30


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Request(_Model):
    v: Literal[1] = 1
    id: Identifier | None = None


class CreateInvitationRequest(_Request):
    """An admin, or a supervisor for a project they are a member of, invites someone."""

    type: Literal["create_invitation"] = "create_invitation"
    role: Role = "artist"
    project: int | None = None
    expires_in_s: float = Field(default=7 * 24 * 3600.0, gt=0, le=MAX_INVITATION_DAYS * 24 * 3600.0)


class RedeemInvitationRequest(_Request):
    type: Literal["redeem_invitation"] = "redeem_invitation"
    code: Code
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Password
    display_name: Name | None = None
    email: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)] = ""


class ResetPasswordRequest(_Request):
    """An admin resets someone's password: their sign-ins end, the old password stops working, and a
    one-time code lets them choose a new one."""

    type: Literal["reset_password"] = "reset_password"
    username: Annotated[str, StringConstraints(max_length=64)]
    expires_in_s: float = Field(default=3 * 24 * 3600.0, gt=0, le=MAX_INVITATION_DAYS * 24 * 3600.0)


class RedeemResetRequest(_Request):
    type: Literal["redeem_reset"] = "redeem_reset"
    username: Annotated[str, StringConstraints(max_length=64)]
    code: Code
    new_password: Password


CodeRequest = Annotated[
    CreateInvitationRequest | RedeemInvitationRequest | ResetPasswordRequest | RedeemResetRequest,
    Field(discriminator="type"),
]
CODE_REQUEST: TypeAdapter[CodeRequest] = TypeAdapter(CodeRequest)


class CodeIssued(_Model):
    """Answers ``create_invitation`` and ``reset_password``: the code, shown once (only its hash is
    stored), for the person to pass on."""

    v: Literal[1] = 1
    re: str | None = None
    type: Literal["code_issued"] = "code_issued"
    kind: Literal["invitation", "reset"]
    code: str
    expires_at: str
    role: str = ""
    project: int | None = None
    username: str = ""


CodeReply = Annotated[ErrorReply | LoginOk | CodeIssued, Field(discriminator="type")]
CODE_REPLY: TypeAdapter[CodeReply] = TypeAdapter(CodeReply)
