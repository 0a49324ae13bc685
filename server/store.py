"""What the server does to its database: sign-in, reads for subscriptions, and applying changes.

All functions are synchronous and run on executor threads (writes on the single writer thread), so the
event loop never waits on the database.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from core.sync.protocol import (
    REQUIRED_TASK_FIELDS,
    AddCommentChange,
    Change,
    CreateTaskChange,
    DeleteCommentChange,
    EditCommentChange,
    ErrorCode,
    Event,
    FieldConflict,
    NotificationItem,
    NotifyTarget,
    ProjectInfo,
    RecordKind,
    UpdateTaskChange,
    UpsertAssetChange,
    UserInfo,
    mentioned_names,
)
from server.admin import utc_now_iso
from server.auth import IssuedToken, burn_password_check, new_token, token_hash, verify_password
from server.db import (
    assets,
    comments,
    events,
    memberships,
    notifications,
    projects,
    tasks,
    tokens,
    users,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

WRITER_ROLES = frozenset({"admin", "supervisor", "artist"})


class DomainError(Exception):
    """A request the server refuses; ``code`` goes to the client as the error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


@dataclass(frozen=True)
class SessionUser:
    user: UserInfo
    token_hash: str


@dataclass
class ChangeResult:
    """Outcome of one change: an ack (``seq``) or an ``error``; ``event_json`` is set for new events."""

    change_id: str
    project: int
    seq: int = 0
    duplicate: bool = False
    conflicts: list[FieldConflict] = field(default_factory=list)
    event_json: str | None = None
    error: DomainError | None = None


# ---------------------------------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------------------------------


def _user_info(row: Any) -> UserInfo:
    return UserInfo(id=row.id, name=row.name, display_name=row.display_name, role=row.role)


def member_projects(connection: Connection, user_id: int) -> list[ProjectInfo]:
    rows = connection.execute(
        sa.select(projects.c.id, projects.c.name, projects.c.head_seq)
        .join(memberships, memberships.c.project_id == projects.c.id)
        .where(memberships.c.user_id == user_id)
        .order_by(projects.c.id)
    ).all()
    return [ProjectInfo(id=r.id, name=r.name, head_seq=r.head_seq) for r in rows]


def login(
    engine: Engine, username: str, password: str, ttl_s: float
) -> tuple[IssuedToken, float, UserInfo, list[ProjectInfo]]:
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(users).where(users.c.name == username, users.c.removed == sa.false())
        ).one_or_none()
    if row is None:
        burn_password_check(password)
        raise DomainError("auth_failed", "Unknown user name or wrong password")
    if not verify_password(password, row.password_hash):
        raise DomainError("auth_failed", "Unknown user name or wrong password")
    issued = new_token()
    now = time.time()
    with engine.begin() as connection:
        connection.execute(
            tokens.insert().values(
                token_hash=issued.token_hash, user_id=row.id, created_at=now, expires_at=now + ttl_s
            )
        )
        project_list = member_projects(connection, row.id)
    return issued, now + ttl_s, _user_info(row), project_list


def _token_problem(revoked: bool, expires_at: float, removed: bool) -> DomainError | None:
    if revoked or removed:
        return DomainError("token_revoked", "This sign-in was revoked; sign in again")
    if expires_at <= time.time():
        return DomainError("token_expired", "This sign-in has expired; sign in again")
    return None


def authenticate(engine: Engine, token: str) -> tuple[SessionUser, list[ProjectInfo]]:
    hashed = token_hash(token)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(users, tokens.c.revoked, tokens.c.expires_at)
            .join(tokens, tokens.c.user_id == users.c.id)
            .where(tokens.c.token_hash == hashed)
        ).one_or_none()
        if row is None:
            raise DomainError("auth_failed", "Unknown token; sign in again")
        problem = _token_problem(row.revoked, row.expires_at, row.removed)
        if problem is not None:
            raise problem
        return SessionUser(_user_info(row), hashed), member_projects(connection, row.id)


def revoke_token(engine: Engine, hashed: str) -> None:
    with engine.begin() as connection:
        connection.execute(tokens.update().where(tokens.c.token_hash == hashed).values(revoked=True))


def is_member(connection: Connection, user_id: int, project_id: int) -> bool:
    found = connection.execute(_IS_MEMBER, {"b_project": project_id, "b_user": user_id}).first()
    return found is not None


def subscription_info(engine: Engine, user_id: int, project_id: int) -> tuple[ProjectInfo, list[UserInfo]]:
    with engine.connect() as connection:
        if not is_member(connection, user_id, project_id):
            raise DomainError("not_member", f"You are not a member of project {project_id}")
        project = connection.execute(
            sa.select(projects.c.id, projects.c.name, projects.c.head_seq).where(projects.c.id == project_id)
        ).one()
        member_rows = connection.execute(
            sa.select(users.c.id, users.c.name, users.c.display_name, users.c.role)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.project_id == project_id)
            .order_by(users.c.id)
        ).all()
    info = ProjectInfo(id=project.id, name=project.name, head_seq=project.head_seq)
    return info, [_user_info(r) for r in member_rows]


def read_events(engine: Engine, project_id: int, after_seq: int, limit: int) -> list[tuple[int, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(events.c.seq, events.c.payload)
            .where(events.c.project_id == project_id, events.c.seq > after_seq)
            .order_by(events.c.seq)
            .limit(limit)
        ).all()
    return [(int(r.seq), str(r.payload)) for r in rows]


def list_notifications(engine: Engine, user_id: int, since_id: int, limit: int) -> list[NotificationItem]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(notifications)
            .where(notifications.c.user_id == user_id, notifications.c.id > since_id)
            .order_by(notifications.c.id)
            .limit(limit)
        ).all()
    return [
        NotificationItem(
            id=r.id,
            project=r.project_id,
            kind=r.kind,
            seq=r.seq,
            actor=r.actor,
            record_id=r.record_id,
            created_at=r.created_at,
            read=r.read,
        )
        for r in rows
    ]


def mark_notifications_read(engine: Engine, user_id: int, ids: list[int]) -> None:
    with engine.begin() as connection:
        connection.execute(
            notifications.update()
            .where(notifications.c.user_id == user_id, notifications.c.id.in_(ids))
            .values(read=True)
        )


# ---------------------------------------------------------------------------------------------------
# Changes
# ---------------------------------------------------------------------------------------------------


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def comment_record(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "project": row.project_id,
        "asset_id": row.asset_id,
        "author": row.author,
        "body": row.body,
        "frame": row.frame,
        "annotation": _load(row.annotation),
        "created_at": row.created_at,
        "edited_at": row.edited_at,
        "deleted": bool(row.deleted),
        "version": row.version,
    }


def task_record(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "project": row.project_id,
        "title": row.title,
        "description": row.description,
        "assignee": row.assignee,
        "creator": row.creator,
        "status": row.status,
        "due_date": row.due_date,
        "asset_id": row.asset_id,
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def asset_record(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "project": row.project_id,
        "name": row.name,
        "kind": row.kind,
        "content_hash": row.content_hash,
        "metadata": json.loads(row.metadata),
        "thumbnail_b64": row.thumbnail_b64,
        "created_by": row.created_by,
        "version": row.version,
    }


# Statements built once: constructing SQLAlchemy expressions costs more than running them on SQLite.
_TOKEN_STATE = (
    sa.select(tokens.c.revoked, tokens.c.expires_at, users.c.removed)
    .join(users, users.c.id == tokens.c.user_id)
    .where(tokens.c.token_hash == sa.bindparam("b_hash"))
)
_EVENT_BY_CHANGE = sa.select(events.c.project_id, events.c.seq, events.c.actor, events.c.payload).where(
    events.c.change_id == sa.bindparam("b_change")
)
_IS_MEMBER = sa.select(memberships.c.user_id).where(
    memberships.c.project_id == sa.bindparam("b_project"),
    memberships.c.user_id == sa.bindparam("b_user"),
)
_BY_ID = {
    table.name: sa.select(table).where(table.c.id == sa.bindparam("b_id"))
    for table in (assets, comments, tasks)
}
_LOCK_HEAD = (
    projects.update()
    .where(projects.c.id == sa.bindparam("b_project"))
    .values(head_seq=projects.c.head_seq)
    .returning(projects.c.head_seq)
)
_SET_HEAD = (
    projects.update()
    .where(projects.c.id == sa.bindparam("b_project"))
    .values(head_seq=sa.bindparam("b_head"))
)
_INSERT = {table.name: table.insert() for table in (assets, comments, tasks, events, notifications)}


class _BatchApplier:
    """Applies a batch of changes in one transaction (group commit).

    Every change is checked completely before it writes anything, so a refused change leaves no trace
    and the others in the batch still commit. Sequence numbers come from ``projects.head_seq``, locked
    and advanced inside this same transaction.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.heads: dict[int, int] = {}
        self.token_checked: dict[str, DomainError | None] = {}
        self.member_checked: dict[tuple[int, int], bool] = {}
        self.now = utc_now_iso()

    # -- checks --------------------------------------------------------------------------------
    def check_session(self, session: SessionUser) -> None:
        if session.token_hash not in self.token_checked:
            row = self.connection.execute(_TOKEN_STATE, {"b_hash": session.token_hash}).one_or_none()
            problem = (
                DomainError("token_revoked", "This sign-in was revoked; sign in again")
                if row is None
                else _token_problem(row.revoked, row.expires_at, row.removed)
            )
            self.token_checked[session.token_hash] = problem
        problem = self.token_checked[session.token_hash]
        if problem is not None:
            raise problem

    def check_member(self, user_id: int, project_id: int) -> None:
        key = (user_id, project_id)
        if key not in self.member_checked:
            self.member_checked[key] = is_member(self.connection, user_id, project_id)
        if not self.member_checked[key]:
            raise DomainError("not_member", f"You are not a member of project {project_id}")

    @staticmethod
    def check_writer(session: SessionUser, what: str) -> None:
        if session.user.role not in WRITER_ROLES:
            raise DomainError("forbidden", f"The {session.user.role} role cannot {what}")

    def check_assignee(self, assignee: int | None, project_id: int) -> None:
        if assignee is not None and not is_member(self.connection, assignee, project_id):
            raise DomainError("invalid", f"User {assignee} is not a member of this project")

    def asset_row(self, asset_id: str, project_id: int) -> Any:
        row = self.connection.execute(_BY_ID["assets"], {"b_id": asset_id}).one_or_none()
        if row is not None and row.project_id != project_id:
            raise DomainError("duplicate_id", f"Asset id {asset_id} belongs to another project")
        return row

    def existing(self, table: sa.Table, record_id: str, project_id: int) -> Any:
        row = self.connection.execute(_BY_ID[table.name], {"b_id": record_id}).one_or_none()
        if row is None or row.project_id != project_id:
            raise DomainError("not_found", f"No {table.name[:-1]} {record_id} in this project")
        return row

    def refuse_existing_id(self, table: sa.Table, record_id: str) -> None:
        if self.connection.execute(_BY_ID[table.name], {"b_id": record_id}).first():
            raise DomainError("duplicate_id", f"{table.name[:-1].title()} id {record_id} is taken")

    # -- writing -------------------------------------------------------------------------------
    def next_seq(self, project_id: int) -> int:
        if project_id not in self.heads:
            # "SET head_seq = head_seq" takes the row lock (PostgreSQL) before reading the head.
            self.heads[project_id] = int(
                self.connection.execute(_LOCK_HEAD, {"b_project": project_id}).scalar_one()
            )
        self.heads[project_id] += 1
        return self.heads[project_id]

    def finish(self) -> None:
        for project_id, head in self.heads.items():
            self.connection.execute(_SET_HEAD, {"b_project": project_id, "b_head": head})

    def record_event(
        self,
        session: SessionUser,
        change: Change,
        kind: RecordKind,
        record: dict[str, Any],
        notify: list[NotifyTarget],
        conflicts: list[FieldConflict] | None = None,
    ) -> ChangeResult:
        seq = self.next_seq(change.project)
        event = Event(
            seq=seq,
            project=change.project,
            change_id=change.change_id,
            op=change.type,
            kind=kind,
            actor=session.user.id,
            at=self.now,
            record=record,
            notify=notify,
            conflicts=conflicts or [],
        )
        payload = event.model_dump_json()
        self.connection.execute(
            _INSERT["events"],
            {
                "project_id": change.project,
                "seq": seq,
                "change_id": change.change_id,
                "actor": session.user.id,
                "op": change.type,
                "payload": payload,
            },
        )
        for target in notify:
            self.connection.execute(
                _INSERT["notifications"],
                {
                    "user_id": target.user,
                    "project_id": change.project,
                    "kind": target.kind,
                    "seq": seq,
                    "actor": session.user.id,
                    "record_id": str(record["id"]),
                    "created_at": self.now,
                    "read": False,
                },
            )
        return ChangeResult(
            change_id=change.change_id,
            project=change.project,
            seq=seq,
            conflicts=conflicts or [],
            event_json=payload,
        )

    def apply(self, session: SessionUser, change: Change) -> ChangeResult:
        try:
            self.check_session(session)
            previous = self.connection.execute(_EVENT_BY_CHANGE, {"b_change": change.change_id}).one_or_none()
            if previous is not None:
                return self.replay(session, change, previous)
            self.check_member(session.user.id, change.project)
            handler = getattr(self, f"apply_{change.type}")
            result: ChangeResult = handler(session, change)
        except DomainError as error:
            return ChangeResult(change_id=change.change_id, project=change.project, error=error)
        return result

    @staticmethod
    def replay(session: SessionUser, change: Change, previous: Any) -> ChangeResult:
        if previous.actor != session.user.id or previous.project_id != change.project:
            raise DomainError("duplicate_id", f"Change id {change.change_id} was used for another change")
        stored = Event.model_validate_json(previous.payload)
        return ChangeResult(
            change_id=change.change_id,
            project=change.project,
            seq=int(previous.seq),
            duplicate=True,
            conflicts=list(stored.conflicts),
        )

    def apply_upsert_asset(self, session: SessionUser, change: UpsertAssetChange) -> ChangeResult:
        self.check_writer(session, "publish assets")
        row = self.asset_row(change.asset_id, change.project)
        values = {
            "name": change.name,
            "kind": change.kind,
            "content_hash": change.content_hash,
            "metadata": json.dumps(change.metadata, separators=(",", ":")),
            "thumbnail_b64": change.thumbnail_b64,
            "updated_at": self.now,
        }
        if row is None:
            self.connection.execute(
                assets.insert().values(
                    id=change.asset_id,
                    project_id=change.project,
                    created_by=session.user.id,
                    version=1,
                    created_at=self.now,
                    **values,
                )
            )
        else:
            self.connection.execute(
                assets.update()
                .where(assets.c.id == change.asset_id)
                .values(version=row.version + 1, **values)
            )
        stored = self.connection.execute(sa.select(assets).where(assets.c.id == change.asset_id)).one()
        return self.record_event(session, change, "asset", asset_record(stored), [])

    def apply_add_comment(self, session: SessionUser, change: AddCommentChange) -> ChangeResult:
        asset = self.asset_row(change.asset_id, change.project)
        if asset is None:
            raise DomainError("not_found", f"No asset {change.asset_id} in this project")
        self.refuse_existing_id(comments, change.comment_id)
        notify = self.comment_notifications(session, change, asset.created_by)
        values = {
            "id": change.comment_id,
            "project_id": change.project,
            "asset_id": change.asset_id,
            "author": session.user.id,
            "body": change.body,
            "frame": change.frame,
            "annotation": _dump(change.annotation),
            "created_at": self.now,
            "edited_at": None,
            "deleted": False,
            "version": 1,
        }
        self.connection.execute(_INSERT["comments"], values)
        record = comment_record(_Obj(values))
        return self.record_event(session, change, "comment", record, notify)

    def comment_notifications(
        self, session: SessionUser, change: AddCommentChange, asset_creator: int
    ) -> list[NotifyTarget]:
        notify: list[NotifyTarget] = []
        names = mentioned_names(change.body)
        if names:
            mentioned = self.connection.execute(
                sa.select(users.c.id)
                .join(memberships, memberships.c.user_id == users.c.id)
                .where(memberships.c.project_id == change.project, users.c.name.in_(names))
                .order_by(users.c.id)
            ).scalars()
            notify = [NotifyTarget(user=uid, kind="mention") for uid in mentioned if uid != session.user.id]
        notified = {target.user for target in notify}
        if (
            asset_creator != session.user.id
            and asset_creator not in notified
            and is_member(self.connection, asset_creator, change.project)
        ):
            notify.append(NotifyTarget(user=asset_creator, kind="comment_on_your_asset"))
        return notify

    def own_comment(self, session: SessionUser, comment_id: str, project_id: int) -> Any:
        row = self.existing(comments, comment_id, project_id)
        if row.author != session.user.id:
            raise DomainError("forbidden", "Only the author can edit or delete a comment")
        if row.deleted:
            raise DomainError("invalid", "This comment was deleted")
        return row

    def apply_edit_comment(self, session: SessionUser, change: EditCommentChange) -> ChangeResult:
        row = self.own_comment(session, change.comment_id, change.project)
        self.connection.execute(
            comments.update()
            .where(comments.c.id == change.comment_id)
            .values(
                body=change.body,
                annotation=_dump(change.annotation),
                edited_at=self.now,
                version=row.version + 1,
            )
        )
        stored = self.connection.execute(sa.select(comments).where(comments.c.id == change.comment_id)).one()
        return self.record_event(session, change, "comment", comment_record(stored), [])

    def apply_delete_comment(self, session: SessionUser, change: DeleteCommentChange) -> ChangeResult:
        row = self.own_comment(session, change.comment_id, change.project)
        # A deleted comment keeps its place (and id) but loses its content everywhere.
        self.connection.execute(
            comments.update()
            .where(comments.c.id == change.comment_id)
            .values(body="", annotation=None, deleted=True, edited_at=self.now, version=row.version + 1)
        )
        stored = self.connection.execute(sa.select(comments).where(comments.c.id == change.comment_id)).one()
        return self.record_event(session, change, "comment", comment_record(stored), [])

    def apply_create_task(self, session: SessionUser, change: CreateTaskChange) -> ChangeResult:
        self.check_writer(session, "create tasks")
        self.refuse_existing_id(tasks, change.task_id)
        self.check_assignee(change.assignee, change.project)
        if change.asset_id is not None and self.asset_row(change.asset_id, change.project) is None:
            raise DomainError("invalid", f"No asset {change.asset_id} in this project")
        values = {
            "id": change.task_id,
            "project_id": change.project,
            "title": change.title,
            "description": change.description,
            "assignee": change.assignee,
            "creator": session.user.id,
            "status": change.status,
            "due_date": change.due_date.isoformat() if change.due_date else None,
            "asset_id": change.asset_id,
            "version": 1,
            "created_at": self.now,
            "updated_at": self.now,
        }
        field_versions = {
            name: [1, session.user.id]
            for name in ("title", "description", "assignee", "status", "due_date", "asset_id")
        }
        self.connection.execute(tasks.insert().values(field_versions=json.dumps(field_versions), **values))
        notify = []
        if change.assignee is not None and change.assignee != session.user.id:
            notify.append(NotifyTarget(user=change.assignee, kind="task_assigned"))
        return self.record_event(session, change, "task", task_record(_Obj(values)), notify)

    def apply_update_task(self, session: SessionUser, change: UpdateTaskChange) -> ChangeResult:
        self.check_writer(session, "change tasks")
        row = self.existing(tasks, change.task_id, change.project)
        patch = change.fields.changed_fields()
        if not patch:
            raise DomainError("invalid", "A task update must change at least one field")
        for name in REQUIRED_TASK_FIELDS & patch.keys():
            if patch[name] is None:
                raise DomainError("invalid", f"Task field {name!r} cannot be empty")
        if change.base_version > row.version:
            raise DomainError("invalid", f"Base version {change.base_version} is newer than the task")
        if "assignee" in patch:
            self.check_assignee(patch["assignee"], change.project)
        if patch.get("asset_id") is not None and self.asset_row(patch["asset_id"], change.project) is None:
            raise DomainError("invalid", f"No asset {patch['asset_id']} in this project")
        current = task_record(row)
        field_versions: dict[str, list[int]] = json.loads(row.field_versions)
        new_version = row.version + 1
        conflicts: list[FieldConflict] = []
        changed: dict[str, Any] = {}
        for name, value in patch.items():
            if value == current[name]:
                continue
            last_version, last_actor = field_versions.get(name, [1, row.creator])
            # Someone changed this field after the version this client saw: last writer (in server
            # order) still wins, but the overwritten value is reported to everyone.
            if last_version > change.base_version:
                conflicts.append(
                    FieldConflict(
                        field=name,
                        base_version=change.base_version,
                        overwritten_value=current[name],
                        overwritten_version=last_version,
                        overwritten_by=last_actor,
                    )
                )
            changed[name] = value
            field_versions[name] = [new_version, session.user.id]
        self.connection.execute(
            tasks.update()
            .where(tasks.c.id == change.task_id)
            .values(
                version=new_version,
                updated_at=self.now,
                field_versions=json.dumps(field_versions),
                **changed,
            )
        )
        record = {**current, **changed, "version": new_version, "updated_at": self.now}
        notify = []
        assignee = changed.get("assignee")
        if assignee is not None and assignee != session.user.id:
            notify.append(NotifyTarget(user=assignee, kind="task_assigned"))
        return self.record_event(session, change, "task", record, notify, conflicts)


class _Obj:
    """Attribute access over a dict of freshly inserted values (shaped like a result row)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def apply_batch(engine: Engine, batch: list[tuple[SessionUser, Change]]) -> list[ChangeResult]:
    """Apply changes in order in one transaction; on a database failure retry them one by one."""
    try:
        with engine.begin() as connection:
            applier = _BatchApplier(connection)
            results = [applier.apply(session, change) for session, change in batch]
            applier.finish()
    except SQLAlchemyError:
        if len(batch) == 1:
            log.exception("event=change_failed change_id=%s", batch[0][1].change_id)
            _session, change = batch[0]
            error = DomainError("internal", "The server could not store this change; retry later")
            return [ChangeResult(change_id=change.change_id, project=change.project, error=error)]
        log.warning("event=batch_failed size=%d retrying_individually=1", len(batch))
        return [apply_batch(engine, [item])[0] for item in batch]
    return results
