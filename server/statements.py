"""The writer's SQL statements, compiled once per dialect (see ``server.sql``).

The writer runs a handful of these per change; each costs a few microseconds, so the hot path asks for
exactly the columns it needs and folds checks together where one statement can answer them (the token
and the membership of the change's project come back from one query).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from core.sync.protocol import TASK_FIELDS
from core.sync.records import REVIEW_COLUMNS
from server.cluster_messages import EVENTS_CHANNEL
from server.db import (
    assets,
    comments,
    events,
    memberships,
    notifications,
    playlists,
    projects,
    tasks,
    tokens,
    users,
)
from server.sql import CompiledStatement

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect


def _param(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


def _columns_of(table: sa.Table) -> tuple[str, ...]:
    return tuple(column.name for column in table.columns)


class Statements:
    def __init__(self, dialect: Dialect) -> None:
        def compiled(statement: Any, column_keys: tuple[str, ...] | None = None) -> CompiledStatement:
            return CompiledStatement(statement, dialect, column_keys)

        self.dialect = dialect

        # The sign-in behind a change and whether its user is a member of the change's project: one
        # row (revoked, expires_at, removed, member user id or NULL, the project's deleted_at), or none
        # for an unknown token.
        self.access = compiled(
            sa.select(
                tokens.c.revoked,
                tokens.c.expires_at,
                users.c.removed,
                memberships.c.user_id,
                sa.select(projects.c.deleted_at)
                .where(projects.c.id == _param("b_project"))
                .scalar_subquery(),
            )
            .join(users, users.c.id == tokens.c.user_id)
            .outerjoin(
                memberships,
                sa.and_(
                    memberships.c.user_id == tokens.c.user_id,
                    memberships.c.project_id == _param("b_project"),
                ),
            )
            .where(tokens.c.token_hash == _param("b_hash"))
        )
        self.event_by_change = compiled(
            sa.select(events.c.project_id, events.c.seq, events.c.actor, events.c.payload).where(
                events.c.change_id == _param("b_change")
            )
        )
        self.is_member = compiled(
            sa.select(memberships.c.user_id).where(
                memberships.c.project_id == _param("b_project"),
                memberships.c.user_id == _param("b_user"),
            )
        )
        self.member_named = compiled(
            sa.select(users.c.id)
            .join(memberships, memberships.c.user_id == users.c.id)
            .where(memberships.c.project_id == _param("b_project"), users.c.name == _param("b_name"))
        )
        self.by_id = {
            table.name: compiled(sa.select(table).where(table.c.id == _param("b_id")))
            for table in (assets, comments, tasks, playlists)
        }
        # Existence checks read the primary key only (an asset row can hold a 64 KiB thumbnail).
        self.id_exists = {
            table.name: compiled(sa.select(table.c.id).where(table.c.id == _param("b_id")))
            for table in (tasks,)
        }
        self.asset_owner = compiled(
            sa.select(assets.c.project_id, assets.c.created_by).where(assets.c.id == _param("b_id"))
        )
        # A new comment's checks in one statement (comments are the most frequent change): the seq of
        # an event already stored under this change id, the asset's project and publisher, and the
        # comment id if it is taken.
        self.comment_checks = compiled(
            sa.select(
                sa.select(events.c.seq).where(events.c.change_id == _param("b_change")).scalar_subquery(),
                sa.select(assets.c.project_id).where(assets.c.id == _param("b_asset")).scalar_subquery(),
                sa.select(assets.c.created_by).where(assets.c.id == _param("b_asset")).scalar_subquery(),
                sa.select(comments.c.id).where(comments.c.id == _param("b_id")).scalar_subquery(),
            )
        )
        self.columns = {table.name: _columns_of(table) for table in (assets, comments, tasks, playlists)}
        # Takes the row lock (PostgreSQL) and the project's next number in one statement; a batch with
        # several events for one project numbers the rest in memory and stores the head at the end.
        self.advance_head = compiled(
            projects.update()
            .where(projects.c.id == _param("b_project"))
            .values(head_seq=projects.c.head_seq + sa.literal_column("1"))
            .returning(projects.c.head_seq)
        )
        self.set_head = compiled(
            projects.update().where(projects.c.id == _param("b_project")).values(head_seq=_param("b_head"))
        )
        self.insert = {
            table.name: compiled(table.insert(), _columns_of(table))
            for table in (assets, comments, tasks, playlists, events)
        }
        notification_columns = tuple(c for c in _columns_of(notifications) if c != "id")
        self.insert["notifications"] = compiled(notifications.insert(), notification_columns)
        self.update_asset = compiled(
            assets.update()
            .where(assets.c.id == _param("b_id"))
            .values(
                {name: _param(name) for name in ("name", "kind", "content_hash", "metadata", "thumbnail_b64")}
                | {name: _param(name) for name in REVIEW_COLUMNS}
                | {"version": _param("version"), "updated_at": _param("updated_at")}
            )
        )
        self.update_review = compiled(
            assets.update()
            .where(assets.c.id == _param("b_id"))
            .values(
                {name: _param(name) for name in REVIEW_COLUMNS}
                | {"version": _param("version"), "updated_at": _param("updated_at")}
            )
        )
        self.update_comment = compiled(
            comments.update()
            .where(comments.c.id == _param("b_id"))
            .values(
                body=_param("body"),
                annotation=_param("annotation"),
                deleted=_param("deleted"),
                edited_at=_param("edited_at"),
                version=_param("version"),
            )
        )
        self.update_playlist = compiled(
            playlists.update()
            .where(playlists.c.id == _param("b_id"))
            .values({name: _param(name) for name in ("name", "items", "updated_at", "deleted", "version")})
        )
        self.update_task = compiled(
            tasks.update()
            .where(tasks.c.id == _param("b_id"))
            .values(
                {name: _param(name) for name in TASK_FIELDS}
                | {
                    "version": _param("version"),
                    "updated_at": _param("updated_at"),
                    "field_versions": _param("field_versions"),
                }
            )
        )
        # PostgreSQL: tell the other server processes a project's new head (``server.cluster``). The
        # notification is part of the transaction: sent at commit, never for a rollback.
        self.notify_head: CompiledStatement | None = None
        if dialect.name == "postgresql":
            self.notify_head = compiled(
                sa.select(sa.func.pg_notify(sa.literal_column(f"'{EVENTS_CHANNEL}'"), _param("b_payload")))
            )


_STATEMENTS: dict[tuple[str, str, str], Statements] = {}


def statements_for(dialect: Dialect) -> Statements:
    key = (dialect.name, dialect.driver, str(dialect.paramstyle))
    statements = _STATEMENTS.get(key)
    if statements is None:
        statements = _STATEMENTS[key] = Statements(dialect)
    return statements
