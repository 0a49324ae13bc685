"""What the server counts for Prometheus (``GET /metrics`` on the sync port, text format 0.0.4).

Each server has its own registry rather than the library's global one, so several servers in one
process (tests, the embedded server) never mix their numbers. Counters are bumped on the event loop;
the queue gauges are read when scraped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CONTENT_TYPE_LATEST", "ServerMetrics"]

# Acks are sub-millisecond on a quiet server and tens of milliseconds under load (README benchmarks);
# the top buckets catch a database locked from outside.
_ACK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.connections_opened = Counter(
            "stratopipe_connections_opened", "WebSocket connections accepted", registry=registry
        )
        self.connections_open = Gauge(
            "stratopipe_connections_open", "Open WebSocket connections", registry=registry
        )
        self.sign_ins = Counter("stratopipe_sign_ins", "Successful sign-ins", ["method"], registry=registry)
        self.sign_in_failures = Counter(
            "stratopipe_sign_in_failures",
            "Refused sign-ins (wrong credentials, revoked or expired tokens, lock-outs)",
            ["method", "code"],
            registry=registry,
        )
        self.changes = Counter(
            "stratopipe_changes",
            "Changes stored, by type (rate() gives changes/s)",
            ["type"],
            registry=registry,
        )
        self.ack_latency = Histogram(
            "stratopipe_ack_latency_seconds",
            "From a change being read off the socket to its ack being sent",
            buckets=_ACK_BUCKETS,
            registry=registry,
        )
        self.events_delivered = Counter(
            "stratopipe_events_delivered", "Events sent to subscribers, live and catch-up", registry=registry
        )
        self.remote_events = Counter(
            "stratopipe_remote_events",
            "Events other server processes wrote, read back from the table after a notification",
            registry=registry,
        )
        self.media_bytes = Counter(
            "stratopipe_media_bytes",
            "Media bytes received (published) and sent (fetched) on the media channel",
            ["direction"],
            registry=registry,
        )
        self.errors = Counter("stratopipe_errors", "Error replies sent, by code", ["code"], registry=registry)
        self.write_queue = Gauge(
            "stratopipe_write_queue_changes", "Changes waiting for the writer", registry=registry
        )
        self.outgoing = Gauge(
            "stratopipe_outgoing_queued_characters",
            "Text waiting in every connection's send queue (slow readers)",
            registry=registry,
        )

    def watch(
        self, connections: Callable[[], int], write_queue: Callable[[], int], outgoing: Callable[[], int]
    ) -> None:
        """Gauges read from the server when scraped (on its event loop, like everything they read)."""
        self.connections_open.set_function(connections)
        self.write_queue.set_function(write_queue)
        self.outgoing.set_function(outgoing)

    def render(self) -> bytes:
        return generate_latest(self.registry)
