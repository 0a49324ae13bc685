"""A throwaway PostgreSQL cluster for the test run: initdb in a temp dir, a Unix socket in that dir, no
TCP. ``initdb``/``pg_ctl`` refuse to run as root (CI runs as root), so as root they run as the
``postgres`` user. Without the binaries the PostgreSQL tests are skipped, except in CI (``CI=true``),
where that is a failure: CI installs them (installers/bootstrap.sh).

Each test gets its own database, copied from a migrated template (``CREATE DATABASE ... TEMPLATE``
takes milliseconds; migrating takes a second).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

TEMPLATE = "stratopipe_template"


def find_bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresCluster:
    def __init__(self, bin_dir: Path, root: Path, settings: str = "-c fsync=off") -> None:
        """``settings``: server options; tests need no durability (``fsync=off``), benchmarks
        keep it."""
        self.bin_dir = bin_dir
        self.settings = settings
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self._numbers = itertools.count(1)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresCluster:
        if os.geteuid() == 0:
            # The postgres user owns the cluster and must reach it: the temp dir's parents are 0755.
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        options = f"-k {self.root} -c listen_addresses='' -c max_connections=300 {self.settings}"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "start",
        )
        self._execute(f"CREATE DATABASE {TEMPLATE}")
        from server.db import open_database

        open_database(self.url(TEMPLATE)).dispose()
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}"

    def conninfo(self, db_url: str = "") -> str:
        """libpq parameters for psycopg: the database of ``db_url``, else the ``postgres`` one."""
        database = sa.engine.make_url(db_url).database if db_url else "postgres"
        return f"dbname={database} user=postgres host={self.root}"

    def _execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as connection:
            connection.execute(statement)

    def new_database(self) -> str:
        """A fresh, migrated, empty database; its SQLAlchemy URL."""
        name = f"test_{os.getpid()}_{next(self._numbers)}"
        self._execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL binaries not found (apt-get install postgresql)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: CI must run the PostgreSQL tests")
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="stratopipe-pg-"))
    cluster = PostgresCluster(bin_dir, root)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
