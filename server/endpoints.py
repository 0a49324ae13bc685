"""The plain HTTP answers on the sync port: ``/health`` for load balancers, ``/metrics`` for Prometheus.
Anything else is a WebSocket handshake, let through unless admission refuses the address."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from server.metrics import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

    from server.services import ServerServices

log = logging.getLogger("server.app")


def address(connection: ServerConnection) -> str:
    peer = connection.remote_address
    return str(peer[0]) if peer else "-"


def _reply(connection: ServerConnection, body: str | bytes, content_type: str) -> Response:
    response = connection.respond(200, body if isinstance(body, str) else body.decode("utf-8"))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = content_type
    return response


def process_request(
    server: ServerServices, connection: ServerConnection, request: Request
) -> Response | None:
    path = request.path.split("?", 1)[0]
    if path == "/metrics":
        return _reply(connection, server.metrics.render(), CONTENT_TYPE_LATEST)
    if path == "/health":
        return _reply(connection, json.dumps(server.health()), "application/json")
    refusal = server.admission.refusal(address(connection))
    if refusal is None:
        return None
    log.warning("event=connection_refused status=%d address=%s", refusal[0], address(connection))
    return connection.respond(refusal[0], refusal[1] + "\n")
