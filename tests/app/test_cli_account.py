"""``stratopipe sync password|profile|logout`` as real child processes against a real wss:// server
(certificate from a CA the test made), with a token file as on a headless node."""

from __future__ import annotations

from pathlib import Path

from core.paths import AppPaths
from core.sync.account import AccountChanged, update_profile
from tests.app.test_cli_sync import EXIT_FAILED, EXIT_REFUSED, cli, ok, pki, server, sign_in
from tests.core.sync.test_tls import Pki

__all__ = ["pki", "server"]  # fixtures shared with test_cli_sync


def accepted(url: str, token: str, pki: Pki) -> bool:
    return isinstance(update_profile(url, token, None, None, str(pki.ca_file)).run(), AccountChanged)


def test_password_profile_and_logout_from_the_command_line(tmp_path: Path, server: str, pki: Pki) -> None:
    data, token_file = tmp_path / "node", tmp_path / "node-token"
    ok(sign_in(data, server, pki, token_file))
    with_file = ("--json", "--token-file", str(token_file))

    shown = ok(cli(data, "sync", "profile", *with_file))
    assert shown == {"user": "alice", "display_name": "alice", "email": "", "role": "artist"}
    saved = ok(cli(data, "sync", "profile", "--name", "Alice L", "--email", "alice@studio.com", *with_file))
    assert saved == {
        "user": "alice",
        "display_name": "Alice L",
        "email": "alice@studio.com",
        "role": "artist",
    }
    bad_email = cli(data, "sync", "profile", "--email", "nowhere", *with_file)
    assert bad_email.returncode == 2
    assert "email address" in bad_email.stderr

    wrong = cli(data, "sync", "password", *with_file, stdin="not-it\nthrough-the-glass\n")
    assert wrong.returncode == EXIT_REFUSED
    assert "current password is wrong" in wrong.stderr
    changed = ok(cli(data, "sync", "password", *with_file, stdin="alice-password\nthrough-the-glass\n"))
    assert changed["password_changed"] is True  # type: ignore[index]
    token = token_file.read_text().strip()
    assert accepted(server, token, pki)  # this node keeps its sign-in

    logged_out = ok(cli(data, "sync", "logout", *with_file))
    assert logged_out["token_revoked"] is True  # type: ignore[index]
    assert not token_file.exists()
    assert not accepted(server, token, pki)  # the server refuses the old token now
    refused = cli(data, "sync", "profile", "--json", env={"STRATOPIPE_TOKEN": token})
    assert refused.returncode == EXIT_REFUSED
    assert "sign in again" in refused.stderr


def test_logout_offline_forgets_the_token_and_says_it_stays_valid(tmp_path: Path, pki: Pki) -> None:
    data, token_file = tmp_path / "node", tmp_path / "node-token"
    token_file.write_text("a-token\n")
    token_file.chmod(0o600)
    AppPaths.resolve(data).ensure().settings_file.write_text(
        '{"server_url": "ws://127.0.0.1:1", "username": "alice"}'
    )
    logged_out = cli(data, "sync", "logout", "--json", "--token-file", str(token_file))
    assert logged_out.returncode == 0, logged_out.stderr
    assert not token_file.exists()
    assert "until it expires" in logged_out.stderr
    unreachable = cli(data, "sync", "profile", "--json", env={"STRATOPIPE_TOKEN": "a-token"})
    assert unreachable.returncode == EXIT_FAILED
