"""A real sync server on 127.0.0.1 (port 0) over a throw-away SQLite file, with a small cast."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from server import admin
from server.app import ServerConfig
from server.db import default_db_url, open_database
from server.embedded import ServerThread
from tests.server.postgres import PostgresCluster, postgres_cluster

__all__ = ["BACKENDS", "Cast", "RunningServer", "build_cast", "postgres_cluster"]


@dataclass
class Cast:
    data_dir: Path
    db_url: str
    project: int
    other_project: int
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class RunningServer:
    cast: Cast
    config: ServerConfig
    thread: ServerThread | None = None

    @property
    def url(self) -> str:
        assert self.thread is not None
        return self.thread.url

    def start(self, **overrides: object) -> RunningServer:
        self.config = replace(self.config, **overrides)  # type: ignore[arg-type]
        self.thread = ServerThread(self.config).start()
        # A restart reuses the port so clients find the server where they left it.
        self.config = replace(self.config, port=self.thread.port)
        return self

    def stop(self) -> None:
        if self.thread is not None:
            self.thread.stop()
            self.thread = None


def build_cast(data_dir: Path, db_url: str | None = None) -> Cast:
    """Two projects and four people (alice, bob, carol the client on "show"; dave on "other show"),
    in a SQLite file in ``data_dir`` unless ``db_url`` names another database (an empty PostgreSQL one)."""
    data_dir.mkdir()
    url = db_url or default_db_url(data_dir)
    engine = open_database(url)
    people = {"alice": "artist", "bob": "artist", "carol": "client", "dave": "artist"}
    result = Cast(
        data_dir=data_dir,
        db_url=url,
        project=admin.add_project(engine, "show"),
        other_project=admin.add_project(engine, "other show"),
    )
    for name, role in people.items():
        user_id = admin.add_user(engine, name, role, f"{name}-password")  # type: ignore[arg-type]
        result.users[name] = user_id
        # Tokens issued directly: scrypt (about 50 ms a check) is exercised by the login tests only.
        result.tokens[name] = admin.issue_token(engine, user_id).token
    for name in ("alice", "bob", "carol"):
        admin.add_member(engine, "show", name)
    admin.add_member(engine, "other show", "dave")
    engine.dispose()
    return result


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite" unless a module parametrises it (``pytest.mark.parametrize("db_backend",
    BACKENDS, indirect=True)``) to run the same tests on PostgreSQL too."""
    return str(getattr(request, "param", "sqlite"))


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def cast(tmp_path: Path, db_backend: str, request: pytest.FixtureRequest) -> Cast:
    if db_backend == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        return build_cast(tmp_path / "server", cluster.new_database())
    return build_cast(tmp_path / "server")


@pytest.fixture
def sync_server(cast: Cast) -> Iterator[RunningServer]:
    config = ServerConfig(db_url=cast.db_url, port=0, auth_timeout_s=5.0, ping_interval_s=None)
    running = RunningServer(cast, config).start()
    yield running
    running.stop()
