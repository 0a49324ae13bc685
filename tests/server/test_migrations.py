"""The tables ``server.db`` declares are the ones its Alembic migrations build."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db import default_db_url, metadata, open_database


def test_the_migrations_build_the_declared_schema(tmp_path: Path) -> None:
    engine = open_database(default_db_url(tmp_path))
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []
