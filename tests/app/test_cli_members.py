"""``stratopipe sync member add|remove`` as a lead runs it: a child process against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from server import admin
from server.app import ServerConfig
from server.db import open_database, projects
from server.embedded import ServerThread
from server.store import member_projects
from tests.app.test_cli_sync import EXIT_REFUSED, cli
from tests.server.conftest import Cast, build_cast


@pytest.fixture
def cast(tmp_path: Path) -> Cast:
    built = build_cast(tmp_path / "server")
    engine = open_database(built.db_url)
    built.users["sam"] = admin.add_user(engine, "sam", "supervisor", "sam-password")
    admin.add_member(engine, "show", "sam")
    engine.dispose()
    return built


@pytest.fixture
def server_url(cast: Cast) -> Iterator[str]:
    thread = ServerThread(ServerConfig(db_url=cast.db_url, port=0, ping_interval_s=None)).start()
    yield thread.url
    thread.stop()


def test_a_supervisor_adds_and_removes_a_member_an_artist_is_refused(
    tmp_path: Path, cast: Cast, server_url: str
) -> None:
    def signed_in(user: str) -> tuple[Path, str]:
        data, token_file = tmp_path / user, str(tmp_path / f"{user}-token")
        login = ("sync", "login", "--server", server_url, "--user", user, "--password-stdin")
        done = cli(data, *login, "--token-file", token_file, stdin=f"{user}-password\n")
        assert done.returncode == 0, done.stderr
        return data, token_file

    def dave_in_show() -> bool:
        engine = open_database(cast.db_url)
        with engine.connect() as connection:
            names = [p.name for p in member_projects(connection, cast.users["dave"])]
        engine.dispose()
        return "show" in names

    sam, sam_token = signed_in("sam")
    added = cli(
        sam, "sync", "member", "add", "dave", "--server-project", "show", "--json", "--token-file", sam_token
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == {
        "project": cast.project,
        "username": "dave",
        "member": True,
        "changed": True,
    }
    assert dave_in_show()
    alice, alice_token = signed_in("alice")
    remove = ("sync", "member", "remove", "dave", "--server-project", "show", "--token-file")
    refused = cli(alice, *remove, alice_token)
    assert refused.returncode == EXIT_REFUSED
    assert "artist role cannot add or remove project members" in refused.stderr
    assert dave_in_show()
    assert cli(sam, *remove, sam_token).returncode == 0
    assert not dave_in_show()


def test_the_owner_deletes_the_project_for_everyone_a_supervisor_may_not(
    tmp_path: Path, cast: Cast, server_url: str
) -> None:
    engine = open_database(cast.db_url)
    admin.set_owner(engine, "show", "alice")  # an artist by role, but the project's owner
    engine.dispose()

    def signed_in(user: str) -> tuple[Path, str]:
        data, token_file = tmp_path / user, str(tmp_path / f"{user}-token")
        login = ("sync", "login", "--server", server_url, "--user", user, "--password-stdin")
        assert cli(data, *login, "--token-file", token_file, stdin=f"{user}-password\n").returncode == 0
        return data, token_file

    def show_deleted() -> bool:
        engine = open_database(cast.db_url)
        with engine.connect() as connection:
            deleted = connection.execute(
                projects.select().with_only_columns(projects.c.deleted_at).where(projects.c.name == "show")
            ).scalar_one()
        engine.dispose()
        return deleted is not None

    delete = ("sync", "delete-project", "--server-project", "show", "--token-file")
    sam, sam_token = signed_in("sam")
    unconfirmed = cli(sam, *delete, sam_token)
    assert unconfirmed.returncode == 2
    assert "--yes" in unconfirmed.stderr
    refused = cli(sam, *delete, sam_token, "--yes")
    assert refused.returncode == EXIT_REFUSED, refused.stderr
    assert not show_deleted()

    alice, alice_token = signed_in("alice")
    done = cli(alice, *delete, alice_token, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["deleted"], answer["project"]) == ("show", cast.project)
    assert answer["seq"] > 0
    assert show_deleted()
