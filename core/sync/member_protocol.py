"""Messages for managing a project's members on the sync connection: ``add_member``/``remove_member``.

Kept apart from ``core.sync.protocol`` like the invitation messages: the server tries these only for a
message its main schema does not know (``server.member_requests``). Allowed to the project's owner,
its supervisors and admins (``core.sync.roles.member_management_refusal``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from core.sync.protocol import ErrorReply, Identifier

UserName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Request(_Model):
    v: Literal[1] = 1
    id: Identifier | None = None
    project: int
    username: UserName


class AddMemberRequest(_Request):
    type: Literal["add_member"] = "add_member"


class RemoveMemberRequest(_Request):
    type: Literal["remove_member"] = "remove_member"


MemberRequest = Annotated[AddMemberRequest | RemoveMemberRequest, Field(discriminator="type")]
MEMBER_REQUEST: TypeAdapter[MemberRequest] = TypeAdapter(MemberRequest)


class MemberChanged(_Model):
    """Answers both: whether ``username`` is now a member of ``project`` (``changed`` False when it
    already was, or already was not)."""

    v: Literal[1] = 1
    re: str | None = None
    type: Literal["member_changed"] = "member_changed"
    project: int
    username: str
    member: bool
    changed: bool


MemberReply = Annotated[ErrorReply | MemberChanged, Field(discriminator="type")]
MEMBER_REPLY: TypeAdapter[MemberReply] = TypeAdapter(MemberReply)
