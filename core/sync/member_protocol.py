"""Messages for managing a project's members on the sync connection: ``add_member``/``remove_member``.

Kept apart from ``core.sync.protocol`` like the invitation messages: the server tries these only for a
message its main schema does not know (``server.member_requests``). Allowed to the project's owner,
its supervisors and admins (``core.sync.roles.member_management_refusal``).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

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


PROJECTS_CHANGED: Final = "projects_changed"


class ProjectsChanged(_Model):
    """Told (no ``re``) to each open connection of a user just added to a project, which the server then
    closes: the project list comes with ``auth_ok``, so the client signs in again at once, quietly.

    An ``error`` with a code of its own, kept out of the main schema's codes (``ErrorCode``): a client
    that predates it cannot read it, logs a protocol error and, as after any connection the server
    closed, signs in again after its usual backoff, which brings it the new list as well.
    """

    v: Literal[1] = 1
    re: None = None
    type: Literal["error"] = "error"
    code: Literal["projects_changed"] = "projects_changed"
    message: str
    project: int


def read_projects_changed(raw: str | bytes) -> ProjectsChanged | None:
    """``raw`` as a ``projects_changed`` error, None when it is anything else."""
    try:
        return ProjectsChanged.model_validate_json(raw)
    except ValidationError:
        return None
