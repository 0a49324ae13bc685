"""``stratopipe sync redeem`` as a new team member runs it: a child process, a real server, the code and
the chosen password on stdin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from server import invitations
from server.app import ServerConfig
from server.db import open_database
from server.embedded import ServerThread
from tests.app.test_cli_sync import EXIT_REFUSED, cli
from tests.server.conftest import Cast, build_cast


@pytest.fixture
def cast(tmp_path: Path) -> Cast:
    return build_cast(tmp_path / "server")


@pytest.fixture
def server_url(cast: Cast) -> Iterator[str]:
    thread = ServerThread(ServerConfig(db_url=cast.db_url, port=0, ping_interval_s=None)).start()
    yield thread.url
    thread.stop()


def test_an_invitation_is_redeemed_once_from_the_command_line(
    tmp_path: Path, cast: Cast, server_url: str
) -> None:
    engine = open_database(cast.db_url)
    code, _ = invitations.create_invitation(engine, "client", cast.project, None, 3600.0)
    engine.dispose()
    redeem = ("sync", "redeem", "--server", server_url, "--user", "greta", "--name", "Greta V", "--json")
    token_file = tmp_path / "greta-token"
    first = cli(
        tmp_path / "greta", *redeem, "--token-file", str(token_file), stdin=f"{code}\nmossy canyon 31\n"
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["role"] == "client"
    assert json.loads(first.stdout)["projects"] == ["show"]
    assert token_file.read_text().strip()
    again = cli(
        tmp_path / "other",
        *redeem[:5],
        "greta2",
        "--token-file",
        str(tmp_path / "t2"),
        stdin=f"{code}\nx y z w 1\n",
    )
    assert again.returncode == EXIT_REFUSED
    assert "already used" in again.stderr
