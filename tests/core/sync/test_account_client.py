"""The account requests without Qt, against a real in-process server: changing one's password, the
profile, signing out, and a lock-out told in words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.sync.account import AccountChanged, change_password, sign_out, sign_out_result, update_profile
from core.sync.sign_in import SignInAttempt, SignInFailure, duration_in_words
from tests.server.conftest import Cast, RunningServer, build_cast
from tests.server.harness import FakeClock, lockout_config


@pytest.fixture
def cast(tmp_path: Path) -> Cast:
    return build_cast(tmp_path / "server")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(cast: Cast, clock: FakeClock) -> Iterator[RunningServer]:
    config = lockout_config(cast.db_url, clock)
    running = RunningServer(cast, config).start()
    yield running
    running.stop()


def accepted(url: str, token: str) -> bool:
    """Whether the server accepts ``token`` on a new connection (a profile request that changes nothing)."""
    return isinstance(update_profile(url, token, None, None).run(), AccountChanged)


def test_a_wrong_old_password_is_refused_and_the_right_one_revokes_the_other_sign_ins(
    server: RunningServer,
) -> None:
    tokens = server.cast.tokens
    laptop = SignInAttempt(server.url, "alice", "alice-password").run()
    assert not isinstance(laptop, SignInFailure)

    wrong = change_password(server.url, laptop.token, "not-it", "a-much-longer-secret").run()
    assert wrong == SignInFailure("auth_failed", "The current password is wrong.")
    assert accepted(server.url, tokens["alice"])

    done = change_password(server.url, laptop.token, "alice-password", "a-much-longer-secret").run()
    assert isinstance(done, AccountChanged)
    assert done.action == "password"
    assert accepted(server.url, laptop.token)  # this computer stays signed in
    revoked = update_profile(server.url, tokens["alice"], None, None).run()
    assert isinstance(revoked, SignInFailure)
    assert revoked.code in ("token_revoked", "auth_failed")
    assert "sign in again" in revoked.message
    assert not isinstance(SignInAttempt(server.url, "alice", "a-much-longer-secret").run(), SignInFailure)


def test_profile_update_is_stored_and_a_bad_email_is_refused_before_sending(server: RunningServer) -> None:
    token = server.cast.tokens["bob"]
    saved = update_profile(server.url, token, "Bob Builder", "bob@studio.com").run()
    assert isinstance(saved, AccountChanged)
    assert (saved.user.display_name, saved.user.email) == ("Bob Builder", "bob@studio.com")
    again = update_profile(server.url, token, None, None).run()
    assert isinstance(again, AccountChanged)
    assert (again.user.display_name, again.user.email) == ("Bob Builder", "bob@studio.com")
    with pytest.raises(ValueError, match="email address"):
        update_profile(server.url, token, None, "not an address")


def test_sign_out_revokes_the_token(server: RunningServer) -> None:
    token = server.cast.tokens["carol"]
    revoked, message = sign_out_result(sign_out(server.url, token).run())
    assert revoked
    assert "no longer accepts" in message
    assert not accepted(server.url, token)


def test_signing_out_offline_says_the_token_stays_valid(server: RunningServer) -> None:
    token, url = server.cast.tokens["carol"], server.url
    server.stop()
    revoked, message = sign_out_result(sign_out(url, token).run())
    assert not revoked
    assert "Signed out on this computer only" in message
    assert "until it expires" in message


def test_a_locked_account_says_when_to_retry(server: RunningServer, clock: FakeClock) -> None:
    for _ in range(2):
        failed = SignInAttempt(server.url, "dave", "wrong").run()
        assert isinstance(failed, SignInFailure)
    locked = SignInAttempt(server.url, "dave", "dave-password").run()
    assert isinstance(locked, SignInFailure)
    assert locked.code == "rate_limited"
    assert locked.retry_after_s == 30.0
    assert locked.message.endswith("Try again in 30 seconds.")
    clock.now += 31
    assert not isinstance(SignInAttempt(server.url, "dave", "dave-password").run(), SignInFailure)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0.2, "1 second"), (30, "30 seconds"), (60, "1 minute"), (61, "2 minutes"), (3600, "1 hour")],
)
def test_waits_are_rounded_up_into_words(seconds: float, words: str) -> None:
    assert duration_in_words(seconds) == words
