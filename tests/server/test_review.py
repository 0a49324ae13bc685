"""Sign-off on a real server: who may give a verdict, its number and notification, the reason rule,
and linked tasks moved by the reviewing client so that every client sees the same outcome."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from server import admin
from server.db import create_db_engine
from tests.server.conftest import BACKENDS, RunningServer
from tests.server.harness import start_client, stop_client, wait_until
from tests.server.wsclient import RawClient, asset_change, new_id

pytestmark = pytest.mark.parametrize("db_backend", BACKENDS, indirect=True)


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def _add_supervisor(sync_server: RunningServer) -> str:
    engine = create_db_engine(sync_server.cast.db_url)
    try:
        user_id = admin.add_user(engine, "sam", "supervisor", "sam-password")
        admin.add_member(engine, "show", "sam")
        sync_server.cast.users["sam"] = user_id
        return admin.issue_token(engine, user_id).token
    finally:
        engine.dispose()


def review(project: int, asset_id: str, status: str, reason: str = "") -> dict[str, Any]:
    return {
        "type": "set_review",
        "change_id": new_id(),
        "project": project,
        "asset_id": asset_id,
        "content_hash": "abc123",
        "status": status,
        "reason": reason,
    }


def test_only_reviewers_sign_off_and_the_publisher_is_notified(sync_server: RunningServer) -> None:
    cast = sync_server.cast
    sam_token = _add_supervisor(sync_server)

    async def scenario() -> None:
        alice = await RawClient.open(sync_server.url, cast.tokens["alice"])
        bob = await RawClient.open(sync_server.url, cast.tokens["bob"])
        sam = await RawClient.open(sync_server.url, sam_token)
        asset = asset_change(cast.project)
        assert (await alice.request(asset))["type"] == "ack"
        refused = await bob.request(review(cast.project, asset["asset_id"], "approved"))
        assert (refused["type"], refused["code"]) == ("error", "forbidden")
        assert "supervisors and admins" in refused["message"]
        no_reason = await sam.request(review(cast.project, asset["asset_id"], "changes_requested"))
        assert (no_reason["code"], "reason is required" in no_reason["message"]) == ("bad_request", True)
        stale = review(cast.project, asset["asset_id"], "approved") | {"content_hash": "older"}
        assert (await sam.request(stale))["code"] == "invalid"
        asked = await sam.request(
            review(cast.project, asset["asset_id"], "changes_requested", "Sky too warm")
        )
        approved = await sam.request(review(cast.project, asset["asset_id"], "approved"))
        assert (asked["type"], asked["seq"], approved["seq"]) == ("ack", 2, 3)
        events = await alice.subscribe(cast.project)
        asked_event, approved_event = events[1:]
        assert asked_event["record"]["review_status"] == "changes_requested"
        assert asked_event["record"]["review_reason"] == "Sky too warm"
        assert asked_event["notify"] == [{"user": cast.users["alice"], "kind": "review_changes_requested"}]
        assert approved_event["record"] == {
            **asked_event["record"],
            "review_status": "approved",
            "review_reason": "",
            "reviewed_by": cast.users["sam"],
            "version": 3,
        }
        feed = await alice.request({"type": "list_notifications"})
        assert [item["kind"] for item in feed["items"]] == ["review_changes_requested", "review_approved"]
        # Publishing other content starts its review again.
        await alice.request(asset_change(cast.project, asset["asset_id"], content_hash="new"))
        republished = (await alice.next_events())[0]["record"]
        assert (republished["review_status"], republished["reviewed_by"]) == ("pending", None)
        for client in (alice, bob, sam):
            await client.close()

    run(scenario())


def test_a_verdict_moves_the_linked_tasks_for_every_client(
    sync_server: RunningServer, tmp_path: Path
) -> None:
    cast = sync_server.cast
    sam_token = _add_supervisor(sync_server)
    alice, _alice_events = start_client(tmp_path / "alice.sqlite3", sync_server.url, cast.tokens["alice"])
    sam, _sam_events = start_client(tmp_path / "sam.sqlite3", sync_server.url, sam_token)
    try:
        wait_until(lambda: alice.store.current_user_id() is not None)
        asset_id = alice.store.publish_asset(cast.project, "shot", "image", "abc123")
        task = alice.store.create_task(cast.project, "Comp", asset_id=asset_id)
        wait_until(lambda: sam.store.asset_review(asset_id) is not None and _status(sam, task.id) == "open")
        sam.store.set_review(asset_id, "changes_requested", "Sky too warm")
        wait_until(lambda: _status(alice, task.id) == "in_progress" and alice.store.pending_count() == 0)
        assert alice.store.asset_review(asset_id) == ("changes_requested", "Sky too warm")
        sam.store.set_review(asset_id, "approved")
        wait_until(lambda: _status(alice, task.id) == "completed")
        wait_until(lambda: sam.store.pending_count() == 0 and sam.store.task(task.id).sync_state == "synced")
        assert alice.store.asset_review(asset_id) == sam.store.asset_review(asset_id) == ("approved", "")
        assert [n.kind for n in alice.store.notifications()] == [
            "review_changes_requested",
            "review_approved",
        ]
    finally:
        stop_client(alice)
        stop_client(sam)


def _status(client: Any, task_id: str) -> str | None:
    try:
        return str(client.store.task(task_id).status)
    except KeyError:
        return None
