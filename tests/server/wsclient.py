"""A bare protocol client for server tests: send dicts, wait for the reply or the next event."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class RawClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.inbox: list[dict[str, Any]] = []
        self._counter = 0

    @classmethod
    async def open(cls, url: str, token: str | None = None) -> RawClient:
        client = cls(await connect(url, compression=None, max_size=None))
        if token is not None:
            reply = await client.request({"type": "auth", "token": token})
            assert reply["type"] == "auth_ok", reply
        return client

    async def close(self) -> None:
        await self.ws.close()

    async def send(self, message: dict[str, Any]) -> str:
        self._counter += 1
        message = {"v": 1, "id": f"r{self._counter}", **message}
        await self.ws.send(json.dumps(message))
        return str(message["id"])

    async def next_message(self, timeout: float = 5.0) -> dict[str, Any]:
        if self.inbox:
            return self.inbox.pop(0)
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        return dict(json.loads(raw))

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        """The first message matching ``predicate``; others stay queued in order."""
        skipped: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if self.inbox:
                    message = self.inbox.pop(0)
                else:
                    remaining = deadline - loop.time()
                    message = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
                if predicate(message):
                    return dict(message)
                skipped.append(message)
        finally:
            self.inbox[:0] = skipped

    async def request(self, message: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        request_id = await self.send(message)
        return await self.wait_for(lambda m: m.get("re") == request_id, timeout)

    async def subscribe(self, project: int, since_seq: int = 0, **extra: Any) -> list[dict[str, Any]]:
        """Subscribe and return the caught-up events."""
        request = {"type": "subscribe", "project": project, "since_seq": since_seq, **extra}
        reply = await self.request(request)
        assert reply["type"] == "subscribed", reply
        caught_up: list[dict[str, Any]] = []
        while True:
            page = await self.wait_for(lambda m: m.get("type") == "events" and m["catchup"])
            caught_up.extend(page["events"])
            if not page["more"]:
                return caught_up

    async def next_events(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        page = await self.wait_for(lambda m: m.get("type") == "events", timeout)
        return list(page["events"])


def new_id() -> str:
    return str(uuid.uuid4())


def asset_change(project: int, asset_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "upsert_asset",
        "change_id": new_id(),
        "project": project,
        "asset_id": asset_id or new_id(),
        "name": "shot010_comp",
        "kind": "image",
        "content_hash": "abc123",
        **extra,
    }


def comment_change(project: int, asset_id: str, body: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "add_comment",
        "change_id": new_id(),
        "project": project,
        "comment_id": new_id(),
        "asset_id": asset_id,
        "body": body,
        **extra,
    }


def task_change(project: int, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "create_task",
        "change_id": new_id(),
        "project": project,
        "task_id": new_id(),
        "title": title,
        **extra,
    }
