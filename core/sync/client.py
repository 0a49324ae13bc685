"""``SyncClient``: keeps the local store and the server in step, over one WebSocket, forever.

It runs on its own asyncio loop (``start()`` puts it on a thread; ``run_forever()`` blocks the caller)
and talks to the UI only through two callbacks carrying plain dataclasses: ``on_status(SyncStatus)`` and
``on_event(SyncEvent)``. Both are called on the sync thread; a Qt bridge forwards them as signals.

The client writes nothing of its own: comments, tasks and assets are written to the ``LocalStore`` (at
once, offline or not), and the store tells the running client, which wakes its outbox flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from core.settings import SYNC_JOURNAL_DAYS
from core.sync.client_events import (
    AuthError,
    AuthProblem,
    ChangeRejected,
    ChangesHeld,
    EventsUnreadable,
    NotificationsArrived,
    ProjectDeleted,
    RecordsChanged,
    ServerRolledBack,
    SyncEvent,
    SyncState,
    SyncStatus,
    TaskConflicts,
)
from core.sync.incoming import read_server_message
from core.sync.local_store import (
    GapError,
    LocalStore,
    OutboxEntry,
    UnreadableEvent,
)
from core.sync.member_protocol import read_projects_changed
from core.sync.protocol import (
    MAX_MESSAGE_BYTES,
    PERMANENT_ERRORS,
    SERVER_MESSAGE,
    Ack,
    AuthOk,
    AuthRequest,
    ErrorReply,
    EventsPage,
    ServerMessage,
    Subscribed,
    SubscribeRequest,
    UserInfo,
)
from core.sync.tls import (
    CertificateRefusedError,
    TlsSetupError,
    certificate_failure_message,
    client_ssl_context,
    is_certificate_failure,
)

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

# What a one-shot run (``run_once``) waits for before it disconnects.
OnceGoal = Literal["caught_up", "pushed"]
AUTH_ERRORS = frozenset({"auth_failed", "token_expired", "token_revoked"})


class _Reconnect(Exception):
    """Drop this connection and start again (after the usual backoff)."""


class _SignInAgain(Exception):
    """The server changed this user's project list (``projects_changed``): sign in again at once, which
    brings the new list in ``auth_ok``; nothing went wrong, so the user is told nothing."""


class _Pacer:
    """Client-side token bucket a little below the server's, so a long outbox never trips it."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate = max(1.0, rate_per_s)
        self.capacity = max(1.0, burst)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            await asyncio.sleep((1.0 - self.tokens) / self.rate)


class SyncClient:
    def __init__(
        self,
        store: LocalStore,
        url: str,
        token: str,
        *,
        on_status: Callable[[SyncStatus], None] | None = None,
        on_event: Callable[[SyncEvent], None] | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        window: int = 64,
        ca_file: str = "",
        journal_days: float = SYNC_JOURNAL_DAYS,
    ) -> None:
        self.store = store
        self.url = url
        self._token = token
        self._on_status = on_status
        self._on_event = on_event
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.window = window
        self.ca_file = ca_file  # the studio's CA bundle for wss:// (``core.sync.tls``)
        self.journal_days = journal_days
        self._journal_pruned = False
        self._once: OnceGoal | None = None
        self._status = SyncStatus("offline")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._wakeup: asyncio.Event | None = None
        self._token_changed: asyncio.Event | None = None
        self._connected = False
        self._catching_up: dict[int, int] = {}
        self._in_flight: dict[str, OutboxEntry] = {}
        self._last_sent = 0
        self._pacer = _Pacer(200.0, 500.0)
        self._held_reported = 0
        self.user: UserInfo | None = None

    # -- running -------------------------------------------------------------------------------
    @property
    def status(self) -> SyncStatus:
        return self._status

    def start(self) -> None:
        """Run the client on a daemon thread with its own event loop."""
        if self._thread is not None:
            raise RuntimeError("SyncClient already started")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self.run_forever, args=(ready,), name="sync-client", daemon=True
        )
        self._thread.start()
        ready.wait(10)

    def run_forever(self, ready: threading.Event | None = None) -> None:
        asyncio.run(self.run(ready))

    def stop(self, timeout_s: float = 10.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def set_token(self, token: str) -> None:
        """A fresh token after an ``AuthProblem``; reconnects at once."""
        self._token = token
        self._call_in_loop(lambda: self._token_changed.set() if self._token_changed else None)

    def _prepare_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._token_changed = asyncio.Event()

    def _connect(self) -> connect:
        return connect(
            self.url,
            ssl=client_ssl_context(self.url, self.ca_file),
            open_timeout=10,
            max_size=MAX_MESSAGE_BYTES * 8,
            compression=None,
        )

    async def run(self, ready: threading.Event | None = None) -> None:
        self._prepare_loop()
        self.store.add_listener(self._on_local_change)
        if ready is not None:
            ready.set()
        try:
            await self._connect_until_stopped()
        finally:
            self.store.remove_listener(self._on_local_change)
        self._connected = False
        self._set_status("offline", "stopped")

    async def _connect_until_stopped(self) -> None:
        assert self._stop is not None
        assert self._token_changed is not None
        attempt = 0
        while not self._stop.is_set():
            self._set_status("connecting")
            problem = ""
            try:
                async with self._connect() as ws:
                    await self._session(ws)
                    attempt = 0
            except _SignInAgain as exc:
                log.info("event=sync_projects_changed message=%r", str(exc))
                self._connected = False
                attempt = 0
                continue
            except AuthError as error:
                log.warning("event=sync_auth_failed code=%s", error.code)
                self._connected = False
                self._set_status("offline", error.message)
                self._emit(AuthProblem(error.code, error.message))
                self._token_changed.clear()
                await self._wait_any(self._token_changed.wait(), None)
                continue
            except TlsSetupError as exc:
                problem = str(exc)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError, _Reconnect) as exc:
                log.info("event=sync_disconnected reason=%r", str(exc) or type(exc).__name__)
                if is_certificate_failure(exc):
                    # Kept refusing (the server's certificate may be fixed), never retried without TLS.
                    problem = certificate_failure_message(self.url, exc)
            except (ValidationError, ValueError):
                log.exception("event=sync_protocol_error")
            self._connected = False
            if self._stop.is_set():
                break
            delay = min(self.backoff_max_s, self.backoff_initial_s * 2**attempt)
            delay = random.uniform(delay / 2, delay)  # jitter: a studio's clients do not stampede
            attempt = min(attempt + 1, 20)
            if problem:
                log.warning("event=sync_tls_refused url=%s problem=%r", self.url, problem)
            self._set_status(
                "offline",
                f"{problem} Retrying in {delay:.1f} s." if problem else f"reconnecting in {delay:.1f} s",
            )
            await self._wait_any(self._token_changed.wait(), delay)

    async def _wait_any(self, other: Any, timeout: float | None) -> None:
        assert self._stop is not None
        tasks = {asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(other)}
        _done, pending = await asyncio.wait(tasks, timeout=timeout, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def run_once(self, goal: OnceGoal) -> None:
        """One connection, for scripts: sign in, catch up (and for ``pushed`` send the outbox and wait
        for every ack), then disconnect. Never retries: failures are raised in words as ``AuthError``,
        ``CertificateRefusedError``, ``TlsSetupError`` or ``ConnectionError``."""
        self._prepare_loop()
        self._once = goal
        try:
            async with self._connect() as ws:
                await self._session(ws)
        except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError, _Reconnect, _SignInAgain) as exc:
            if is_certificate_failure(exc):
                raise CertificateRefusedError(certificate_failure_message(self.url, exc)) from exc
            raise ConnectionError(f"Sync with {self.url} did not finish: {exc}") from exc
        finally:
            self._once = None
            self._connected = False
        assert self._stop is not None
        if not self._stop.is_set():
            raise ConnectionError(f"The server at {self.url} closed the connection before sync finished")

    async def _session(self, ws: ClientConnection) -> None:
        await ws.send(AuthRequest(id="auth", token=self._token).model_dump_json())
        reply = SERVER_MESSAGE.validate_json(await asyncio.wait_for(ws.recv(), 30))
        if isinstance(reply, ErrorReply):
            if reply.code in AUTH_ERRORS:
                raise AuthError(reply.code, reply.message)
            raise _Reconnect(f"auth refused: {reply.code}")
        if not isinstance(reply, AuthOk):
            raise _Reconnect(f"unexpected reply {reply.type}")
        self.user = reply.user
        held = await asyncio.to_thread(
            self.store.save_session, reply.user, reply.projects, self.url, reply.server_id
        )
        if held.count and held.count != self._held_reported:
            self._emit(ChangesHeld(held))
        self._held_reported = held.count
        for project in reply.projects:
            resent = await asyncio.to_thread(self.store.resend_after_rollback, project.id, project.head_seq)
            if resent:
                log.warning(
                    "event=server_rolled_back project=%d head=%d resent=%d",
                    project.id,
                    project.head_seq,
                    resent,
                )
                self._emit(ServerRolledBack(project.id, project.head_seq, resent))
        if not self._journal_pruned:
            # After the rollback check, which is what the journal is kept for; once per run is plenty.
            pruned = await asyncio.to_thread(self.store.prune_journal, self.journal_days)
            self._journal_pruned = True
            if pruned:
                log.info("event=journal_pruned entries=%d older_than_days=%s", pruned, self.journal_days)
        self._pacer = _Pacer(reply.limits.rate_per_s * 0.8, reply.limits.burst / 2)
        self._connected = True
        self._in_flight.clear()
        self._last_sent = 0
        self._catching_up = {}
        for project in reply.projects:
            if project.deleted:  # deleted while this client was away: it missed the tombstone
                self._emit(ProjectDeleted(project.id, project.name))
                continue
            await self._subscribe(ws, project.id)
        self._update_status()
        reader = asyncio.create_task(self._read_loop(ws))
        flusher = asyncio.create_task(self._flush_loop(ws))
        assert self._stop is not None
        stopper = asyncio.create_task(self._stop.wait())
        done, pending = await asyncio.wait({reader, flusher, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task is not stopper and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _subscribe(self, ws: ClientConnection, project_id: int) -> None:
        cursor = await asyncio.to_thread(self.store.cursor, project_id)
        self._catching_up[project_id] = 0
        request = SubscribeRequest(
            id=f"sub:{project_id}", project=project_id, since_seq=cursor, ack_events=True
        )
        await ws.send(request.model_dump_json())

    # -- incoming ------------------------------------------------------------------------------
    async def _read_loop(self, ws: ClientConnection) -> None:
        """Messages are handled in the order they arrive. Acks that queued up while earlier ones were
        being stored are stored together, in one transaction: flushing a long outbox then costs a
        write per batch, not per change, and keeps up with a server acking hundreds per second."""
        inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        receiver = asyncio.create_task(self._receive(ws, inbox))
        try:
            while True:
                batch = [await inbox.get()]
                while not inbox.empty():
                    batch.append(inbox.get_nowait())
                acks: list[tuple[Ack, list[UnreadableEvent]]] = []
                for raw in batch:
                    if raw is None:  # the connection ended; nothing follows
                        break
                    try:
                        message, unreadable = read_server_message(raw)
                    except ValueError:
                        changed = read_projects_changed(raw)
                        if changed is None:
                            raise
                        await self._on_acks(ws, acks)  # what was acked before it is kept
                        raise _SignInAgain(changed.message) from None
                    if isinstance(message, Ack):
                        acks.append((message, unreadable))
                        continue
                    await self._on_acks(ws, acks)
                    acks = []
                    await self._on_message(ws, message, unreadable)
                await self._on_acks(ws, acks)
                self._update_status()
                if batch[-1] is None:
                    break
            await receiver  # the reason the connection ended, if it failed
        finally:
            receiver.cancel()

    @staticmethod
    async def _receive(ws: ClientConnection, inbox: asyncio.Queue[str | bytes | None]) -> None:
        try:
            async for raw in ws:
                inbox.put_nowait(raw)
        finally:
            inbox.put_nowait(None)

    async def _on_message(
        self, ws: ClientConnection, message: ServerMessage, unreadable: list[UnreadableEvent]
    ) -> None:
        if isinstance(message, EventsPage):
            await self._on_events(ws, message, unreadable)
        elif isinstance(message, ErrorReply):
            await self._on_error(ws, message)
        elif isinstance(message, Subscribed):
            remaining = message.project.head_seq - message.since_seq
            self._catching_up[message.project.id] = remaining
            await asyncio.to_thread(self.store.save_members, message.project.id, message.members)

    async def _on_acks(self, ws: ClientConnection, acks: list[tuple[Ack, list[UnreadableEvent]]]) -> None:
        """Acks in arrival order; those carrying their events complete their outbox entries when the
        events are stored (one page per project), the others are marked accepted."""
        if not acks:
            return
        by_project: dict[int, list[tuple[Ack, list[UnreadableEvent]]]] = {}
        for ack, unreadable in acks:
            self._in_flight.pop(ack.re or "", None)
            by_project.setdefault(ack.project, []).append((ack, unreadable))
        accepted: list[tuple[str, int]] = []
        for project, project_acks in by_project.items():
            events = [ack.event for ack, _ in project_acks if ack.event is not None]
            unreadable = [item for _, items in project_acks for item in items]
            page = EventsPage(project=project, events=events)
            stored = bool(events or unreadable) and await self._on_events(ws, page, unreadable)
            accepted += [(a.change_id, a.seq) for a, _ in project_acks if a.event is None or not stored]
        if accepted:
            await asyncio.to_thread(self.store.mark_acked, accepted)
        self._wake()

    async def _on_events(
        self, ws: ClientConnection, page: EventsPage, unreadable: list[UnreadableEvent]
    ) -> bool:
        """Store a page; False when it did not follow the cursor (then re-subscribes)."""
        try:
            applied = await asyncio.to_thread(self.store.apply_events, page.project, page.events, unreadable)
        except GapError as exc:
            log.warning("event=sync_gap detail=%r", str(exc))
            await self._subscribe(ws, page.project)
            return False
        if page.catchup:
            if page.more:
                self._catching_up[page.project] = max(
                    0, self._catching_up.get(page.project, 0) - len(page.events)
                )
            else:
                self._catching_up.pop(page.project, None)
        for kind, record_ids in applied.changed.items():
            self._emit(RecordsChanged(page.project, kind, list(dict.fromkeys(record_ids))))
        if "project" in applied.changed:
            self._emit(ProjectDeleted(page.project))
        if applied.notifications:
            self._emit(NotificationsArrived(applied.notifications))
        for task_id, event in applied.conflicts:
            self._emit(TaskConflicts(task_id, event.project, event.seq, event.actor, event.conflicts))
        if applied.unreadable:
            log.warning(
                "event=events_unreadable project=%d seqs=%s",
                page.project,
                [item.seq for item in applied.unreadable],
            )
            self._emit(EventsUnreadable(page.project, applied.unreadable))
        return True

    async def _on_error(self, ws: ClientConnection, error: ErrorReply) -> None:
        request_id = error.re or ""
        entry = self._in_flight.pop(request_id, None)
        if entry is not None:
            if error.code in PERMANENT_ERRORS:
                log.warning("event=change_rejected code=%s change=%s", error.code, entry.change_id)
                await asyncio.to_thread(self.store.mark_rejected, entry.change_id, error.code, error.message)
                self._emit(
                    ChangeRejected(
                        entry.change_id, entry.record_kind, entry.record_id, error.code, error.message
                    )
                )
                self._wake()
                return
            if error.code in AUTH_ERRORS:
                raise AuthError(error.code, error.message)
            # rate_limited, internal: everything in flight is re-sent, in order, after a backoff.
            raise _Reconnect(f"change {entry.change_id} not accepted yet: {error.code}")
        if request_id.startswith("sub:"):
            project_id = int(request_id[4:])
            self._catching_up.pop(project_id, None)
            if error.code == "invalid":
                # Our cursor is ahead of the server: it was restored from a backup after we signed in.
                # Signing in again brings its head, and with it what to send again (``_session``).
                raise _Reconnect(f"project {project_id}: the server is behind this client's cursor")
            log.warning("event=subscribe_refused project=%d code=%s", project_id, error.code)
            return
        if error.code in AUTH_ERRORS:
            raise AuthError(error.code, error.message)
        if error.code == "rate_limited":
            raise _Reconnect("rate limited")
        log.warning("event=server_error code=%s message=%r", error.code, error.message)

    # -- outgoing ------------------------------------------------------------------------------
    async def _flush_loop(self, ws: ClientConnection) -> None:
        assert self._wakeup is not None
        while True:
            self._wakeup.clear()
            room = self.window - len(self._in_flight)
            if room > 0:
                entries = await asyncio.to_thread(self.store.pending_changes, self._last_sent, room)
                for entry in entries:
                    await self._pacer.take()
                    request_id = f"c{entry.position}"
                    self._in_flight[request_id] = entry
                    self._last_sent = entry.position
                    # The stored change is a JSON object without an id: splice the request id in.
                    await ws.send(f'{{"id":"{request_id}",{entry.message[1:]}')
                if entries:
                    self._update_status()
                    continue
            await self._wakeup.wait()

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    # -- callbacks -----------------------------------------------------------------------------
    def _emit(self, event: SyncEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("event=sync_callback_failed kind=%s", type(event).__name__)

    def _set_status(self, state: SyncState, message: str = "", pending: int | None = None) -> None:
        if pending is None:
            pending = self.store.pending_count()
        status = SyncStatus(state, pending, sum(self._catching_up.values()), message)
        if status == self._status:
            return
        self._status = status
        if self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                log.exception("event=sync_status_callback_failed")

    def _update_status(self) -> None:
        if not self._connected:
            self._set_status("offline" if self._status.state == "offline" else "connecting")
            return
        pending = self.store.pending_count()
        busy = pending > 0 or bool(self._catching_up)
        self._set_status("syncing" if busy else "online", pending=pending)
        done = not self._catching_up and (self._once == "caught_up" or pending == 0)
        if self._once is not None and done and self._stop is not None:
            self._stop.set()

    def _call_in_loop(self, callback: Callable[[], Any]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback)

    def _on_local_change(self, _record_kind: str) -> None:
        """The store committed a local write (on the writer's thread): send it from the loop."""
        self._call_in_loop(self._after_local_change)

    def _after_local_change(self) -> None:
        self._wake()
        self._update_status()
