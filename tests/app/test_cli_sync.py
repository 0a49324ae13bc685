"""``stratopipe sync|comment|task`` as a render node or a pipeline script runs them: real child processes
against a real ``stratopipe-server`` process serving wss:// with a certificate from a CA this test made.

No keyring here (the null backend, as on a headless node): tokens go through ``--token-file`` or
``STRATOPIPE_TOKEN``; the keyring path is the app's, tested in-process in ``tests/core/sync``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.paths import AppPaths
from tests.core.sync.test_tls import Pki, add_studio_users, make_pki
from tests.server.harness import ServerProcess

EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 1, 2, 3


def cli(
    data_dir: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRATOPIPE_")}
    environment["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def server(tmp_path: Path, pki: Pki) -> Iterator[str]:
    data = tmp_path / "server"
    add_studio_users(data)
    running = ServerProcess(data, "--tls-cert", str(pki.cert_file), "--tls-key", str(pki.key_file)).start()
    yield f"wss://127.0.0.1:{running.port}"
    running.stop()


def catalog_with_shot(data_dir: Path) -> int:
    """A local project "Local show" holding one asset; returns the asset's catalog id."""
    paths = AppPaths.resolve(data_dir).ensure()
    catalog = Catalog(paths.catalog_file)
    try:
        project = catalog.create_project("Local show")
        shot = NewAsset(
            project_id=project.id,
            name="shot040.exr",
            path="/shots/shot040.exr",
            kind="image",
            content_hash="shot040-content",  # the same picture on both machines
            size_bytes=1000,
        )
        return next(iter(catalog.add_assets([shot]).values()))
    finally:
        catalog.close()


def sign_in(data: Path, url: str, pki: Pki, token_file: Path) -> subprocess.CompletedProcess[str]:
    return cli(
        data,
        *("sync", "login", "--server", url, "--user", "alice", "--password-stdin", "--json"),
        *("--ca-file", str(pki.ca_file), "--token-file", str(token_file)),
        stdin="alice-password\n",
    )


def test_a_render_node_signs_in_comments_offline_and_pushes(tmp_path: Path, server: str, pki: Pki) -> None:
    data, token_file = tmp_path / "node", tmp_path / "node-token"
    shot = catalog_with_shot(data)
    login = ["sync", "login", "--server", server, "--user", "alice", "--password-stdin"]

    no_keyring = cli(data, *login, "--ca-file", str(pki.ca_file), stdin="alice-password\n")
    assert no_keyring.returncode == EXIT_FAILED
    assert "no system keyring" in no_keyring.stderr
    assert "--token-file" in no_keyring.stderr
    stranger = make_pki(tmp_path / "stranger", "Someone else's CA")
    wrong_ca = cli(
        data, *login, "--ca-file", str(stranger.ca_file), "--token-file", str(token_file), stdin="x\n"
    )
    assert wrong_ca.returncode == EXIT_FAILED
    assert "certificate could not be verified" in wrong_ca.stderr
    assert not token_file.exists()
    wrong_password = cli(
        data, *login, "--ca-file", str(pki.ca_file), "--token-file", str(token_file), stdin="nope\n"
    )
    assert wrong_password.returncode == EXIT_REFUSED
    assert "Wrong user name or password" in wrong_password.stderr

    signed_in = ok(sign_in(data, server, pki, token_file))
    assert signed_in == {
        "server": server,
        "user": "alice",
        "role": "artist",
        "projects": ["show"],
        "token": f"file {token_file}",
        "held": 0,
    }
    assert token_file.stat().st_mode & 0o777 == 0o600

    # Not shared yet: the note stays on this machine, then joins the outbox once when linked.
    private = ok(cli(data, "comment", "add", str(shot), "Too soft", "--json"))
    assert isinstance(private, dict)
    assert (private["body"], private["sync_state"], private["author_name"]) == (
        "Too soft",
        "private",
        "alice",
    )
    linked = ok(cli(data, "sync", "link", "--project", "Local show", "--server-project", "show", "--json"))
    assert isinstance(linked, dict)
    assert linked["private_notes_shared"] == 2, "the note and the asset it is about"

    comment = ok(cli(data, "comment", "add", str(shot), "Edge is soft", "--frame", "12", "--json"))
    assert isinstance(comment, dict)
    assert (comment["body"], comment["frame"], comment["sync_state"]) == ("Edge is soft", 12, "pending")
    task = ok(cli(data, "task", "add", "--project", "Local show", "Fix the edge", "--json"))
    assert isinstance(task, dict)
    status = ok(cli(data, "sync", "status", "--json", "--token-file", str(token_file)))
    assert isinstance(status, dict)
    assert (status["signed_in"], status["token"], status["pending"]) == (True, "file", 4)
    assert status["links"] == [{"project": "Local show", "server_project": "show"}]

    not_signed_in = cli(data, "sync", "push", "--json")
    assert not_signed_in.returncode == EXIT_REFUSED
    assert "not signed in" in not_signed_in.stderr
    pushed = ok(cli(data, "sync", "push", "--json", "--token-file", str(token_file)))
    assert isinstance(pushed, dict)
    assert (pushed["sent"], pushed["pending"], pushed["rejected"]) == (4, 0, [])
    listed = ok(cli(data, "comment", "list", str(shot), "--json"))
    assert [(c["body"], c["sync_state"], c["author_name"]) for c in listed] == [  # type: ignore[union-attr]
        ("Too soft", "synced", "alice"),
        ("Edge is soft", "synced", "alice"),
    ]

    # A second machine pulls with the token in the environment and moves the task on.
    other = tmp_path / "other"
    other_shot = catalog_with_shot(other)
    ok(sign_in(other, server, pki, tmp_path / "other-token"))
    ok(cli(other, "sync", "link", "--project", "Local show", "--server-project", "show", "--json"))
    token = {"STRATOPIPE_TOKEN": token_file.read_text().strip()}
    pulled = ok(cli(other, "sync", "pull", "--json", env=token))
    assert isinstance(pulled, dict)
    assert pulled["records_changed"] >= 3
    assert [c["body"] for c in ok(cli(other, "comment", "list", str(other_shot), "--json"))] == [  # type: ignore[union-attr]
        "Too soft",
        "Edge is soft",
    ]
    moved = ok(cli(other, "task", "set", task["id"], "--status", "review", "--assignee", "alice", "--json"))
    assert isinstance(moved, dict)
    assert moved["status"] == "review"
    ok(cli(other, "sync", "push", "--json", env=token))
    ok(cli(data, "sync", "pull", "--json", "--token-file", str(token_file)))
    tasks = ok(cli(data, "task", "list", "--project", "Local show", "--assignee", "alice", "--json"))
    assert [(t["title"], t["status"]) for t in tasks] == [("Fix the edge", "review")]  # type: ignore[union-attr]

    bad_token = cli(data, "sync", "pull", env={"STRATOPIPE_TOKEN": "forged"})
    assert bad_token.returncode == EXIT_REFUSED
    assert "refused the sign-in" in bad_token.stderr
    ok(cli(data, "sync", "logout", "--json", "--token-file", str(token_file)))
    assert not token_file.exists()
    assert cli(data, "sync", "status", "--json").returncode == EXIT_REFUSED


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    no_stdin = cli(data, "sync", "login", "--server", "ws://127.0.0.1:1", "--user", "a")
    assert no_stdin.returncode == EXIT_USAGE
    assert "--password-stdin" in no_stdin.stderr
    assert cli(data, "comment", "list", "999").returncode == EXIT_USAGE
    assert cli(data, "task", "set").returncode == EXIT_USAGE  # argparse: the task id is missing
