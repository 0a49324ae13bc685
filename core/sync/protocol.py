"""The StratoPipe sync protocol (version 1): JSON messages over one WebSocket.

Shared by the server and the client so both validate exactly the same schemas. ``docs/protocol.md``
describes the conversation; this module is the executable definition. Every message is a JSON object
``{"v": 1, "type": ..., "id": ...}``; replies name the request they answer in ``re``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_serializer,
    model_validator,
)

from core.sync.json_shape import shape_problem

PROTOCOL_VERSION: Literal[1] = 1
MAX_MESSAGE_BYTES = 256 * 1024
MAX_THUMBNAIL_B64_CHARS = 64 * 1024
EVENT_PAGE_SIZE = 500
MAX_COMMENT_CHARS = 20_000
# Free-form JSON (annotations, asset metadata) is bounded so that every event stays readable by every
# client: pydantic's JSON parser refuses documents nested deeper than 200 levels, and an event sits a
# few levels down inside a page. A drawing is two levels of lists under its strokes.
MAX_JSON_DEPTH = 8
MAX_JSON_VALUES = 20_000
MAX_JSON_STRING_CHARS = 4_096
MAX_ANNOTATION_STROKES = 200
MAX_POINTS_PER_STROKE = 2_000

Role = Literal["admin", "supervisor", "artist", "client"]
ROLES: tuple[Role, ...] = ("admin", "supervisor", "artist", "client")
TaskStatus = Literal["open", "in_progress", "review", "completed"]
# An asset's sign-off: the status of the content it has now (its content hash is the version judged).
ReviewStatus = Literal["pending", "approved", "changes_requested"]
RecordKind = Literal["asset", "comment", "task", "playlist", "project"]
NotificationKind = Literal[
    "mention", "task_assigned", "comment_on_your_asset", "review_approved", "review_changes_requested"
]

ErrorCode = Literal[
    "bad_request",  # not JSON, unknown type, schema violation
    "unsupported_version",
    "too_large",
    "rate_limited",
    "auth_required",  # a request other than login/auth on an unauthenticated socket
    "auth_failed",  # wrong user name or password, unknown token
    "token_expired",
    "token_revoked",
    "forbidden",  # role does not allow it, or not the author
    "not_member",  # project exists but the user is not a member (or it does not exist)
    "not_found",
    "invalid",  # well-formed but refers to something impossible (assignee not a member, ...)
    "duplicate_id",  # a change id reused for a different change
    "quota_exceeded",  # a publish that would take the project past its media quota (nothing stored)
    "corrupt",  # a media chunk or file whose bytes do not match its sha256
    "expired",  # an invitation or reset code past its expiry, or already used
    "internal",
]

# Errors after which re-sending the same change can never succeed: the client drops it from its outbox
# and tells the user. Anything else (rate limits, restarts) is retried.
PERMANENT_ERRORS: frozenset[str] = frozenset(
    {"bad_request", "forbidden", "not_member", "not_found", "invalid", "duplicate_id", "too_large"}
)

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
MENTION_PATTERN = re.compile(r"(?<![\w@])@([A-Za-z0-9_.-]+)")
USER_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# Enough to catch a typo (no "@", a space); whether the address exists is the mail server's business.
EMAIL_PATTERN = r"^$|^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
MAX_PASSWORD_CHARS = 1024


def _bounded_json(value: Any) -> Any:
    problem = shape_problem(
        value, max_depth=MAX_JSON_DEPTH, max_nodes=MAX_JSON_VALUES, max_string_chars=MAX_JSON_STRING_CHARS
    )
    if problem is not None:
        raise ValueError(f"the value {problem}")
    return value


def _annotation_shape(value: Any) -> Any:
    """A drawing's strokes are counted too: within the generic bounds an annotation could still hold
    far more points than any viewer draws."""
    strokes = value.get("strokes") if isinstance(value, dict) else None
    if strokes is None:
        return value
    if not isinstance(strokes, list) or len(strokes) > MAX_ANNOTATION_STROKES:
        raise ValueError(f"strokes must be a list of at most {MAX_ANNOTATION_STROKES}")
    for stroke in strokes:
        points = stroke.get("points") if isinstance(stroke, dict) else None
        if not isinstance(points, list) or len(points) > MAX_POINTS_PER_STROKE:
            raise ValueError(f"each stroke needs a list of at most {MAX_POINTS_PER_STROKE} points")
        if not all(
            isinstance(point, list)
            and len(point) == 2
            and all(isinstance(c, int | float) and not isinstance(c, bool) for c in point)
            for point in points
        ):
            raise ValueError("a point is a list of two numbers")
    return value


BoundedJson = Annotated[Any, AfterValidator(_bounded_json)]
Annotation = Annotated[Any, AfterValidator(_bounded_json), AfterValidator(_annotation_shape)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Message(_Model):
    v: Literal[1] = PROTOCOL_VERSION
    id: Identifier | None = None


# ---------------------------------------------------------------------------------------------------
# Who, where, and what happened (the records themselves: ``core.sync.records``)
# ---------------------------------------------------------------------------------------------------


class UserInfo(_Model):
    id: int
    name: str
    display_name: str = ""
    role: Role
    # Only in the signed-in user's own record (``login_ok``, ``auth_ok``, ``profile``): member lists
    # leave it empty, so an address is shown to nobody but its owner.
    email: str = ""


class ProjectInfo(_Model):
    # Fields a later server adds are ignored, not refused: a client a version behind still signs in.
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int
    name: str
    head_seq: int = 0
    deleted: bool = False  # deleted by its owner or an admin: clients unlink it (``delete_project``)
    # The user who owns it (may delete it and its shared assets, manage its members); None: nobody,
    # or a server from before owners were sent.
    owner: int | None = None


class FieldConflict(_Model):
    """A task field whose newer value (one the writer had not seen) was overwritten by this change."""

    field: str
    base_version: int
    overwritten_value: Any
    overwritten_version: int
    overwritten_by: int | None


class NotifyTarget(_Model):
    """Who this event notifies, and why. Never the actor themselves."""

    user: int
    kind: NotificationKind


class Event(_Model):
    """One accepted change, numbered in its project's sequence. ``record`` is the full new state: the
    server writes it straight from its row, the client validates it as the ``core.sync.records`` model
    of ``kind`` before storing it."""

    seq: int
    project: int
    change_id: Identifier
    op: str
    kind: RecordKind
    actor: int
    at: str
    record: dict[str, Any]
    notify: list[NotifyTarget] = Field(default_factory=list)
    conflicts: list[FieldConflict] = Field(default_factory=list)


class NotificationItem(_Model):
    id: int
    project: int
    kind: NotificationKind
    seq: int
    actor: int
    record_id: str
    created_at: str
    read: bool = False


# ---------------------------------------------------------------------------------------------------
# Client -> server
# ---------------------------------------------------------------------------------------------------


class LoginRequest(_Message):
    type: Literal["login"] = "login"
    username: Annotated[str, StringConstraints(max_length=64)]
    password: Annotated[str, StringConstraints(max_length=MAX_PASSWORD_CHARS)]


class AuthRequest(_Message):
    type: Literal["auth"] = "auth"
    token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class LogoutRequest(_Message):
    type: Literal["logout"] = "logout"


class ChangePasswordRequest(_Message):
    """The signed-in user's own password; every other sign-in of theirs is revoked, this one stays."""

    type: Literal["change_password"] = "change_password"
    old_password: Annotated[str, StringConstraints(max_length=MAX_PASSWORD_CHARS)]
    new_password: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_CHARS)]


class UpdateProfileRequest(_Message):
    """The signed-in user's own display name and email; a field left out stays as it is."""

    type: Literal["update_profile"] = "update_profile"
    display_name: Name | None = None
    email: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)] | None = None


class SubscribeRequest(_Message):
    type: Literal["subscribe"] = "subscribe"
    project: int
    since_seq: int = Field(default=0, ge=0)
    # Deliver the events of this connection's own changes inside their acks (``Ack.event``) rather
    # than as a separate events page: one frame per change instead of two.
    ack_events: bool = False


class UnsubscribeRequest(_Message):
    type: Literal["unsubscribe"] = "unsubscribe"
    project: int


class ListNotificationsRequest(_Message):
    type: Literal["list_notifications"] = "list_notifications"
    since_id: int = Field(default=0, ge=0)
    limit: int = Field(default=200, ge=1, le=EVENT_PAGE_SIZE)


class MarkReadRequest(_Message):
    type: Literal["mark_read"] = "mark_read"
    ids: list[int] = Field(max_length=EVENT_PAGE_SIZE)


class _Change(_Message):
    """Common part of every change: a client-generated id makes re-sending it harmless."""

    change_id: Identifier
    project: int


class UpsertAssetChange(_Change):
    type: Literal["upsert_asset"] = "upsert_asset"
    asset_id: Identifier
    name: Name
    kind: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    content_hash: Annotated[str, StringConstraints(max_length=128)] = ""
    metadata: Annotated[dict[str, Any], AfterValidator(_bounded_json)] = Field(default_factory=dict)
    thumbnail_b64: Annotated[str, StringConstraints(max_length=MAX_THUMBNAIL_B64_CHARS)] | None = None


class AddCommentChange(_Change):
    type: Literal["add_comment"] = "add_comment"
    comment_id: Identifier
    asset_id: Identifier
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_COMMENT_CHARS)]
    frame: int | None = Field(default=None, ge=0)
    annotation: Annotation = None


class EditCommentChange(_Change):
    type: Literal["edit_comment"] = "edit_comment"
    comment_id: Identifier
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_COMMENT_CHARS)]
    annotation: Annotation = None


class DeleteCommentChange(_Change):
    type: Literal["delete_comment"] = "delete_comment"
    comment_id: Identifier


class DeleteTaskChange(_Change):
    """A tombstone: the task is gone for everyone (``core.sync.deletions``)."""

    type: Literal["delete_task"] = "delete_task"
    task_id: Identifier


class DeleteAssetChange(_Change):
    """A tombstone: the shared asset, its comments, tasks and sign-off leave the project for everyone;
    files and catalog entries on each machine stay (``core.sync.deletions``)."""

    type: Literal["delete_asset"] = "delete_asset"
    asset_id: Identifier


class DeleteProjectChange(_Change):
    """A tombstone: the project is deleted for everyone (its owner or an admin); clients unlink it and
    keep their local files and catalog (``core.sync.project_deletion``)."""

    type: Literal["delete_project"] = "delete_project"


class CreateTaskChange(_Change):
    type: Literal["create_task"] = "create_task"
    task_id: Identifier
    title: Name
    description: Annotated[str, StringConstraints(max_length=MAX_COMMENT_CHARS)] = ""
    assignee: int | None = None
    status: TaskStatus = "open"
    due_date: date | None = None
    asset_id: Identifier | None = None


class TaskPatch(_Model):
    """Fields a task update may set. Only the fields actually sent are applied (``exclude_unset``)."""

    title: Name | None = None
    description: Annotated[str, StringConstraints(max_length=MAX_COMMENT_CHARS)] | None = None
    assignee: int | None = None
    status: TaskStatus | None = None
    due_date: date | None = None
    asset_id: Identifier | None = None

    def changed_fields(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


TASK_FIELDS: tuple[str, ...] = tuple(TaskPatch.model_fields)
# Fields that may not be null even when sent explicitly.
REQUIRED_TASK_FIELDS: frozenset[str] = frozenset({"title", "description", "status"})


class UpdateTaskChange(_Change):
    type: Literal["update_task"] = "update_task"
    task_id: Identifier
    base_version: int = Field(ge=1)
    fields: TaskPatch

    @field_serializer("fields")
    def _only_sent_fields(self, fields: TaskPatch) -> dict[str, Any]:
        # "assignee": null (unassign) and an absent assignee (leave alone) must stay different.
        return fields.changed_fields()


class SetReviewChange(_Change):
    """A reviewer's verdict on the asset's content as ``content_hash`` names it: a verdict on a version
    the asset has since left (an offline reviewer, a new publish meanwhile) is refused, never moved."""

    type: Literal["set_review"] = "set_review"
    asset_id: Identifier
    content_hash: Annotated[str, StringConstraints(max_length=128)]
    status: ReviewStatus
    reason: Annotated[str, StringConstraints(max_length=MAX_COMMENT_CHARS)] = ""

    @model_validator(mode="after")
    def _reason_when_changes_requested(self) -> SetReviewChange:
        # The artist has to know what to change; checked by both ends as part of the message's shape.
        if self.status == "changes_requested" and not self.reason.strip():
            raise ValueError("a reason is required when requesting changes")
        return self


# A playlist's items are content hashes: each client resolves them to its own copy of the asset (a
# teammate who lacks one sees it as missing or as a remote asset), so a playlist needs no published asset.
MAX_PLAYLIST_ITEMS = 1_000
PlaylistItem = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class SavePlaylistChange(_Change):
    """A playlist created, renamed or reordered: its whole new state (last writer wins)."""

    type: Literal["save_playlist"] = "save_playlist"
    playlist_id: Identifier
    name: Name
    items: list[PlaylistItem] = Field(default_factory=list, max_length=MAX_PLAYLIST_ITEMS)


class DeletePlaylistChange(_Change):
    type: Literal["delete_playlist"] = "delete_playlist"
    playlist_id: Identifier


Change = (
    UpsertAssetChange
    | AddCommentChange
    | EditCommentChange
    | DeleteCommentChange
    | DeleteTaskChange
    | DeleteAssetChange
    | DeleteProjectChange
    | CreateTaskChange
    | UpdateTaskChange
    | SetReviewChange
    | SavePlaylistChange
    | DeletePlaylistChange
)
# Each change type once: the names come from the models' ``type`` fields.
CHANGE_TYPES: frozenset[str] = frozenset(model.model_fields["type"].default for model in get_args(Change))

ClientMessage = Annotated[
    LoginRequest
    | AuthRequest
    | LogoutRequest
    | ChangePasswordRequest
    | UpdateProfileRequest
    | SubscribeRequest
    | UnsubscribeRequest
    | ListNotificationsRequest
    | MarkReadRequest
    | Change,
    Field(discriminator="type"),
]
CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
CHANGE: TypeAdapter[Change] = TypeAdapter(Annotated[Change, Field(discriminator="type")])


# ---------------------------------------------------------------------------------------------------
# Server -> client
# ---------------------------------------------------------------------------------------------------


class _Reply(_Model):
    v: Literal[1] = PROTOCOL_VERSION
    re: str | None = None


class ErrorReply(_Reply):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    # With ``rate_limited`` on a sign-in: seconds until the account or address may try again.
    retry_after_s: float | None = None


class OkReply(_Reply):
    type: Literal["ok"] = "ok"


class RateLimits(_Model):
    """The server's per-connection budget, so well-behaved clients pace themselves below it."""

    rate_per_s: float
    burst: float


class LoginOk(_Reply):
    type: Literal["login_ok"] = "login_ok"
    # The server's own identity (generated once, kept in its database): a client recognises the
    # server by it, whatever address it was reached at. Empty from servers that predate it.
    server_id: str = ""
    token: str
    expires_at: str
    user: UserInfo
    projects: list[ProjectInfo]
    limits: RateLimits


class AuthOk(_Reply):
    type: Literal["auth_ok"] = "auth_ok"
    server_id: str = ""
    user: UserInfo
    projects: list[ProjectInfo]
    limits: RateLimits


class Subscribed(_Reply):
    type: Literal["subscribed"] = "subscribed"
    server_id: str = ""
    project: ProjectInfo
    since_seq: int
    members: list[UserInfo]


class EventsPage(_Reply):
    """Events in sequence order. Catch-up pages carry ``catchup: true``; the last one ``more: false``."""

    type: Literal["events"] = "events"
    project: int
    events: list[Event]
    catchup: bool = False
    more: bool = False


class Ack(_Reply):
    type: Literal["ack"] = "ack"
    change_id: str
    project: int
    seq: int
    duplicate: bool = False
    conflicts: list[FieldConflict] = Field(default_factory=list)
    # The change's event, when the subscription asked for ``ack_events`` and gets it here instead of
    # in an events page; it is then part of the subscription's stream, in sequence order.
    event: Event | None = None


class ProfileReply(_Reply):
    """Answers ``update_profile`` with the user's record as now stored."""

    type: Literal["profile"] = "profile"
    user: UserInfo


class NotificationsReply(_Reply):
    type: Literal["notifications"] = "notifications"
    items: list[NotificationItem]


ServerMessage = Annotated[
    ErrorReply
    | OkReply
    | LoginOk
    | AuthOk
    | Subscribed
    | EventsPage
    | Ack
    | ProfileReply
    | NotificationsReply,
    Field(discriminator="type"),
]
SERVER_MESSAGE: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def mentioned_names(body: str) -> set[str]:
    """User names mentioned as ``@name`` in a comment body (trailing dots are sentence punctuation)."""
    return {match.rstrip(".") for match in MENTION_PATTERN.findall(body) if match.rstrip(".")}
