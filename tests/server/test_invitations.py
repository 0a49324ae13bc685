"""Invitations and password resets over real sockets: a lead invites, the invitee creates their account
once; an admin resets a password, which signs the user out everywhere until they choose a new one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.sync.invitations import create_invitation, redeem_invitation, redeem_reset, reset_password
from core.sync.sign_in import LoginResult, SignInAttempt, SignInFailure
from server import admin, invitations
from server.db import open_database
from tests.server.conftest import BACKENDS, RunningServer
from tests.server.test_accounts import closed_with
from tests.server.wsclient import RawClient


@pytest.fixture
def staff(sync_server: RunningServer) -> dict[str, str]:
    """An admin (root) and a supervisor of "show" (sam); their tokens."""
    engine = open_database(sync_server.cast.db_url)
    tokens = {}
    for name, role in (("root", "admin"), ("sam", "supervisor")):
        user_id = admin.add_user(engine, name, role, f"{name}-password")  # type: ignore[arg-type]
        tokens[name] = admin.issue_token(engine, user_id).token
    admin.add_member(engine, "show", "sam")
    engine.dispose()
    return tokens


@pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)
def test_a_lead_invites_and_the_code_creates_one_account(
    sync_server: RunningServer, staff: dict[str, str]
) -> None:
    url, cast = sync_server.url, sync_server.cast
    issued = create_invitation(url, staff["sam"], "artist", cast.project).run()
    assert not isinstance(issued, SignInFailure), issued
    joined = redeem_invitation(url, issued.code, "erin", "teal harbour 19", "Erin Vale").run()
    assert isinstance(joined, LoginResult), joined
    assert (joined.user.name, joined.user.role, [p.name for p in joined.projects]) == (
        "erin",
        "artist",
        ["show"],
    )
    again = redeem_invitation(url, issued.code, "erin2", "teal harbour 19").run()
    assert isinstance(again, SignInFailure)
    assert again.code == "expired"
    assert "already used" in again.message
    assert isinstance(SignInAttempt(url, "erin", "teal harbour 19").run(), LoginResult)

    refusals = [
        create_invitation(url, staff["sam"], "admin", cast.project).run(),  # only admins invite above artist
        create_invitation(url, staff["sam"], "artist", cast.other_project).run(),  # not sam's project
        create_invitation(url, cast.tokens["alice"], "artist", cast.project).run(),  # artists do not invite
    ]
    assert [r.code for r in refusals if isinstance(r, SignInFailure)] == ["forbidden"] * 3
    assert "cannot invite" in refusals[2].message  # type: ignore[union-attr]
    by_admin = create_invitation(url, staff["root"], "supervisor", None).run()
    assert not isinstance(by_admin, SignInFailure)


def test_an_expired_or_unknown_invitation_says_so(sync_server: RunningServer) -> None:
    engine = open_database(sync_server.cast.db_url)
    code, _ = invitations.create_invitation(engine, "artist", None, None, ttl_s=-60.0)
    engine.dispose()
    expired = redeem_invitation(sync_server.url, code, "frank", "teal harbour 19").run()
    assert isinstance(expired, SignInFailure)
    assert expired.code == "expired"
    assert "expired on" in expired.message
    unknown = redeem_invitation(sync_server.url, "x" * 32, "frank", "teal harbour 19").run()
    assert isinstance(unknown, SignInFailure)
    assert unknown.code == "auth_failed"
    weak = redeem_invitation(sync_server.url, code, "frank", "password").run()
    assert isinstance(weak, SignInFailure)
    assert weak.code == "invalid"


def test_an_admin_reset_signs_the_user_out_until_they_choose_a_new_password(
    sync_server: RunningServer, staff: dict[str, str]
) -> None:
    url, cast = sync_server.url, sync_server.cast

    async def open_bob() -> RawClient:
        bob = await RawClient.open(url, cast.tokens["bob"])
        await bob.subscribe(cast.project)
        return bob

    async def reset_while_connected() -> list[dict[str, Any]]:
        bob = await open_bob()
        issued.append(await asyncio.to_thread(lambda: reset_password(url, staff["root"], "bob").run()))
        return await closed_with(bob)

    issued: list[Any] = []
    received = asyncio.run(asyncio.wait_for(reset_while_connected(), 30))
    assert [m["code"] for m in received if m["type"] == "error"] == ["token_revoked"]
    code = issued[0].code
    assert isinstance(SignInAttempt(url, "bob", "bob-password").run(), SignInFailure)
    wrong = redeem_reset(url, "bob", "y" * 32, "amber falcon 77").run()
    assert isinstance(wrong, SignInFailure)
    assert wrong.code == "auth_failed"
    chosen = redeem_reset(url, "bob", code, "amber falcon 77").run()
    assert isinstance(chosen, LoginResult)
    assert chosen.user.name == "bob"
    reused = redeem_reset(url, "bob", code, "amber falcon 78").run()
    assert isinstance(reused, SignInFailure)
    assert reused.code == "auth_failed"
    assert isinstance(SignInAttempt(url, "bob", "amber falcon 77").run(), LoginResult)
    not_admin = reset_password(url, staff["sam"], "alice").run()
    assert isinstance(not_admin, SignInFailure)
    assert not_admin.code == "forbidden"


def test_the_server_commands_issue_codes_and_set_a_quota(
    sync_server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main
    from server.media_records import usage_and_quota

    data = ("--data-dir", str(sync_server.cast.data_dir))
    assert main(["user", "invite", "--role", "client", "--project", "show", *data]) == 0
    invitation = capsys.readouterr().out.splitlines()[1]
    joined = redeem_invitation(sync_server.url, invitation, "hana", "pale orchid 58").run()
    assert isinstance(joined, LoginResult)
    assert (joined.user.role, [p.name for p in joined.projects]) == ("client", ["show"])
    assert main(["user", "reset", "alice", *data]) == 0
    reset_code = capsys.readouterr().out.splitlines()[2]
    assert isinstance(redeem_reset(sync_server.url, "alice", reset_code, "pale orchid 59").run(), LoginResult)
    assert main(["project", "quota", "show", "3", *data]) == 0
    engine = open_database(sync_server.cast.db_url)
    assert usage_and_quota(engine, sync_server.cast.project, 1 << 40) == (0, 3 << 20)
    engine.dispose()
    assert main(["project", "quota", "nowhere", "3", *data]) == 2
