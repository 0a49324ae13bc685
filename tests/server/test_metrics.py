"""``GET /metrics``: Prometheus text that its own parser reads, with counters that move when a real
client signs in and writes."""

from __future__ import annotations

import asyncio
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import RunningServer
from tests.server.wsclient import RawClient, asset_change

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: RunningServer) -> Samples:
    url = server.url.replace("ws://", "http://") + "/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_parse_and_move_when_a_client_signs_in_and_writes(sync_server: RunningServer) -> None:
    cast = sync_server.cast
    before = scrape(sync_server)
    assert value(before, "stratopipe_connections_open") == 0

    async def scenario() -> Samples:
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        await bob.subscribe(cast.project)
        alice = await RawClient.open(sync_server.url)
        reply = await alice.request({"type": "login", "username": "alice", "password": "alice-password"})
        assert reply["type"] == "login_ok"
        wrong = await alice.request({"type": "auth", "token": "not-a-token"})
        assert wrong["code"] == "bad_request"  # already signed in on this connection
        for _ in range(3):
            assert (await alice.request(asset_change(cast.project)))["type"] == "ack"
        await bob.next_events()
        during = scrape(sync_server)
        assert value(during, "stratopipe_connections_open") == 2
        await alice.close()
        await bob.close()
        return during

    during = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert value(during, "stratopipe_sign_ins_total", method="password") == 1
    assert value(during, "stratopipe_sign_ins_total", method="token") == 1
    assert value(during, "stratopipe_changes_total", type="upsert_asset") == 3
    assert value(during, "stratopipe_ack_latency_seconds_count") == 3
    assert value(during, "stratopipe_events_delivered_total") >= 3
    assert value(during, "stratopipe_errors_total", code="bad_request") == 1
    assert value(during, "stratopipe_connections_opened_total") == 2
    assert value(during, "stratopipe_write_queue_changes") == 0


def test_failed_sign_ins_are_counted_by_code(sync_server: RunningServer) -> None:
    async def scenario() -> None:
        client = await RawClient.open(sync_server.url)
        reply = await client.request({"type": "login", "username": "carol", "password": "wrong-guess"})
        assert reply["code"] == "auth_failed"
        await client.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    samples = scrape(sync_server)
    assert value(samples, "stratopipe_sign_in_failures_total", method="password", code="auth_failed") == 1
