"""Several server processes on one PostgreSQL database: the notifications that tie them together.

The events table is the truth; notifications are only a doorbell. The writer's transaction calls
``pg_notify`` with ``project:head_seq`` for each project it wrote to (space-separated, as many pairs
per notification as fit); PostgreSQL delivers it at commit, never for a rollback. Every process
LISTENs on one connection of its own and, for a project it has subscribers for, reads from the table
the events after the last one it delivered. So the 8,000-byte
payload limit, a notification lost while the listener reconnected, or two notifications folded into
one cannot lose an event: the next read fills the gap. After each (re)connect the listener reads
every subscribed project's head from the table, which covers whatever was committed while it was
deaf.

Sign-in failures go over a second channel so that a lock-out holds on every process (see
``server.admission``): each process keeps its own counts and adds the failures the others report. A
third tells every process that a user was added to a project, so that user's connections there sign in
again and get the new project list (``server.member_requests``).

Only for PostgreSQL (psycopg 3, the ``postgres`` extra); SQLite has one server process and needs none
of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server import fanout
from server.cluster_messages import (
    EVENTS_CHANNEL,
    LISTENER_APPLICATION,
    SIGN_IN_CHANNEL,
    libpq_conninfo,
    notify,
    parse_heads,
    parse_sign_in,
    sign_in_payload,
)
from server.store import project_heads, read_events

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from server.admission import Admission
    from server.metrics import ServerMetrics
    from server.session import ServerConfig, Subscription

log = logging.getLogger(__name__)

# Kept here rather than with the other channels (``server.cluster_messages``): only this module sends
# and reads it, after the membership's transaction committed.
MEMBERS_CHANNEL = "stratopipe_members"


class Listener:
    """One LISTEN connection for the process, reconnected with backoff (with jitter, so the processes
    of a studio do not all hammer a restarted database in step).

    ``handlers`` maps each channel to a function called on the event loop with each payload;
    ``on_connected`` runs after every (re)connect, once LISTEN is in force: the catch-up read.
    Between notifications a ``SELECT 1`` every ``heartbeat_s`` finds a connection that died quietly.
    """

    def __init__(
        self,
        conninfo: str,
        handlers: dict[str, Callable[[str], None]],
        on_connected: Callable[[], None],
        *,
        backoff_initial_s: float = 0.1,
        backoff_max_s: float = 5.0,
        heartbeat_s: float = 15.0,
    ) -> None:
        self.conninfo = conninfo
        self.handlers = handlers
        self.on_connected = on_connected
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.heartbeat_s = heartbeat_s
        self.connected = asyncio.Event()
        self.connects = 0

    async def run(self) -> None:
        import psycopg
        from psycopg import sql

        delay = self.backoff_initial_s
        while True:
            try:
                # Named, so an administrator sees in pg_stat_activity which connection listens.
                connecting = psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True, application_name=LISTENER_APPLICATION
                )
                async with await connecting as connection:
                    for channel in self.handlers:
                        await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    self.connects += 1
                    self.connected.set()
                    log.info("event=listener_connected connects=%d", self.connects)
                    delay = self.backoff_initial_s
                    self.on_connected()
                    await self._receive(connection)
            except (psycopg.Error, OSError) as exc:
                if self.connected.is_set():
                    log.warning("event=listener_lost error=%r", str(exc)[:200])
                else:
                    log.warning("event=listener_connect_failed error=%r retry_s=%.1f", str(exc)[:200], delay)
            except Exception:
                # A bug must not leave the process deaf for good: log it and listen again.
                log.exception("event=listener_failed")
            finally:
                self.connected.clear()
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(self.backoff_max_s, delay * 2)

    async def _receive(self, connection: Any) -> None:
        while True:
            async for notification in connection.notifies(timeout=self.heartbeat_s):
                handler = self.handlers.get(notification.channel)
                if handler is not None:
                    handler(notification.payload)
            await connection.execute("SELECT 1")


@dataclass
class ClusterServices:
    """What ``ClusterLink`` shares with the running server (``server.app.SyncServer``): its maps of
    subscriptions and of the newest sequence number dispatched per project, and how it reads."""

    config: ServerConfig
    admission: Admission
    metrics: ServerMetrics
    subscribers: dict[int, set[Subscription]]
    heads: dict[int, int]
    read: Callable[..., Awaitable[Any]]
    catch_up_again: Callable[[Subscription], None]
    # Tells the user's connections on this process they were added to a project (user, project, name).
    tell_added: Callable[[int, int, str], int]


class ClusterLink:
    """What one server process does to hear the others: the listener, and the fan-out of events they
    wrote to this process's subscribers (read from the table, in order, each once).

    It shares the server's ``subscribers`` and ``heads`` maps and runs on the server's loop; events this
    process wrote itself go out through ``server.fanout.dispatch`` as before and are skipped here by
    their sequence numbers.
    """

    def __init__(self, db_url: str, services: ClusterServices) -> None:
        self.services = services
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.listener = Listener(
            libpq_conninfo(db_url),
            {
                EVENTS_CHANNEL: self._on_head,
                SIGN_IN_CHANNEL: self._on_sign_in,
                MEMBERS_CHANNEL: self._on_added,
            },
            self._on_connected,
        )
        self._stale: set[int] = set()
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, timeout_s: float = 10.0) -> None:
        """Listen before the server accepts anyone, so no commit falls between a subscription's
        catch-up and the first notification (waits at most ``timeout_s``; the listener keeps trying)."""
        self._spawn(self.listener.run())
        self._spawn(self._run_fan_out())
        try:
            await asyncio.wait_for(self.listener.connected.wait(), timeout_s)
        except TimeoutError:
            log.warning("event=listener_not_ready timeout_s=%.0f", timeout_s)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- events ---------------------------------------------------------------------------------
    def _on_head(self, payload: str) -> None:
        parsed = parse_heads(payload)
        if parsed is None:
            log.warning("event=bad_notification payload=%r", payload[:100])
            return
        heads = self.services.heads
        for project, seq in parsed:
            if not self.services.subscribers.get(project) or seq <= heads.get(project, 0):
                continue  # nobody here reads it, this process wrote it, or it was read already
            # Raised at once: a subscription still catching up then reads on up to ``seq`` before
            # it goes live, instead of handing over below it.
            heads[project] = seq
            self._mark(project)

    def _on_connected(self) -> None:
        """After a (re)connect: anything committed while nobody listened is in the table."""
        projects = [project for project, subs in self.services.subscribers.items() if subs]
        if projects:
            self._spawn(self._refresh(projects))

    async def _refresh(self, projects: list[int]) -> None:
        try:
            stored: dict[int, int] = await self.services.read(project_heads, projects)
        except Exception:
            log.exception("event=refresh_heads_failed")
            return
        heads = self.services.heads
        for project, head in stored.items():
            if head > heads.get(project, 0):
                heads[project] = head
            self._mark(project)

    def _mark(self, project: int) -> None:
        self._stale.add(project)
        self._wakeup.set()

    async def _run_fan_out(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._stale:
                project = self._stale.pop()
                try:
                    await self._deliver(project)
                except Exception:
                    # The table still holds them: the next notification or reconnect reads again.
                    log.exception("event=remote_fan_out_failed project=%d", project)

    async def _deliver(self, project: int) -> None:
        services = self.services
        config = services.config
        while True:
            live = [s for s in services.subscribers.get(project, ()) if not s.catching_up]
            if not live:
                return  # those catching up read up to the head themselves
            after = min(s.delivered for s in live)
            if after >= services.heads.get(project, 0):
                return
            read = await services.read(read_events, project, after, config.page_size)
            rows = fanout.within_bytes(read, config.page_bytes)
            if not rows:
                return
            services.heads[project] = max(services.heads.get(project, 0), rows[-1][0])
            subscriptions = services.subscribers.get(project, set())
            delivered = fanout.deliver_stored(project, rows, subscriptions, services.catch_up_again)
            services.metrics.events_delivered.inc(delivered)
            services.metrics.remote_events.inc(len(rows))

    # -- sign-in failures -------------------------------------------------------------------------
    def publish_sign_in(self, outcome: str, address: str, username: str | None) -> None:
        payload = sign_in_payload(self.origin, outcome, address, username)
        self._spawn(self._notify(SIGN_IN_CHANNEL, payload))

    async def _notify(self, channel: str, payload: str) -> None:
        try:
            await self.services.read(notify, channel, payload)
        except Exception:
            log.exception("event=notify_failed channel=%s", channel)

    def _on_sign_in(self, payload: str) -> None:
        document = parse_sign_in(payload)
        if document is None or document.get("origin") == self.origin:
            return
        outcome, address, username = document.get("outcome"), document.get("address"), document.get("user")
        if not isinstance(address, str) or not (username is None or isinstance(username, str)):
            return
        if outcome == "failed":
            self.services.admission.remote_sign_in_failed(address, username)
        elif outcome == "succeeded" and username is not None:
            self.services.admission.remote_sign_in_succeeded(username)

    # -- members added ----------------------------------------------------------------------------
    # A notification lost while a listener reconnects leaves that user's connections there with the old
    # list until they reconnect, as before this existed; nothing is read or written wrongly meanwhile.
    def publish_added(self, user_id: int, project: int, name: str) -> None:
        payload = json.dumps({"origin": self.origin, "user": user_id, "project": project, "name": name})
        self._spawn(self._notify(MEMBERS_CHANNEL, payload))

    def _on_added(self, payload: str) -> None:
        try:
            document = json.loads(payload)
            origin, user, project, name = (document[key] for key in ("origin", "user", "project", "name"))
        except (ValueError, TypeError, KeyError):
            origin = user = project = name = None
        if not (isinstance(user, int) and isinstance(project, int) and isinstance(name, str)):
            log.warning("event=bad_notification channel=%s payload=%r", MEMBERS_CHANNEL, payload[:100])
        elif origin != self.origin:  # this process told its own connections already
            self.services.tell_added(user, project, name)
