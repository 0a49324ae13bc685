"""Opening the catalog database: engine, pragmas, migrations.

WAL lets the UI read while the catalog writer writes; ``synchronous=NORMAL`` is safe under WAL and keeps
bulk ingest fast. Migrations run at every open, so a newer app upgrades an older catalog in place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from core.catalog.migrations import HEAD_REVISION

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache: keeps hot index pages resident
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def create_catalog_engine(db_file: Path) -> Engine:
    db_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{db_file}",
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=8,
    )
    event.listen(engine, "connect", _set_pragmas)
    return engine


def schema_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            value = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except OperationalError:
        return None
    return str(value) if value is not None else None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (no-op when it already is).

    Two processes may open a fresh catalog at once (the app and ``stratopipe ingest``): the upgrade runs
    in one ``BEGIN IMMEDIATE`` transaction, so the second waits for the first's write lock and then
    finds the schema current. SQLite's DDL is transactional, so a cut migration leaves nothing half done.
    """
    if schema_revision(engine) == HEAD_REVISION:
        return  # the common case at start-up: no need to import Alembic (~200 ms)
    from alembic import command
    from alembic.config import Config

    with engine.connect() as connection:
        # pysqlite opens transactions lazily and never before DDL: take the write lock ourselves.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        current = _revision_on(connection)
        if current == HEAD_REVISION:
            connection.rollback()
            return
        log.info("Migrating catalog schema from %s to %s", current, HEAD_REVISION)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()
    log.info("Catalog schema is up to date")


def _revision_on(connection: Connection) -> str | None:
    has_table = connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).scalar()
    if not has_table:
        return None
    value = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return str(value) if value is not None else None
