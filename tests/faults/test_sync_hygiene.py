"""What the server gives away: its database to other local users, accounts to common passwords, and the
existence of other projects' records through its error messages."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.db import DB_FILE_NAME
from tests.server.conftest import Cast, build_cast
from tests.server.harness import ROOT, ServerProcess
from tests.server.wsclient import RawClient, asset_change, comment_change, new_id, task_change


def server_cli(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *argv],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_server_database_is_private_to_its_owner(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "server-data"
    previous = os.umask(0o022)  # the usual umask: files world-readable unless made otherwise
    try:
        added = add_user(data_dir, "ana", "x7-long-secret")
    finally:
        os.umask(previous)
    assert added.returncode == 0, added.stderr
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for path in data_dir.iterdir():
        if path.name.startswith(DB_FILE_NAME):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def add_user(data_dir: Path, name: str, password: str) -> subprocess.CompletedProcess[str]:
    return server_cli(
        "user", "add", name, "--password-stdin", "--data-dir", str(data_dir), stdin=password + "\n"
    )


@pytest.mark.parametrize("password", ["password", "Password123!", "qwertyuiop", "letmein1"])
def test_common_passwords_are_refused(tmp_path: Path, password: str) -> None:
    result = add_user(tmp_path, "ana", password)
    assert result.returncode == 2
    assert "common passwords" in result.stderr


def test_the_user_name_is_not_a_password_and_an_unusual_one_is_accepted(tmp_path: Path) -> None:
    refused = add_user(tmp_path, "annabelle", "Annabelle1")
    assert refused.returncode == 2
    assert "user name" in refused.stderr
    assert add_user(tmp_path, "annabelle", "tin-kettle-orbit").returncode == 0


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[ServerProcess, Cast]]:
    cast = build_cast(tmp_path / "server")
    running = ServerProcess(cast.data_dir).start()
    yield running, cast
    running.stop()


def test_errors_do_not_tell_other_projects_records_from_missing_ones(
    live: tuple[ServerProcess, Cast],
) -> None:
    server, cast = live

    async def scenario() -> None:
        alice = await RawClient.open(server.url, cast.tokens["alice"])
        dave = await RawClient.open(server.url, cast.tokens["dave"])  # on "other show" only
        theirs = asset_change(cast.other_project)
        assert (await dave.request(theirs))["type"] == "ack"
        ours = asset_change(cast.project)
        assert (await alice.request(ours))["type"] == "ack"

        def same(
            existing: dict[str, str], missing: dict[str, str], existing_id: str, missing_id: str
        ) -> None:
            assert existing["code"] == missing["code"]
            assert existing["message"].replace(existing_id, "ID") == missing["message"].replace(
                missing_id, "ID"
            )
            assert "another project" not in existing["message"]

        unknown = new_id()
        for make in (
            lambda asset: comment_change(cast.project, asset, "here?"),
            lambda asset: task_change(cast.project, "here?", asset_id=asset),
        ):
            same(
                await alice.request(make(theirs["asset_id"])),
                await alice.request(make(unknown)),
                theirs["asset_id"],
                unknown,
            )
        # A new record under an id that is used (in this project or any other): the same refusal.
        here = await alice.request(asset_change(cast.project, asset_id=theirs["asset_id"]))
        assert here["code"] == "duplicate_id"
        assert "another project" not in here["message"]
        await alice.close()
        await dave.close()

    asyncio.run(scenario())
