"""``stratopipe-server`` administration commands and a real ``serve`` process stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import io
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from websockets.asyncio.client import connect

from core.sync.client_events import AuthError
from core.sync.sign_in import login
from server.cli import main
from server.db import create_db_engine, default_db_url


def cli(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(list(argv))


def test_user_and_project_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert (
        cli(
            monkeypatch,
            "user",
            "add",
            "ana",
            "--role",
            "supervisor",
            "--password-stdin",
            *data,
            stdin="long-password\n",
        )
        == 0
    )
    assert cli(monkeypatch, "user", "add", "ben", "--password-stdin", *data, stdin="pw-for-ben\n") == 0
    assert cli(monkeypatch, "user", "add", "ana", "--password-stdin", *data, stdin="another-1\n") == 2
    assert "already exists" in capsys.readouterr().err
    assert cli(monkeypatch, "user", "add", "cy", "--password-stdin", *data, stdin="short\n") == 2
    assert "at least 8" in capsys.readouterr().err
    assert cli(monkeypatch, "project", "add", "Big Show", *data) == 0
    assert cli(monkeypatch, "project", "member", "add", "Big Show", "ben", *data) == 0
    assert cli(monkeypatch, "project", "member", "add", "No Show", "ben", *data) == 2
    capsys.readouterr()
    assert cli(monkeypatch, "user", "list", *data) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[1:3] for line in listing] == [["ana", "supervisor"], ["ben", "artist"]]
    assert cli(monkeypatch, "project", "member", "remove", "Big Show", "ben", *data) == 0
    assert cli(monkeypatch, "project", "member", "remove", "Big Show", "ben", *data) == 2
    assert cli(monkeypatch, "user", "passwd", "ben", "--password-stdin", *data, stdin="new-secret\n") == 0
    assert cli(monkeypatch, "user", "remove", "ana", *data) == 0
    capsys.readouterr()
    assert cli(monkeypatch, "user", "list", *data) == 0
    assert [line.split("\t")[1] for line in capsys.readouterr().out.splitlines()] == ["ben"]
    engine = create_db_engine(default_db_url(tmp_path.resolve()))
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT password_hash FROM users WHERE name='ben'"))
        password_hash = stored.scalar_one()
    engine.dispose()
    assert password_hash.startswith("scrypt$")
    assert "new-secret" not in password_hash


def _wait_for_port(log_file: Path, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = re.search(r"event=listening host=\S+ port=(\d+)", log_file.read_text())
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{log_file.read_text()}")
        time.sleep(0.05)
    raise AssertionError("server did not report its port")


def test_serve_process_stops_cleanly_on_sigterm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = ["--data-dir", str(tmp_path)]
    cli(monkeypatch, "user", "add", "ana", "--password-stdin", *data, stdin="long-password\n")
    cli(monkeypatch, "project", "add", "show", *data)
    cli(monkeypatch, "project", "member", "add", "show", "ana", *data)
    log_file = tmp_path / "server.log"
    with log_file.open("wb") as log_output:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--port", "0", *data],
            stdout=log_output,
            stderr=subprocess.STDOUT,
        )
    try:
        port = _wait_for_port(log_file, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert json.loads(response.read())["status"] == "ok"

        async def scenario() -> int | None:
            with pytest.raises(AuthError):
                await login(f"ws://127.0.0.1:{port}", "ana", "wrong-password")
            result = await login(f"ws://127.0.0.1:{port}", "ana", "long-password")
            async with connect(f"ws://127.0.0.1:{port}") as ws:
                await ws.send(json.dumps({"type": "auth", "token": result.token}))
                await ws.recv()
                change = {
                    "type": "upsert_asset",
                    "id": "1",
                    "change_id": "c-1",
                    "project": 1,
                    "asset_id": "a-1",
                    "name": "plate",
                    "kind": "image",
                }
                await ws.send(json.dumps(change))
                assert json.loads(await ws.recv())["type"] == "ack"
                process.send_signal(signal.SIGTERM)
                await ws.wait_closed()
                return ws.close_code

        assert asyncio.run(scenario()) == 1001
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "event=stopped" in log_file.read_text()
    engine = create_db_engine(default_db_url(tmp_path.resolve()))
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT name FROM assets")).scalar_one() == "plate"
    engine.dispose()
