"""Accounts over real sockets: changing one's password and profile, signing out, sign-in lock-outs,
and what administrators do to accounts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from server import admin
from server.db import open_database
from tests.server.conftest import RunningServer
from tests.server.harness import FakeClock
from tests.server.wsclient import RawClient, asset_change


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


async def login(url: str, username: str, password: str) -> tuple[RawClient, dict[str, Any]]:
    client = await RawClient.open(url)
    reply = await client.request({"type": "login", "username": username, "password": password})
    return client, reply


async def login_reply(url: str, username: str, password: str) -> dict[str, Any]:
    client, reply = await login(url, username, password)
    await client.close()
    return reply


async def closed_with(client: RawClient) -> list[dict[str, Any]]:
    """Every message until the server closes the connection."""
    received = []
    while True:
        try:
            received.append(await client.next_message())
        except ConnectionClosed:
            await client.close()
            return received


def test_changing_ones_password_closes_the_other_sessions_at_once(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        laptop, _ = await login(sync_server.url, "alice", "alice-password")
        workstation = await RawClient.open(sync_server.url, cast.tokens["alice"])
        await workstation.subscribe(cast.project)
        reply = await laptop.request(
            {"type": "change_password", "old_password": "alice-password", "new_password": "violet kestrel 42"}
        )
        assert reply["type"] == "ok"
        errors = [m for m in await closed_with(workstation) if m["type"] == "error"]
        assert [e["code"] for e in errors] == ["token_revoked"]
        # The connection that changed the password goes on working.
        assert (await laptop.request(asset_change(cast.project)))["type"] == "ack"
        await laptop.close()
        again = await RawClient.open(sync_server.url)
        refused = await again.request({"type": "auth", "token": cast.tokens["alice"]})
        assert refused["code"] == "token_revoked"
        old = await again.request({"type": "login", "username": "alice", "password": "alice-password"})
        assert old["code"] == "auth_failed"
        new = await again.request({"type": "login", "username": "alice", "password": "violet kestrel 42"})
        assert new["type"] == "login_ok"
        await again.close()

    run(scenario())


def test_wrong_old_password_or_weak_new_one_is_refused(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        wrong = await bob.request(
            {"type": "change_password", "old_password": "not-bobs", "new_password": "violet kestrel 42"}
        )
        assert wrong["code"] == "auth_failed"
        weak = await bob.request(
            {"type": "change_password", "old_password": "bob-password", "new_password": "password1"}
        )
        assert weak["code"] == "invalid"
        await bob.close()
        still = await login_reply(sync_server.url, "bob", "bob-password")
        assert still["type"] == "login_ok"

    run(scenario())


def test_profile_update_is_stored_and_only_its_owner_sees_the_email(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        reply = await alice.request(
            {"type": "update_profile", "display_name": "Alice Liddell", "email": "alice@studio.example"}
        )
        assert reply["type"] == "profile"
        assert reply["user"]["display_name"] == "Alice Liddell"
        assert reply["user"]["email"] == "alice@studio.example"
        typo = await alice.request({"type": "update_profile", "email": "alice at studio"})
        assert typo["code"] == "bad_request"
        await alice.close()
        signed_in = await login_reply(sync_server.url, "alice", "alice-password")
        assert signed_in["user"]["email"] == "alice@studio.example"
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        members = (await bob.request({"type": "subscribe", "project": cast.project}))["members"]
        seen = next(m for m in members if m["name"] == "alice")
        assert seen["display_name"] == "Alice Liddell"
        assert seen["email"] == ""
        await bob.close()

    run(scenario())


def test_sign_out_revokes_the_token(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        client = await RawClient.open(sync_server.url, cast.tokens["carol"])
        assert (await client.request({"type": "logout"}))["type"] == "ok"
        await closed_with(client)
        again = await RawClient.open(sync_server.url)
        refused = await again.request({"type": "auth", "token": cast.tokens["carol"]})
        assert refused["code"] == "token_revoked"
        await again.close()

    run(scenario())


def test_account_locks_after_repeated_failures_and_unlocks_when_the_lock_expires(
    sync_server: RunningServer,
) -> None:
    clock = FakeClock()
    sync_server.stop()
    sync_server.start(clock=clock, login_failures_before_lock=3, login_lock_base_s=30.0)

    async def scenario() -> None:
        client = await RawClient.open(sync_server.url)
        for _ in range(3):
            wrong = await client.request({"type": "login", "username": "bob", "password": "guess-guess"})
            assert wrong["code"] == "auth_failed"
        await client.close()
        locked = await login_reply(sync_server.url, "bob", "bob-password")
        assert locked["code"] == "rate_limited"
        assert locked["retry_after_s"] == 30.0
        assert "locked" in locked["message"]
        assert "30 s" in locked["message"]
        # Another account from the same address is not locked.
        other = await login_reply(sync_server.url, "alice", "alice-password")
        assert other["type"] == "login_ok"
        clock.now += 31
        unlocked = await login_reply(sync_server.url, "bob", "bob-password")
        assert unlocked["type"] == "login_ok"

    run(scenario())


def test_lock_outs_grow_while_failures_go_on(sync_server: RunningServer) -> None:
    clock = FakeClock()
    sync_server.stop()
    sync_server.start(clock=clock, login_failures_before_lock=2, login_lock_base_s=30.0)

    async def fail(times: int) -> None:
        client = await RawClient.open(sync_server.url)
        for _ in range(times):
            wrong = await client.request({"type": "login", "username": "bob", "password": "guess-guess"})
            assert wrong["code"] == "auth_failed"
        await client.close()

    async def retry_after() -> float:
        reply = await login_reply(sync_server.url, "bob", "bob-password")
        assert reply["code"] == "rate_limited"
        return float(reply["retry_after_s"])

    async def scenario() -> None:
        await fail(2)
        assert await retry_after() == 30.0
        clock.now += 31
        await fail(1)
        assert await retry_after() == 60.0
        clock.now += 61
        await fail(1)
        assert await retry_after() == 120.0

    run(scenario())


def test_failed_sign_ins_are_logged_for_administrators(
    sync_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        wrong = await login_reply(sync_server.url, "dave", "guess-guess")
        assert wrong["code"] == "auth_failed"

    with caplog.at_level("WARNING", logger="server.app"):
        run(scenario())
    assert any(
        "event=sign_in_failed" in r.getMessage() and "user=dave" in r.getMessage() for r in caplog.records
    )


def test_admin_disable_closes_sessions_and_refuses_sign_in(sync_server: RunningServer) -> None:
    cast = sync_server.cast
    sync_server.stop()
    sync_server.start(access_check_interval_s=0.1)

    async def scenario() -> None:
        dave = await RawClient.open(sync_server.url, cast.tokens["dave"])
        engine = open_database(cast.db_url)
        admin.set_disabled(engine, "dave", disabled=True)
        errors = [m for m in await closed_with(dave) if m["type"] == "error"]
        assert [e["code"] for e in errors] == ["token_revoked"]
        refused = await login_reply(sync_server.url, "dave", "dave-password")
        assert refused["code"] == "auth_failed"
        assert "disabled" in refused["message"]
        admin.set_disabled(engine, "dave", disabled=False)
        allowed = await login_reply(sync_server.url, "dave", "dave-password")
        assert allowed["type"] == "login_ok"
        engine.dispose()

    run(scenario())


def test_admin_role_change_applies_once_the_user_signs_in_again(sync_server: RunningServer) -> None:
    cast = sync_server.cast

    async def scenario() -> None:
        engine = open_database(cast.db_url)
        admin.set_role(engine, "bob", "client")
        engine.dispose()
        stale = await RawClient.open(sync_server.url)
        refused = await stale.request({"type": "auth", "token": cast.tokens["bob"]})
        assert refused["code"] == "token_revoked"
        await stale.close()
        client, signed_in = await login(sync_server.url, "bob", "bob-password")
        assert signed_in["user"]["role"] == "client"
        forbidden = await client.request(asset_change(cast.project))
        assert forbidden["code"] == "forbidden"
        await client.close()

    run(scenario())
