"""Server storage: SQLAlchemy Core tables, engine set-up and Alembic migrations run at start-up.

SQLite (WAL) in the server's data dir by default; any SQLAlchemy URL (PostgreSQL for a studio) otherwise.
The tables here mirror ``server/migrations/versions``; a schema change needs a new migration too.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event

from core.sync.records import record_columns

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

DB_FILE_NAME = "stratopipe-server.sqlite3"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(512), nullable=False),
    sa.Column("removed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.String(40), nullable=False),
    # Migration 0003: a disabled account keeps its memberships (an administrator can enable it again)
    # but cannot sign in; removed accounts lose everything but their past work.
    sa.Column("email", sa.String(254), nullable=False, server_default=""),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("head_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", sa.String(40), nullable=False),
    # The user an administrator named owner (migration 0008): may delete the project's shared assets.
    sa.Column("owner_id", sa.Integer, nullable=True),
    # When its owner or an administrator deleted it (migration 0009): NULL while it is live.
    sa.Column("deleted_at", sa.String(40), nullable=True),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("change_id", sa.String(64), nullable=False, unique=True),
    sa.Column("actor", sa.Integer, nullable=False),
    sa.Column("op", sa.String(32), nullable=False),
    # The Event exactly as broadcast (JSON text): catch-up pages splice it without re-serialising.
    sa.Column("payload", sa.Text, nullable=False),
)

# The synced records: the columns that show them are shared with the client's tables
# (``core.sync.records``); the server adds when they were written and its conflict bookkeeping.
assets = sa.Table(
    "assets",
    metadata,
    *record_columns("asset"),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
    sa.Index("ix_assets_project_id", "project_id"),
)

comments = sa.Table(
    "comments",
    metadata,
    *record_columns("comment"),
    sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
    sa.Index("ix_comments_project_asset", "project_id", "asset_id"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    *record_columns("task"),
    # {field: [version that last set it, user id]}: how stale edits are detected per field.
    sa.Column("field_versions", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
    sa.Index("ix_tasks_project_id", "project_id"),
)

# Review sessions (migration 0007); a deleted one stays as a tombstone with no items.
playlists = sa.Table(
    "playlists",
    metadata,
    *record_columns("playlist"),
    sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
    sa.Index("ix_playlists_project_id", "project_id"),
)

# The server's identity (``server_id``, migration 0002): clients know the server by it, not by its URL.
server_meta = sa.Table(
    "server_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.Integer, nullable=False),
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("read", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_notifications_user", "user_id", "id"),
)

# Published media (migration 0005): each file once in the content-addressed store (``media_blobs``,
# keyed by sha256), referenced by every project it was published to; a project's usage is the sum of
# the sizes it references, checked against its quota (``media_quotas``, else the server's default).
media_blobs = sa.Table(
    "media_blobs",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("chunk_bytes", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

media_refs = sa.Table(
    "media_refs",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("media_blobs.sha256"), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("published_by", sa.Integer, nullable=False),
    sa.Column("published_at", sa.String(40), nullable=False),
)

media_quotas = sa.Table(
    "media_quotas",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("quota_bytes", sa.BigInteger, nullable=False),
)

# One-time codes (migration 0006), stored as their SHA-256 like tokens: an invitation creates an
# account with a role (and a project membership); a reset code lets a user choose a new password.
invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=True),
    sa.Column("created_by", sa.Integer, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("used_at", sa.Float, nullable=True),
    sa.Column("used_by", sa.Integer, nullable=True),
)

password_resets = sa.Table(
    "password_resets",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_by", sa.Integer, nullable=True),
    sa.Column("expires_at", sa.Float, nullable=False),
)


def default_db_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / DB_FILE_NAME}"


# How long a statement waits for another process's lock before failing. The server's database work runs
# on executor threads, so a long wait stalls writes only, never the event loop.
DEFAULT_BUSY_TIMEOUT_S = 10.0


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (catch-up pages) never block the writer. NORMAL: durable across an application crash;
    # a power cut can lose the last few commits, which clients re-send from their outboxes anyway.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # 32 MiB of page cache (the default is 2 MiB): the writer's index pages stay in memory.
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


# With checkpoints deferred, a commit only appends to the WAL; this many pages (80 MiB) is the safety
# net should background checkpoints fall behind.
DEFERRED_WAL_AUTOCHECKPOINT_PAGES = 20_000


def _defer_wal_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA wal_autocheckpoint={DEFERRED_WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def defer_checkpoints(engine: Engine) -> None:
    """SQLite: stop commits from running WAL checkpoints (a commit every thousand pages would copy the
    WAL back into the database file, stalling the server's event loop); call ``checkpoint`` from
    another thread instead."""
    event.listen(engine, "connect", _defer_wal_checkpoints)
    engine.dispose()  # connections opened before (migrations) reconnect with the setting


def checkpoint(engine: Engine) -> None:
    """Copy committed WAL pages into the database file without blocking writers (PASSIVE)."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def create_db_engine(url: str, pool_size: int = 8, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``url``; SQLite files get WAL and a busy timeout so the CLI can run beside a server."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_s}, pool_size=pool_size
        )
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    # A server process reads on four threads and writes on one connection: a few spare connections
    # cover the administrator's commands; several processes share the database's max_connections
    # (docs/deploy.md). Recycled hourly so a failed-over database's stale sockets do not linger.
    return sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=2, pool_recycle=3600)


def _private_sqlite_file(url: str) -> None:
    """The database holds password hashes and every comment: only its owner may read it. SQLite gives
    its -wal and -shm files the database file's mode, so creating that file 0600 covers all three."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    elif path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("event=database_permissions_tightened path=%s", path)
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():
            companion.chmod(0o600)


def server_id(engine: Engine) -> str:
    with engine.connect() as connection:
        value = connection.execute(
            sa.select(server_meta.c.value).where(server_meta.c.key == "server_id")
        ).scalar_one()
    return str(value)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_database(url: str, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Engine:
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
    engine = create_db_engine(url, busy_timeout_s=busy_timeout_s)
    migrate(engine)
    return engine
