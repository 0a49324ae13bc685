"""Limits that hold across sockets: one user's connections share one message budget, password guesses
count against the account whatever socket they come over, an address cannot take every connection, and
a flood of refused sockets does not flood the log."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.app import ServerConfig
from server.embedded import ServerThread
from tests.server.conftest import Cast, build_cast
from tests.server.harness import ServerProcess
from tests.server.wsclient import RawClient


@pytest.fixture
def cast(tmp_path: Path) -> Cast:
    return build_cast(tmp_path / "server")


def serve(cast: Cast, **limits: float) -> ServerThread:
    config = ServerConfig(db_url=cast.db_url, port=0, ping_interval_s=None, **limits)  # type: ignore[arg-type]
    return ServerThread(config).start()


def test_twenty_connections_of_one_user_share_one_message_budget(cast: Cast) -> None:
    burst = 60
    # Nothing refills during the test: every reply is paid from the one burst.
    server = serve(cast, rate_per_s=0.001, rate_burst=burst, rate_strikes_before_close=10_000)

    async def scenario() -> Counter[str]:
        clients = [await RawClient.open(server.url, cast.tokens["alice"]) for _ in range(20)]
        ids = [[await c.send({"type": "list_notifications"}) for _ in range(10)] for c in clients]
        outcome: Counter[str] = Counter()
        for client, sent in zip(clients, ids, strict=True):
            for request_id in sent:
                reply = await client.wait_for(
                    lambda m, r=request_id: m.get("re") == r or m.get("code") == "rate_limited"
                )
                outcome[reply["type"] if reply["type"] != "error" else reply["code"]] += 1
            await client.close()
        return outcome

    try:
        outcome = asyncio.run(scenario())
    finally:
        server.stop()
    # 200 requests over 20 sockets: the user's budget (its burst, less the 20 sign-ins paid from the
    # address's own bucket) answers, the rest is refused.
    assert outcome["notifications"] <= burst
    assert outcome["rate_limited"] >= 200 - burst


def test_password_guesses_spread_over_sockets_count_against_the_account(cast: Cast) -> None:
    server = serve(cast, login_rate_per_account_per_s=0.001, login_burst_per_account=5)

    async def guess(client: RawClient) -> list[str]:
        codes = []
        for n in range(3):
            reply = await client.request({"type": "login", "username": "alice", "password": f"guess-{n}"})
            codes.append(reply["code"])
        return codes

    async def scenario() -> tuple[Counter[str], str, str]:
        clients = [await RawClient.open(server.url) for _ in range(10)]
        results = await asyncio.gather(*(guess(client) for client in clients))
        for client in clients:
            await client.close()
        outcome = Counter(code for codes in results for code in codes)
        right = await RawClient.open(server.url)
        locked = await right.request({"type": "login", "username": "alice", "password": "alice-password"})
        other = await right.request({"type": "login", "username": "bob", "password": "bob-password"})
        await right.close()
        return outcome, locked.get("code", locked["type"]), other["type"]

    try:
        outcome, alice_now, bob_now = asyncio.run(scenario())
    finally:
        server.stop()
    # 30 guesses over 10 sockets: five reached the password check, the rest were turned away unchecked.
    assert outcome["auth_failed"] == 5
    assert outcome["rate_limited"] == 25
    assert alice_now == "rate_limited"  # the account waits a while, even for the right password
    assert bob_now == "login_ok"  # other accounts are untouched


def _from(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((address, 0))
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def test_one_address_cannot_take_every_connection_or_flood_the_log(tmp_path: Path) -> None:
    cast = build_cast(tmp_path / "server")
    server = ServerProcess(cast.data_dir, "--max-connections-per-address", "8").start()
    refused_attempts = 120

    async def scenario() -> None:
        held = [await connect(server.url, sock=_from("127.0.0.1", server.port)) for _ in range(8)]
        refusals = 0
        for _ in range(refused_attempts):
            with pytest.raises(InvalidStatus) as refused:
                await connect(server.url, sock=_from("127.0.0.1", server.port))
            assert refused.value.response.status_code == 429
            refusals += 1
        assert refusals == refused_attempts
        # Another address still gets in, and so does the load balancer's health check.
        other = await connect(server.url, sock=_from("127.0.0.2", server.port))
        reply = json.loads(await asyncio.wait_for(_auth(other, cast.tokens["bob"]), 10))
        assert reply["type"] == "auth_ok"
        await other.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=10) as response:
            assert json.loads(response.read())["connections"] >= 8
        for ws in held:
            await ws.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
    refused_lines = [line for line in server.log().splitlines() if "event=connection_refused" in line]
    assert 0 < len(refused_lines) <= 20 < refused_attempts


async def _auth(ws: object, token: str) -> str:
    await ws.send(json.dumps({"v": 1, "type": "auth", "token": token}))  # type: ignore[attr-defined]
    return str(await ws.recv())  # type: ignore[attr-defined]


def test_connection_cap_is_configurable(cast: Cast) -> None:
    server = serve(cast, max_connections=3)

    async def scenario() -> int:
        held = [await RawClient.open(server.url) for _ in range(3)]
        with pytest.raises(InvalidStatus) as refused:
            await RawClient.open(server.url)
        await held[0].close()
        again = None
        for _attempt in range(100):  # until the server has seen the close
            try:
                again = await RawClient.open(server.url)
                break
            except InvalidStatus:
                await asyncio.sleep(0.05)
        assert again is not None
        for client in [*held[1:], again]:
            await client.close()
        return refused.value.response.status_code

    try:
        assert asyncio.run(scenario()) == 503
    finally:
        server.stop()
