"""The sync server: WebSocket sessions, the single writer (group commit), live fan-out and catch-up.

One asyncio loop owns every socket. All database work runs on executor threads, never on the loop: one
writer thread applies changes in batches (whatever queued up while the previous batch committed goes
into the next transaction), readers serve catch-up pages. So a database locked from outside (a backup
tool, an administrator's open transaction) stalls writes only: reads, pings and ``/health`` go on.
Events reach a subscriber in sequence order, catch-up first, then live, with no gap and no duplicate:
while a subscription catches up the live fan-out skips it, and catch-up only hands over to live once
it has read up to the newest dispatched sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from core.sync.media_protocol import MEDIA_PATH
from core.sync.protocol import (
    CLIENT_MESSAGE,
    AuthRequest,
    Change,
    ChangePasswordRequest,
    ListNotificationsRequest,
    LoginRequest,
    LogoutRequest,
    MarkReadRequest,
    NotificationsReply,
    OkReply,
    Subscribed,
    SubscribeRequest,
    UnsubscribeRequest,
    UpdateProfileRequest,
)
from server import (
    accounts,
    changes,
    cluster,
    cluster_messages,
    endpoints,
    fanout,
    invitations_requests,
    member_requests,
    store,
)
from server.admission import Admission, raise_descriptor_limit
from server.db import checkpoint, create_db_engine, defer_checkpoints, open_database, server_id
from server.media_channel import MediaChannel
from server.metrics import ServerMetrics
from server.ratelimit import budget_server_logs
from server.session import ServerConfig, Session, Subscription, open_sessions_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from server.change_result import ChangeResult

__all__ = ["ServerConfig", "SyncServer", "serve_until"]

log = logging.getLogger(__name__)


class SyncServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.engine: Engine | None = None
        # Changes and other writes go through one long-lived connection (see start()).
        self.writer_engine: Engine | None = None
        self._server: Server | None = None
        self._sessions: set[Session] = set()
        self._subscribers: dict[int, set[Subscription]] = {}
        self._heads: dict[int, int] = {}
        # Each change with when it was read off its socket (the ack latency histogram starts there).
        self._write_queue: asyncio.Queue[tuple[Session, Change, str | None, float] | None] = asyncio.Queue()
        self._write_executor = ThreadPoolExecutor(1, thread_name_prefix="sync-writer")
        self._read_executor = ThreadPoolExecutor(4, thread_name_prefix="sync-reader")
        self._writer_task: asyncio.Task[None] | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._access_task: asyncio.Task[None] | None = None
        # PostgreSQL only: hears the events other server processes commit (server.cluster).
        self._cluster: cluster.ClusterLink | None = None
        self._commits = 0
        self._started_at = time.monotonic()
        # When each write in progress started: /health reports a database that stalls them.
        self._writes_started: dict[int, float] = {}
        self._write_numbers = itertools.count()
        self.admission = Admission(config, raise_descriptor_limit())
        self.metrics = ServerMetrics()
        # Publishing and fetching files: a second WebSocket on ``/media`` (server.media_channel).
        self.media = MediaChannel(self)
        self.metrics.watch(
            connections=lambda: len(self._sessions),
            write_queue=self._write_queue.qsize,
            outgoing=lambda: sum(s.queued_characters for s in self._sessions),
        )
        self.server_id = ""
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> int:
        budget_server_logs()
        loop = asyncio.get_running_loop()
        busy_s = self.config.db_busy_timeout_s
        self.engine = await loop.run_in_executor(
            self._write_executor, open_database, self.config.db_url, busy_s
        )
        self.server_id = await loop.run_in_executor(self._read_executor, server_id, self.engine)
        # SQLite keeps a page cache per connection and drops it when another connection has written:
        # with writes spread over a pool every batch started cold (about 20 page reads per change).
        # One connection for all writes keeps its cache (and its prepared statements) warm.
        self.writer_engine = create_db_engine(self.config.db_url, pool_size=1, busy_timeout_s=busy_s)
        if self.config.db_url.startswith("sqlite"):
            defer_checkpoints(self.engine)
            defer_checkpoints(self.writer_engine)
            self._checkpoint_task = asyncio.create_task(self._run_checkpoints())
        self._writer_task = asyncio.create_task(self._run_writer())
        self._access_task = asyncio.create_task(self._run_access_checks())
        if cluster_messages.is_postgres(self.config.db_url):
            await self._join_cluster()
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=lambda connection, request: endpoints.process_request(self, connection, request),
            # Messages between the protocol limit and this hard limit get a polite "too_large" error;
            # beyond it websockets closes the socket (1009) before buffering them.
            max_size=self.config.max_message_bytes * 4,
            ping_interval=self.config.ping_interval_s,
            ping_timeout=self.config.ping_interval_s,
            compression=None,
            ssl=self.config.ssl_context,
            # Several processes on one port (``serve --workers N``): the kernel spreads connections.
            reuse_port=self.config.reuse_port,
        )
        self.port = int(next(iter(self._server.sockets)).getsockname()[1])
        log.info(
            "event=listening host=%s port=%d tls=%d pid=%d",
            self.config.host,
            self.port,
            int(self.config.ssl_context is not None),
            os.getpid(),
        )
        return self.port

    async def stop(self) -> None:
        """Close every socket, commit what was accepted, release the database."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._writer_task is not None:
            await self._write_queue.put(None)
            await self._writer_task
        if self._cluster is not None:
            await self._cluster.stop()
        for task in (self._checkpoint_task, self._access_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._write_executor.shutdown(wait=True)
        self._read_executor.shutdown(wait=True)
        self.media.close()
        for engine in (self.writer_engine, self.engine):
            if engine is not None:
                engine.dispose()
        log.info("event=stopped")

    async def _join_cluster(self) -> None:
        link = cluster.ClusterLink(
            self.config.db_url,
            cluster.ClusterServices(
                config=self.config,
                admission=self.admission,
                metrics=self.metrics,
                subscribers=self._subscribers,
                heads=self._heads,
                read=self.read,
                catch_up_again=self._catch_up_again,
                tell_added=self._tell_added_here,
            ),
        )
        self.admission.on_sign_in = link.publish_sign_in
        self._cluster = link
        await link.start()

    # -- HTTP health -----------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        started = min(self._writes_started.values(), default=None)
        return {
            "status": "ok",
            "protocol": 1,
            "server_id": self.server_id,
            "connections": len(self._sessions),
            "authenticated": sum(1 for s in self._sessions if s.user is not None),
            "uptime_s": round(time.monotonic() - self._started_at, 1),
            # Seconds the write in progress has waited (a database locked from outside): reads
            # still work, writes queue up and are acknowledged once it is free.
            "write_wait_s": 0.0 if started is None else round(time.monotonic() - started, 1),
        }

    # -- connections -----------------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        if ws.request is not None and ws.request.path.split("?", 1)[0] == MEDIA_PATH:
            await self.media.handle(ws)
            return
        address = endpoints.address(ws)
        session = Session(ws, self.config, address, self.admission.address_bucket(address), self.metrics)
        self.admission.opened(address)
        self.metrics.connections_opened.inc()
        self._sessions.add(session)
        sender = asyncio.create_task(session.run_sender())
        loop = asyncio.get_running_loop()
        auth_timer = loop.call_later(self.config.auth_timeout_s, self._auth_deadline, session)
        try:
            async for raw in ws:
                if session.closing:
                    # Keep reading (and discarding) so the closing handshake is not stuck behind
                    # the unread messages of a flooding client.
                    continue
                await self._on_message(session, raw)
        except ConnectionClosed:
            pass
        finally:
            auth_timer.cancel()
            closing_by_us = session.closing
            session.closing = True
            for subscription in list(session.subscriptions.values()):
                self._drop_subscription(subscription)
            if closing_by_us:
                # The sender flushes the explanation and closes; a client that stops reading is cut
                # off by websockets' close timeout.
                with contextlib.suppress(TimeoutError, ConnectionClosed):
                    await asyncio.wait_for(asyncio.shield(sender), 15)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self._sessions.discard(session)
            self.admission.closed(address)

    def _auth_deadline(self, session: Session) -> None:
        if session.user is None:
            session.close_soon("authentication timeout")

    async def _on_message(self, session: Session, raw: str | bytes) -> None:
        if not session.bucket.allow():
            self._strike(session)
            return
        if isinstance(raw, bytes):
            session.send_error("bad_request", "Binary frames are not part of the protocol", None)
            return
        limit = self.config.max_message_bytes
        if len(raw) > limit // 4 and len(raw.encode("utf-8")) > limit:
            session.send_error("too_large", f"Messages are limited to {limit} bytes", None)
            return
        try:
            message = CLIENT_MESSAGE.validate_json(raw)
        except ValidationError as exc:
            # Invitations and password resets (server.invitations_requests), then member requests
            # (server.member_requests): tried only here, off the hot path.
            handled = await invitations_requests.handle(self, session, raw)
            if not handled and not await member_requests.handle(self, session, raw):
                self._reject_invalid(session, raw, exc)
            return
        if isinstance(message, Change):
            # The hot path. Changes are queued without waiting: the client may pipeline, order is kept.
            if session.user is None:
                session.send_error("auth_required", "Sign in first (login or auth)", message.id)
            else:
                self._write_queue.put_nowait((session, message, message.id, time.perf_counter()))
            return
        if isinstance(message, LoginRequest | AuthRequest):
            await accounts.authenticate(self, session, message)
            return
        if session.user is None:
            session.send_error("auth_required", "Sign in first (login or auth)", message.id)
            return
        if isinstance(message, SubscribeRequest):
            await self._subscribe(session, message)
        elif isinstance(message, UnsubscribeRequest):
            subscription = session.subscriptions.get(message.project)
            if subscription is not None:
                self._drop_subscription(subscription)
            session.send(OkReply(re=message.id).model_dump_json())
        elif isinstance(message, ChangePasswordRequest):
            await accounts.change_password(self, session, message)
        elif isinstance(message, UpdateProfileRequest):
            await accounts.update_profile(self, session, message)
        elif isinstance(message, LogoutRequest):
            await self.write(store.revoke_token, session.user.token_hash)
            session.send(OkReply(re=message.id).model_dump_json())
            session.close_soon("signed out")
        elif isinstance(message, ListNotificationsRequest):
            items = await self.read(
                store.list_notifications, session.user.user.id, message.since_id, message.limit
            )
            session.send(NotificationsReply(re=message.id, items=items).model_dump_json())
        elif isinstance(message, MarkReadRequest):
            await self.write(store.mark_notifications_read, session.user.user.id, message.ids)
            session.send(OkReply(re=message.id).model_dump_json())

    def _strike(self, session: Session) -> None:
        now = time.monotonic()
        if now - session.last_strike > 5.0:
            session.strikes = 0
        session.strikes += 1
        session.last_strike = now
        if session.strikes == 1:
            log.warning("event=rate_limited user=%s", session.user_name)
        if session.strikes >= self.config.rate_strikes_before_close:
            session.close_soon("rate limit exceeded")
        else:
            session.send_error("rate_limited", "Too many messages; slow down", None)

    @staticmethod
    def _reject_invalid(session: Session, raw: str, exc: ValidationError) -> None:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            # Not parsed again here: the parser already said why (nested too deep included), and the
            # standard library's parser would recurse until Python's stack limit on such input.
            session.send_error("bad_request", f"Not valid JSON: {first['msg']}", None)
            return
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            session.send_error("bad_request", "Not valid JSON", None)
            return
        if not isinstance(document, dict):
            session.send_error("bad_request", "A message must be a JSON object", None)
            return
        request_id = document.get("id")
        request_id = str(request_id)[:64] if request_id is not None else None
        if document.get("v", 1) != 1:
            session.send_error("unsupported_version", "This server speaks protocol version 1", request_id)
            return
        where = ".".join(str(part) for part in first["loc"])
        session.send_error("bad_request", f"{where}: {first['msg']}", request_id)

    async def read(self, function: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_executor, function, self.engine, *args)

    async def write(self, function: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        key = next(self._write_numbers)
        self._writes_started[key] = time.monotonic()
        try:
            return await loop.run_in_executor(self._write_executor, function, self.writer_engine, *args)
        finally:
            del self._writes_started[key]

    def close_user_sessions(self, user_id: int, keep: str) -> int:
        """Close the user's live connections signed in with another token than ``keep`` now, rather
        than at the next access check; returns how many."""
        sessions = open_sessions_of(self._sessions, user_id)
        closing = [s for s in sessions if s.user is not None and s.user.token_hash != keep]
        for session in closing:
            session.send_error("token_revoked", "Your password was changed; sign in again", None)
            session.close_soon("password changed")
        return len(closing)

    def tell_added(self, user_id: int, project: int, name: str, keep: Session | None) -> int:
        """The user's connections here and on the other server processes learn they were added to
        ``project``: told ``projects_changed`` and closed, they sign in again (``server.member_requests``)."""
        if self._cluster is not None:
            self._cluster.publish_added(user_id, project, name)
        return self._tell_added_here(user_id, project, name, keep)

    def _tell_added_here(self, user_id: int, project: int, name: str, keep: Session | None = None) -> int:
        return member_requests.tell_added(self._sessions, user_id, project, name, keep)

    # -- subscriptions ---------------------------------------------------------------------------
    async def _subscribe(self, session: Session, message: SubscribeRequest) -> None:
        assert session.user is not None
        try:
            project, members = await self.read(store.subscription_info, session.user.user.id, message.project)
        except store.DomainError as error:
            session.send_error(error.code, error.message, message.id)
            return
        if message.since_seq > project.head_seq:
            session.send_error(
                "invalid",
                f"since_seq {message.since_seq} is ahead of the server ({project.head_seq}); the "
                "server was restored from an older backup: subscribe from 0",
                message.id,
            )
            return
        previous = session.subscriptions.get(message.project)
        if previous is not None:
            self._drop_subscription(previous)
        self._heads[project.id] = max(self._heads.get(project.id, 0), project.head_seq)
        subscription = Subscription(session, project.id, message.since_seq, ack_events=message.ack_events)
        session.subscriptions[project.id] = subscription
        self._subscribers.setdefault(project.id, set()).add(subscription)
        session.send(
            Subscribed(
                re=message.id,
                server_id=self.server_id,
                project=project,
                since_seq=message.since_seq,
                members=members,
            ).model_dump_json()
        )
        subscription.task = asyncio.create_task(self._catch_up(subscription))

    def _drop_subscription(self, subscription: Subscription) -> None:
        if subscription.task is not None and not subscription.task.done():
            subscription.task.cancel()
        self._subscribers.get(subscription.project, set()).discard(subscription)
        if subscription.session.subscriptions.get(subscription.project) is subscription:
            del subscription.session.subscriptions[subscription.project]

    async def _catch_up(self, subscription: Subscription) -> None:
        session = subscription.session
        project = subscription.project
        page_size = self.config.page_size
        try:
            while not session.closing:
                read = await self.read(store.read_events, project, subscription.delivered, page_size)
                rows = fanout.within_bytes(read, self.config.page_bytes)
                if rows:
                    subscription.delivered = rows[-1][0]
                more_stored = len(read) == page_size or len(rows) < len(read)
                done = not more_stored and subscription.delivered >= self._heads[project]
                session.send(fanout.events_page(project, rows, catchup=True, more=not done))
                self.metrics.events_delivered.inc(len(rows))
                if done:
                    # No await between the check above and this flag: the fan-out cannot slip an
                    # event in between.
                    subscription.catching_up = False
                    return
                await session.wait_idle()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event=catch_up_failed user=%s project=%d", session.user_name, project)
            session.close_soon("internal error during catch-up")

    # -- access --------------------------------------------------------------------------------
    async def _run_access_checks(self) -> None:
        """Cut live streams that lost their right: a revoked or expired token closes the connection;
        a removed membership ends that project's subscription. Nobody keeps reading a project after
        an administrator took them off it."""
        while True:
            await asyncio.sleep(self.config.access_check_interval_s)
            for session in [s for s in self._sessions if s.user is not None and not s.closing]:
                await self._check_access(session)

    async def _check_access(self, session: Session) -> None:
        user = session.user
        assert user is not None
        try:
            result = await self.read(
                store.check_access, user.token_hash, user.user.id, frozenset(session.subscriptions)
            )
        except Exception:
            log.exception("event=access_check_failed user=%s", session.user_name)
            return
        if result.token_problem is not None:
            log.info("event=access_revoked user=%s code=%s", session.user_name, result.token_problem.code)
            session.send_error(result.token_problem.code, result.token_problem.message, None)
            session.close_soon(result.token_problem.message)
            return
        for project in result.lost_projects:
            subscription = session.subscriptions.get(project)
            if subscription is not None:
                log.info("event=membership_lost user=%s project=%d", session.user_name, project)
                self._drop_subscription(subscription)
                session.send_error("not_member", f"You are no longer a member of project {project}", None)

    # -- writer ----------------------------------------------------------------------------------
    async def _run_checkpoints(self) -> None:
        """SQLite: checkpoint the WAL on a reader thread (sqlite releases the GIL while it copies)."""
        loop = asyncio.get_running_loop()
        engine = self.engine
        assert engine is not None
        checkpointed = 0
        while True:
            await asyncio.sleep(self.config.checkpoint_interval_s)
            if self._commits == checkpointed:
                continue
            checkpointed = self._commits
            try:
                await loop.run_in_executor(self._read_executor, checkpoint, engine)
            except Exception:
                log.exception("event=checkpoint_failed")

    def _take_queued(self, batch: list[tuple[Session, Change, str | None]], received: list[float]) -> bool:
        """Move queued changes into ``batch`` and when each arrived into ``received`` (up to
        ``max_batch``); True once the stop marker came."""
        while len(batch) < self.config.max_batch and not self._write_queue.empty():
            item = self._write_queue.get_nowait()
            if item is None:
                return True
            batch.append(item[:3])
            received.append(item[3])
        return False

    async def _run_writer(self) -> None:
        stopping = False
        while not stopping:
            first = await self._write_queue.get()
            if first is None:
                break
            batch, received = [first[:3]], [first[3]]
            stopping = self._take_queued(batch, received)
            # Group commit: one commit costs as much as applying several changes, so while changes
            # keep arriving give the loop a few more turns to read what already waits in other
            # sockets. Two turns that bring nothing end the wait (a lone change waits microseconds).
            # With a single connection there is nothing to wait for: what it pipelined was already
            # queued before this task ran.
            quiet_turns = 0
            turns = self.config.gather_turns if len(self._sessions) > 1 else 0
            for _turn in range(turns):
                if stopping or len(batch) >= self.config.max_batch or quiet_turns >= 2:
                    break
                await asyncio.sleep(0)
                before = len(batch)
                stopping = self._take_queued(batch, received)
                quiet_turns = quiet_turns + 1 if len(batch) == before else 0
            assert self.engine is not None
            work = [(session.user, change) for session, change, _ in batch if session.user]
            try:
                results = await self.write(changes.apply_batch, work)
            except Exception:
                log.exception("event=writer_failed size=%d", len(batch))
                for session, _change, request_id in batch:
                    session.send_error("internal", "The server could not store this change", request_id)
                continue
            self._commits += 1
            delivered = fanout.dispatch(batch, results, self._subscribers, self._heads, self._catch_up_again)
            self._count_batch(batch, results, received, delivered)

    def _count_batch(
        self,
        batch: list[tuple[Session, Change, str | None]],
        results: list[ChangeResult],
        received: list[float],
        delivered: int,
    ) -> None:
        acked_at = time.perf_counter()
        metrics = self.metrics
        metrics.events_delivered.inc(delivered)
        for (_session, change, _request_id), result, arrived in zip(batch, results, received, strict=True):
            if result.error is None:
                metrics.changes.labels(change.type).inc()
                metrics.ack_latency.observe(acked_at - arrived)

    def _catch_up_again(self, subscription: Subscription) -> None:
        subscription.catching_up = True
        subscription.task = asyncio.create_task(self._catch_up(subscription))


async def serve_until(config: ServerConfig, stop: asyncio.Event, ready: Any = None) -> None:
    """Run a server until ``stop`` is set; ``ready(port)`` is called once it listens."""
    server = SyncServer(config)
    port = await server.start()
    if ready is not None:
        ready(port)
    try:
        await stop.wait()
    finally:
        await server.stop()
