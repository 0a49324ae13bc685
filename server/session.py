"""One client connection on the server: configuration, the session, its subscriptions, its send queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from core.sync.protocol import EVENT_PAGE_SIZE, MAX_MESSAGE_BYTES, ErrorCode, ErrorReply
from server.admin import DEFAULT_TOKEN_TTL_S
from server.db import DEFAULT_BUSY_TIMEOUT_S

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterable

    from websockets.asyncio.server import ServerConnection

    from server import store
    from server.metrics import ServerMetrics
    from server.ratelimit import TokenBucket

log = logging.getLogger(__name__)

CLOSE_POLICY = 1008


@dataclass
class ServerConfig:
    db_url: str
    host: str = "127.0.0.1"
    port: int = 8765
    auth_timeout_s: float = 10.0
    token_ttl_s: float = DEFAULT_TOKEN_TTL_S
    max_message_bytes: int = MAX_MESSAGE_BYTES
    # A client flushing a long outbox sends bursts; the bucket lets those through and stops floods. It
    # is one bucket per user, shared by all of that user's connections (messages before sign-in: one
    # per address), so more sockets buy no more messages.
    rate_per_s: float = 300.0
    rate_burst: float = 1500.0
    rate_strikes_before_close: int = 200
    # Password sign-ins, per account and per address, whatever the number of sockets they come over;
    # failed token sign-ins count against the address too.
    login_rate_per_account_per_s: float = 0.2
    login_burst_per_account: float = 10.0
    login_rate_per_address_per_s: float = 1.0
    login_burst_per_address: float = 30.0
    # Failed sign-ins (wrong password, unknown token, a wrong old password when changing it): from the
    # Nth on, each locks the account (or address) out for twice as long as the last (server.throttle).
    # An address gets more room: a studio signs in from behind one NAT address.
    login_failures_before_lock: int = 5
    address_failures_before_lock: int = 50
    login_lock_base_s: float = 30.0
    login_lock_max_s: float = 3600.0
    # The throttle's clock (tests move it instead of sleeping).
    clock: Callable[[], float] = time.monotonic
    # Open WebSocket connections, in all and from one address (a studio behind one NAT address needs
    # room: one per running app). Beyond them the handshake is refused (503 / 429).
    max_connections: int = 2_000
    max_connections_per_address: int = 256
    ping_interval_s: float | None = 20.0
    page_size: int = EVENT_PAGE_SIZE
    # A catch-up page stops at this many bytes (at least one event), so a page stays far below a
    # client's frame limit even when every event carries a thumbnail.
    page_bytes: int = 1 << 20
    db_busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S
    max_batch: int = 512
    # Loop turns the writer may wait for more changes before committing a batch (see _run_writer).
    gather_turns: int = 8
    checkpoint_interval_s: float = 0.5
    # How often open connections re-check their token and memberships (revocations made elsewhere).
    access_check_interval_s: float = 5.0
    # What may wait in memory for a client that reads slower than events arrive, in bytes: counting
    # messages would let a few large ones (thumbnails) hold gigabytes.
    max_outgoing_bytes: int = 32 << 20
    ssl_context: ssl.SSLContext | None = None
    # Published media (``server.media_channel``): the store's folder (empty: ``media`` beside an SQLite
    # database; a PostgreSQL server keeps no media until one is given), each project's quota unless
    # ``stratopipe-server project quota`` set its own, and the largest file one may publish.
    media_dir: str = ""
    media_quota_bytes: int = 50 << 30
    media_max_file_bytes: int = 20 << 30
    # SO_REUSEPORT: several server processes listen on one port (``serve --workers N``).
    reuse_port: bool = False


@dataclass(eq=False)
class Subscription:
    session: Session
    project: int
    delivered: int
    catching_up: bool = True
    # The client asked for its own changes' events inside their acks (``subscribe.ack_events``).
    ack_events: bool = False
    task: asyncio.Task[None] | None = None


class Session:
    """One client connection: its user once authenticated, its subscriptions and its send queue."""

    def __init__(
        self,
        ws: ServerConnection,
        config: ServerConfig,
        address: str,
        bucket: TokenBucket,
        metrics: ServerMetrics,
    ) -> None:
        self.ws = ws
        self.config = config
        self.address = address
        self.metrics = metrics
        self.user: store.SessionUser | None = None
        self.subscriptions: dict[int, Subscription] = {}
        # The address's bucket until sign-in, then the user's (``SyncServer`` swaps it).
        self.bucket = bucket
        self.strikes = 0
        self.last_strike = 0.0
        self.failed_logins = 0
        self._outgoing: deque[str] = deque()
        self._outgoing_bytes = 0
        # True while the sender task is inside ``ws.send``: nothing may overtake that message.
        self._sender_busy = False
        # The write-now path uses websockets' flow-control state; without it every frame is queued.
        self._can_write_now = all(
            hasattr(ws, name) for name in ("protocol", "transport", "paused", "send_in_progress", "send_data")
        )
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.closing = False
        self._close_reason: str | None = None

    def send(self, text: str) -> None:
        if self.closing:
            return
        if not self._outgoing and not self._sender_busy and self._write_now(text):
            return
        if self._outgoing_bytes + len(text) > self.config.max_outgoing_bytes:
            # A client that reads slower than events arrive is dropped rather than buffered without
            # bound; it reconnects and catches up from its cursor. (Characters stand in for bytes:
            # the protocol's text is almost all ASCII, and this is a bound, not an account.)
            self.close_soon("too slow: reconnect and catch up")
            return
        self._outgoing.append(text)
        self._outgoing_bytes += len(text)
        self._idle.clear()
        self._wakeup.set()

    def _write_now(self, text: str) -> bool:
        """Frame ``text`` onto the socket's buffer at once when nothing is waiting before it.

        ``ws.send`` wakes this session's sender task and goes through an async context manager for each
        frame: most of the cost of an ack. When the transport accepts data (not paused by flow control)
        and no frame is queued or being sent, writing here gives the same bytes in the same order;
        it is how ``websockets.asyncio.server.broadcast`` writes too. False when the frame must go
        through the queue instead (which then waits for the socket to drain, and is bounded by
        ``max_outgoing_messages``).
        """
        ws = self.ws
        if (
            not self._can_write_now
            or ws.paused
            or ws.send_in_progress is not None
            or ws.protocol.state is not State.OPEN
            or ws.transport.is_closing()
        ):
            return False
        ws.protocol.send_text(text.encode())
        ws.send_data()
        return True

    def send_error(
        self, code: ErrorCode, message: str, request_id: str | None, retry_after_s: float | None = None
    ) -> None:
        self.metrics.errors.labels(code).inc()
        reply = ErrorReply(code=code, message=message, re=request_id, retry_after_s=retry_after_s)
        self.send(reply.model_dump_json())

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def run_sender(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._outgoing:
                    self._sender_busy = True
                    text = self._outgoing.popleft()
                    self._outgoing_bytes -= len(text)
                    try:
                        await self.ws.send(text)
                    finally:
                        self._sender_busy = False
                self._idle.set()
                if self._close_reason is not None:
                    # Closing from here lets the replies queued before (the error that explains
                    # why) reach the client first.
                    await self.ws.close(CLOSE_POLICY, self._close_reason)
                    return

    def close_soon(self, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        self._close_reason = reason
        self._wakeup.set()
        log.info("event=closing_session user=%s reason=%r", self.user_name, reason)

    @property
    def queued_characters(self) -> int:
        return self._outgoing_bytes

    @property
    def user_name(self) -> str:
        return self.user.user.name if self.user else "-"


def open_sessions_of(sessions: Iterable[Session], user_id: int) -> list[Session]:
    """The connections signed in as ``user_id`` that are not already closing."""
    return [s for s in sessions if s.user is not None and s.user.user.id == user_id and not s.closing]
