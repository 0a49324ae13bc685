"""Applying changes: the single writer's group commit.

A batch of changes (whatever queued up while the previous batch committed) is applied in order in one
transaction. Every change is checked completely before it writes anything, so a refused change leaves no
trace and the others in the batch still commit. Sequence numbers come from ``projects.head_seq``,
locked and advanced inside this same transaction, so they follow commit order with no gap.

Statements are compiled once per dialect and run on the DB-API cursor (``server.statements``): this
module runs about seven of them per new comment and is the server's hot path.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from core.sync.protocol import (
    REQUIRED_TASK_FIELDS,
    TASK_FIELDS,
    AddCommentChange,
    Change,
    CreateTaskChange,
    DeleteCommentChange,
    DeletePlaylistChange,
    EditCommentChange,
    Event,
    FieldConflict,
    NotifyTarget,
    RecordKind,
    SavePlaylistChange,
    SetReviewChange,
    UpdateTaskChange,
    UpsertAssetChange,
    mentioned_names,
)
from core.sync.records import UNREVIEWED, dump_json, record_from_row
from core.sync.roles import change_refusal, may_delete_comment, playlist_refusal
from server.admin import utc_now_iso
from server.change_result import ChangeResult
from server.cluster_messages import head_payloads
from server.db import assets, comments, playlists, tasks
from server.deletions import deletion_handlers
from server.event_json import event_json
from server.project_admin import deleted_project, project_admin_handlers
from server.statements import Statements, statements_for
from server.store import DomainError, SessionUser, token_problem

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def id_taken(what: str, record_id: str) -> DomainError:
    return DomainError("duplicate_id", f"{what} id {record_id} is already used; generate a new one")


# ---------------------------------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------------------------------


class _BatchApplier:
    def __init__(self, cursor: Any, statements: Statements) -> None:
        self.cursor = cursor
        self.sql = statements
        self.heads: dict[int, int] = {}
        # Projects given more than one event in this batch: their head is stored at the end.
        self.heads_to_store: set[int] = set()
        # (token hash, project) -> (token problem, member?): checked once per batch, in its transaction.
        self.access_checked: dict[tuple[str, int], tuple[DomainError | None, bool]] = {}
        self.now = utc_now_iso()
        self.handlers: dict[str, Any] = {
            "upsert_asset": self.apply_upsert_asset,
            "edit_comment": self.apply_edit_comment,
            "delete_comment": self.apply_delete_comment,
            "create_task": self.apply_create_task,
            "update_task": self.apply_update_task,
            "set_review": self.apply_set_review,
            **deletion_handlers(self),
            **project_admin_handlers(self, self.now),
            "save_playlist": self.apply_save_playlist,
            "delete_playlist": self.apply_delete_playlist,
        }

    # -- reads ---------------------------------------------------------------------------------
    def row(self, table: sa.Table, record_id: str) -> dict[str, Any] | None:
        found = self.sql.by_id[table.name].first(self.cursor, {"b_id": record_id})
        return None if found is None else dict(zip(self.sql.columns[table.name], found, strict=True))

    def is_member(self, user_id: int, project_id: int) -> bool:
        found = self.sql.is_member.first(self.cursor, {"b_project": project_id, "b_user": user_id})
        return found is not None

    # -- checks --------------------------------------------------------------------------------
    def check_access(self, session: SessionUser, project_id: int) -> bool:
        """Raise if the sign-in is no longer valid; return whether the user is a project member."""
        key = (session.token_hash, project_id)
        checked = self.access_checked.get(key)
        if checked is None:
            found = self.sql.access.first(
                self.cursor, {"b_hash": session.token_hash, "b_project": project_id}
            )
            if found is None:
                checked = (DomainError("token_revoked", "This sign-in was revoked; sign in again"), False)
            else:
                problem = token_problem(bool(found[0]), float(found[1]), bool(found[2]))
                if problem is None and found[4] is not None:
                    problem = deleted_project(project_id)
                checked = (problem, found[3] is not None)
            self.access_checked[key] = checked
        problem, member = checked
        if problem is not None:
            raise problem
        return member

    @staticmethod
    def require_member(member: bool, project_id: int) -> None:
        if not member:
            raise DomainError("not_member", f"You are not a member of project {project_id}")

    @staticmethod
    def check_role(session: SessionUser, change: Change) -> None:
        refusal = change_refusal(session.user.role, change.type)
        if refusal is not None:
            raise DomainError("forbidden", refusal)

    def check_assignee(self, assignee: int | None, project_id: int) -> None:
        if assignee is not None and not self.is_member(assignee, project_id):
            raise DomainError("invalid", f"User {assignee} is not a member of this project")

    # Refusals never tell a record of another project from a missing one: a reference to either is
    # "not found", a new record under an id either has is "already used", in the same words.
    def asset_owner(self, asset_id: str, project_id: int) -> int | None:
        """The user who published the asset, None when the project has no such asset."""
        found = self.sql.asset_owner.first(self.cursor, {"b_id": asset_id})
        if found is None or found[0] != project_id:
            return None
        return int(found[1])

    def asset_row(self, asset_id: str, project_id: int) -> dict[str, Any] | None:
        found = self.row(assets, asset_id)
        if found is not None and found["project_id"] != project_id:
            raise id_taken("Asset", asset_id)
        return found

    def existing(self, table: sa.Table, record_id: str, project_id: int) -> dict[str, Any]:
        found = self.row(table, record_id)
        if found is None or found["project_id"] != project_id:
            raise DomainError("not_found", f"No {table.name[:-1]} {record_id} in this project")
        return found

    def refuse_existing_id(self, table: sa.Table, record_id: str) -> None:
        if self.sql.id_exists[table.name].first(self.cursor, {"b_id": record_id}) is not None:
            raise id_taken(table.name[:-1].title(), record_id)

    # -- writing -------------------------------------------------------------------------------
    def next_seq(self, project_id: int) -> int:
        head = self.heads.get(project_id)
        if head is None:
            # The first event of the project in this batch locks its row and advances the stored head.
            found = self.sql.advance_head.first(self.cursor, {"b_project": project_id})
            assert found is not None  # membership was checked: the project exists
            head = int(found[0])
        else:
            head += 1
            self.heads_to_store.add(project_id)
        self.heads[project_id] = head
        return head

    def finish(self) -> None:
        for project_id in self.heads_to_store:
            self.sql.set_head.run(self.cursor, {"b_project": project_id, "b_head": self.heads[project_id]})
        if self.sql.notify_head is not None:
            for payload in head_payloads(self.heads):
                self.sql.notify_head.run(self.cursor, {"b_payload": payload})

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
        payload = event_json(
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
        self.sql.insert["events"].run(
            self.cursor,
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
            self.sql.insert["notifications"].run(
                self.cursor,
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
            member = self.check_access(session, change.project)
            if isinstance(change, AddCommentChange):
                return self.apply_add_comment(session, change, member)
            previous = self.sql.event_by_change.first(self.cursor, {"b_change": change.change_id})
            if previous is not None:
                # A re-sent change gets its original ack even after its author left the project.
                return self.replay(session, change, previous)
            self.require_member(member, change.project)
            result: ChangeResult = self.handlers[change.type](session, change)
        except DomainError as error:
            return ChangeResult(change_id=change.change_id, project=change.project, error=error)
        return result

    @staticmethod
    def replay(session: SessionUser, change: Change, previous: tuple[Any, ...]) -> ChangeResult:
        project_id, seq, actor, payload = previous
        if actor != session.user.id or project_id != change.project:
            raise DomainError("duplicate_id", f"Change id {change.change_id} was used for another change")
        stored = Event.model_validate_json(payload)
        return ChangeResult(
            change_id=change.change_id,
            project=change.project,
            seq=int(seq),
            duplicate=True,
            conflicts=list(stored.conflicts),
        )

    def apply_upsert_asset(self, session: SessionUser, change: UpsertAssetChange) -> ChangeResult:
        self.check_role(session, change)
        row = self.asset_row(change.asset_id, change.project)
        values: dict[str, Any] = {
            "name": change.name,
            "kind": change.kind,
            "content_hash": change.content_hash,
            "metadata": json.dumps(change.metadata, separators=(",", ":")),
            "thumbnail_b64": change.thumbnail_b64,
            "updated_at": self.now,
        }
        if row is None or row["content_hash"] != change.content_hash:
            # A sign-off belongs to the content it judged: new content starts unreviewed.
            values.update(UNREVIEWED)
        if row is None:
            stored = {
                **values,
                "id": change.asset_id,
                "project_id": change.project,
                "created_by": session.user.id,
                "version": 1,
                "created_at": self.now,
            }
            self.sql.insert["assets"].run(self.cursor, stored)
        else:
            stored = {**row, **values, "version": row["version"] + 1}
            self.sql.update_asset.run(self.cursor, {**stored, "b_id": change.asset_id})
        return self.record_event(session, change, "asset", record_from_row("asset", stored), [])

    def apply_add_comment(self, session: SessionUser, change: AddCommentChange, member: bool) -> ChangeResult:
        """The checks of ``apply`` and the handlers, in the same order, from one statement."""
        keys = {"b_change": change.change_id, "b_asset": change.asset_id, "b_id": change.comment_id}
        found = self.sql.comment_checks.first(self.cursor, keys)
        assert found is not None  # a SELECT without FROM always returns its row
        seen_seq, asset_project, asset_creator, taken = found
        if seen_seq is not None:
            previous = self.sql.event_by_change.first(self.cursor, {"b_change": change.change_id})
            assert previous is not None  # same transaction as the statement above
            return self.replay(session, change, previous)
        self.require_member(member, change.project)
        if asset_project != change.project:
            raise DomainError("not_found", f"No asset {change.asset_id} in this project")
        if taken is not None:
            raise id_taken("Comment", change.comment_id)
        notify = self.comment_notifications(session, change, asset_creator)
        values = {
            "id": change.comment_id,
            "project_id": change.project,
            "asset_id": change.asset_id,
            "author": session.user.id,
            "body": change.body,
            "frame": change.frame,
            "annotation": dump_json(change.annotation),
            "created_at": self.now,
            "edited_at": None,
            "deleted": False,
            "version": 1,
        }
        self.sql.insert["comments"].run(self.cursor, values)
        return self.record_event(session, change, "comment", record_from_row("comment", values), notify)

    def comment_notifications(
        self, session: SessionUser, change: AddCommentChange, asset_creator: int
    ) -> list[NotifyTarget]:
        mentioned: set[int] = set()
        for name in mentioned_names(change.body):
            found = self.sql.member_named.first(self.cursor, {"b_project": change.project, "b_name": name})
            if found is not None:
                mentioned.add(int(found[0]))
        notify = [
            NotifyTarget(user=user_id, kind="mention")
            for user_id in sorted(mentioned)
            if user_id != session.user.id
        ]
        notified = {target.user for target in notify}
        if (
            asset_creator != session.user.id
            and asset_creator not in notified
            and self.is_member(asset_creator, change.project)
        ):
            notify.append(NotifyTarget(user=asset_creator, kind="comment_on_your_asset"))
        return notify

    def own_comment(
        self, session: SessionUser, comment_id: str, project_id: int, *, deleting: bool = False
    ) -> dict[str, Any]:
        """The comment's row when the user may change it: its author, or a moderator deleting it."""
        row = self.existing(comments, comment_id, project_id)
        is_author = row["author"] == session.user.id
        if deleting and not may_delete_comment(session.user.role, is_author):
            raise DomainError("forbidden", "Only its author, supervisors and admins can delete a comment")
        if not deleting and not is_author:
            raise DomainError("forbidden", "Only the author can edit a comment")
        if row["deleted"]:
            raise DomainError("invalid", "This comment was deleted")
        return row

    def _rewrite_comment(self, row: dict[str, Any], **values: Any) -> dict[str, Any]:
        stored = {**row, **values, "edited_at": self.now, "version": row["version"] + 1}
        self.sql.update_comment.run(self.cursor, {**stored, "b_id": row["id"]})
        return record_from_row("comment", stored)

    def apply_edit_comment(self, session: SessionUser, change: EditCommentChange) -> ChangeResult:
        row = self.own_comment(session, change.comment_id, change.project)
        record = self._rewrite_comment(row, body=change.body, annotation=dump_json(change.annotation))
        return self.record_event(session, change, "comment", record, [])

    def apply_delete_comment(self, session: SessionUser, change: DeleteCommentChange) -> ChangeResult:
        row = self.own_comment(session, change.comment_id, change.project, deleting=True)
        # A deleted comment keeps its place (and id) but loses its content everywhere: a tombstone
        # that reaches every client, offline ones at their next catch-up; the event keeps who did it.
        record = self._rewrite_comment(row, body="", annotation=None, deleted=True)
        return self.record_event(session, change, "comment", record, [])

    def apply_create_task(self, session: SessionUser, change: CreateTaskChange) -> ChangeResult:
        self.check_role(session, change)
        self.refuse_existing_id(tasks, change.task_id)
        self.check_assignee(change.assignee, change.project)
        if change.asset_id is not None and self.asset_owner(change.asset_id, change.project) is None:
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
        field_versions = {name: [1, session.user.id] for name in TASK_FIELDS}
        self.sql.insert["tasks"].run(self.cursor, {**values, "field_versions": json.dumps(field_versions)})
        notify = []
        if change.assignee is not None and change.assignee != session.user.id:
            notify.append(NotifyTarget(user=change.assignee, kind="task_assigned"))
        return self.record_event(session, change, "task", record_from_row("task", values), notify)

    def apply_update_task(self, session: SessionUser, change: UpdateTaskChange) -> ChangeResult:
        self.check_role(session, change)
        row = self.existing(tasks, change.task_id, change.project)
        patch = change.fields.changed_fields()
        if not patch:
            raise DomainError("invalid", "A task update must change at least one field")
        for name in REQUIRED_TASK_FIELDS & patch.keys():
            if patch[name] is None:
                raise DomainError("invalid", f"Task field {name!r} cannot be empty")
        if change.base_version > row["version"]:
            raise DomainError("invalid", f"Base version {change.base_version} is newer than the task")
        if "assignee" in patch:
            self.check_assignee(patch["assignee"], change.project)
        if patch.get("asset_id") is not None and self.asset_owner(patch["asset_id"], change.project) is None:
            raise DomainError("invalid", f"No asset {patch['asset_id']} in this project")
        current = record_from_row("task", row)
        field_versions: dict[str, list[int]] = json.loads(row["field_versions"])
        new_version = row["version"] + 1
        conflicts: list[FieldConflict] = []
        changed: dict[str, Any] = {}
        for name, value in patch.items():
            if value == current[name]:
                continue
            last_version, last_actor = field_versions.get(name, [1, row["creator"]])
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
        record = {**current, **changed, "version": new_version, "updated_at": self.now}
        self.sql.update_task.run(
            self.cursor,
            {**record, "field_versions": json.dumps(field_versions), "b_id": change.task_id},
        )
        notify = []
        assignee = changed.get("assignee")
        if assignee is not None and assignee != session.user.id:
            notify.append(NotifyTarget(user=assignee, kind="task_assigned"))
        return self.record_event(session, change, "task", record, notify, conflicts)

    def apply_set_review(self, session: SessionUser, change: SetReviewChange) -> ChangeResult:
        """A sign-off: one asset's review status, stored on its row and broadcast as the asset's new
        record; its publisher is notified. Linked tasks are moved by the reviewing client, as
        ``update_task`` changes queued with the verdict (see ``core.sync.local_review``): every change
        stays one event, acknowledged on its own."""
        self.check_role(session, change)
        row = self.existing(assets, change.asset_id, change.project)
        if row["content_hash"] != change.content_hash:
            raise DomainError("invalid", "The asset was published again since this review; review it again")
        stored = {
            **row,
            "review_status": change.status,
            "review_reason": change.reason if change.status == "changes_requested" else "",
            "reviewed_by": None if change.status == "pending" else session.user.id,
            "version": row["version"] + 1,
            "updated_at": self.now,
        }
        self.sql.update_review.run(self.cursor, {**stored, "b_id": change.asset_id})
        notify = []
        publisher = int(row["created_by"])
        if (
            change.status != "pending"
            and publisher != session.user.id
            and self.is_member(publisher, change.project)
        ):
            kind = "review_approved" if change.status == "approved" else "review_changes_requested"
            notify.append(NotifyTarget(user=publisher, kind=kind))
        return self.record_event(session, change, "asset", record_from_row("asset", stored), notify)

    def own_playlist(self, session: SessionUser, playlist_id: str, project_id: int) -> dict[str, Any]:
        """The playlist's row when the user may change it: its author, or a supervisor or admin."""
        row = self.existing(playlists, playlist_id, project_id)
        refusal = playlist_refusal(session.user.role, row["author"] == session.user.id)
        if refusal is not None:
            raise DomainError("forbidden", refusal)
        if row["deleted"]:
            raise DomainError("invalid", "This playlist was deleted")
        return row

    def _write_playlist(self, session: SessionUser, change: Change, row: dict[str, Any]) -> ChangeResult:
        stored = {**row, "updated_at": self.now, "version": row["version"] + 1}
        self.sql.update_playlist.run(self.cursor, {**stored, "b_id": row["id"]})
        return self.record_event(session, change, "playlist", record_from_row("playlist", stored), [])

    def apply_save_playlist(self, session: SessionUser, change: SavePlaylistChange) -> ChangeResult:
        """Create, or replace the name and items of, a playlist: last writer (in server order) wins."""
        self.check_role(session, change)
        items = dump_json(change.items)
        found = self.row(playlists, change.playlist_id)
        if found is None:
            values = {
                "id": change.playlist_id,
                "project_id": change.project,
                "name": change.name,
                "items": items,
                "author": session.user.id,
                "updated_at": self.now,
                "deleted": False,
                "version": 1,
            }
            self.sql.insert["playlists"].run(self.cursor, values)
            return self.record_event(session, change, "playlist", record_from_row("playlist", values), [])
        if found["project_id"] != change.project:
            raise id_taken("Playlist", change.playlist_id)
        row = self.own_playlist(session, change.playlist_id, change.project)
        return self._write_playlist(session, change, {**row, "name": change.name, "items": items})

    def apply_delete_playlist(self, session: SessionUser, change: DeletePlaylistChange) -> ChangeResult:
        self.check_role(session, change)
        row = self.own_playlist(session, change.playlist_id, change.project)
        return self._write_playlist(session, change, {**row, "items": "[]", "deleted": True})


def _apply_in_one_transaction(engine: Engine, batch: list[tuple[SessionUser, Change]]) -> list[ChangeResult]:
    statements = statements_for(engine.dialect)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            applier = _BatchApplier(cursor, statements)
            results = [applier.apply(session, change) for session, change in batch]
            applier.finish()
        finally:
            cursor.close()
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()
    return results


def apply_batch(engine: Engine, batch: list[tuple[SessionUser, Change]]) -> list[ChangeResult]:
    """Apply changes in order in one transaction; on a database failure retry them one by one."""
    database_errors = (SQLAlchemyError, engine.dialect.loaded_dbapi.Error)
    # The database itself is unavailable (locked from outside past the busy timeout, connection lost):
    # retrying each change would wait that long again, once per change.
    unavailable = (OperationalError, engine.dialect.loaded_dbapi.OperationalError)
    started = time.perf_counter()
    try:
        results = _apply_in_one_transaction(engine, batch)
    except database_errors as exc:
        if len(batch) == 1 or isinstance(exc, unavailable):
            log.warning("event=batch_not_stored size=%d error=%r", len(batch), str(exc)[:200])
            error = DomainError("internal", "The server could not store this change; retry later")
            return [
                ChangeResult(change_id=change.change_id, project=change.project, error=error)
                for _session, change in batch
            ]
        log.warning("event=batch_failed size=%d retrying_individually=1", len(batch))
        return [apply_batch(engine, [item])[0] for item in batch]
    log.debug("event=batch_committed size=%d ms=%.2f", len(batch), (time.perf_counter() - started) * 1e3)
    return results
