"""Qt face of the comment and task sync: owns the ``SyncClient`` (its own thread and event loop) and turns
its callbacks into signals carrying plain dataclasses, queued to the UI thread.

Sign-in talks to the network, so it runs on a short-lived thread; every other call here is a local
SQLite read or write (the client's offline-first facade) and never waits on the server.

Catalog assets and server assets are different things: a comment hangs on a *published* asset. The
bridge publishes a catalog asset on first use under an id derived from (server project, content hash),
so every client that holds the same file finds the same comments, and looks an asset up by content
hash first, so an asset someone published under another id is found too.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from PySide6.QtCore import QObject, Signal

from core.settings import save_settings
from core.sync.client import (
    AuthError,
    AuthProblem,
    ChangeRejected,
    NotificationsArrived,
    RecordsChanged,
    SyncClient,
    SyncEvent,
    SyncStatus,
    TaskConflicts,
    login_blocking,
)
from core.sync.local_store import sync_asset

if TYPE_CHECKING:
    from pathlib import Path

    from core.settings import Settings
    from core.sync.client import LoginResult
    from core.sync.credentials import CredentialStatus, TokenStore
    from core.sync.local_store import CommentView, LocalStore, NotificationView, TaskView
    from core.sync.protocol import FieldConflict, ProjectInfo, UserInfo

log = logging.getLogger(__name__)

# Fixed namespace: the same (project, content hash) gives the same asset id on every client.
ASSET_NAMESPACE = uuid.UUID("5b0e7f7e-3c1a-4d0e-9a57-2f1f6f4c8a10")
DEFAULT_PORT = 8765
# Notifier kinds (settings.notify_<kind>) for the server's notification kinds.
NOTIFY_KINDS = {"mention": "mention", "task_assigned": "task_assigned", "comment_on_your_asset": "comment"}
SNIPPET_CHARS = 140


@dataclass(frozen=True)
class SignInOutcome:
    url: str
    user: UserInfo
    projects: list[ProjectInfo]
    credentials: CredentialStatus


@dataclass(frozen=True)
class SignInFailure:
    code: str  # auth_failed | unreachable | bad_url | <protocol error code>
    message: str


@dataclass(frozen=True)
class SyncNotice:
    """A sync notification in words, ready for the notifier."""

    kind: str  # notifier kind: mention | task_assigned | comment
    title: str
    body: str
    project_id: int
    record_kind: str
    record_id: str
    asset_id: str | None  # the synced asset it concerns, if any


def normalise_server_url(text: str) -> str:
    """``host``, ``host:port``, ``http://host`` ... become a WebSocket URL; nonsense raises ValueError."""
    text = text.strip()
    if not text:
        raise ValueError("Enter the server address, for example ws://studio-server:8765")
    if "://" not in text:
        text = "ws://" + text
    parts = urlsplit(text)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"Unsupported address scheme {parts.scheme!r}: use ws:// or wss://")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"Invalid port in {text!r}") from exc
    if not parts.hostname:
        raise ValueError(f"No host name in {text!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}:{port or DEFAULT_PORT}{parts.path.rstrip('/')}"


def describe_status(status: SyncStatus | None) -> str:
    """The status bar's words: online, offline, connecting…, syncing 12, not signed in."""
    if status is None:
        return "not signed in"
    if status.state == "syncing":
        if status.pending_changes:
            return f"syncing {status.pending_changes:,}"
        if status.catching_up:
            return f"catching up {status.catching_up:,}"
        return "syncing"
    if status.state == "connecting":
        return "connecting…"
    return status.state


def sync_asset_id(project_id: int, content_hash: str) -> str:
    return str(uuid.uuid5(ASSET_NAMESPACE, f"{project_id}:{content_hash}"))


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


class SyncBridge(QObject):
    # Emitted from the sync thread (or the sign-in thread); Qt queues them to UI-thread receivers.
    status_changed = Signal(object)  # SyncStatus | None (None: signed out)
    records_changed = Signal(object)  # RecordsChanged
    notifications_arrived = Signal(object)  # NotificationsArrived
    conflict = Signal(object)  # TaskConflicts
    change_rejected = Signal(object)  # ChangeRejected
    auth_problem = Signal(object)  # AuthProblem
    signed_in = Signal(object)  # SignInOutcome
    sign_in_failed = Signal(object)  # SignInFailure
    signed_out = Signal()
    local_change = Signal(str)  # record kind written locally ("comment", "task", "asset")
    _login_finished = Signal(object, object)  # (url, username), LoginResult | SignInFailure

    def __init__(
        self,
        store: LocalStore,
        tokens: TokenStore,
        settings: Settings,
        settings_file: Path | None = None,
        *,
        client_options: dict[str, Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.tokens = tokens
        self.settings = settings
        self.settings_file = settings_file
        self.client_options = dict(client_options or {})
        self.client: SyncClient | None = None
        self._status: SyncStatus | None = None
        self._names: dict[int, str] = {}
        self._login_thread: threading.Thread | None = None
        self._login_finished.connect(self._on_login_finished)

    # ---- running ---------------------------------------------------------------------------------

    @property
    def status(self) -> SyncStatus | None:
        return self._status

    @property
    def signing_in(self) -> bool:
        return self._login_thread is not None and self._login_thread.is_alive()

    @property
    def url(self) -> str:
        return self.client.url if self.client is not None else self.settings.server_url

    def start(self, url: str, token: str) -> None:
        """(Re)start the client with a token; it connects, catches up and flushes the outbox."""
        self.stop()
        self.client = SyncClient(
            self.store,
            url,
            token,
            on_status=self._on_status,
            on_event=self._on_event,
            **self.client_options,
        )
        self._on_status(SyncStatus("connecting"))
        self.client.start()
        log.info("event=sync_started url=%s", url)

    def start_from_settings(self) -> bool:
        """At start-up: connect when a server and a stored sign-in exist (no network wait here)."""
        url, username = self.settings.server_url, self.settings.username
        if not url or not username:
            return False
        token = self.tokens.load(url, username)
        if token is None:
            log.info("event=sync_no_stored_token url=%s user=%s", url, username)
            return False
        self.start(url, token)
        return True

    def stop(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.stop()
            log.info("event=sync_stopped")

    def close(self) -> None:
        """At quit: stop the client and release the store's database connections."""
        self.stop()
        self.store.close()

    def sign_in(self, url: str, username: str, password: str) -> None:
        """Ask the server for a token on a worker thread: ``signed_in`` or ``sign_in_failed`` follows."""
        try:
            url = normalise_server_url(url)
        except ValueError as exc:
            self.sign_in_failed.emit(SignInFailure("bad_url", str(exc)))
            return
        if not username.strip():
            self.sign_in_failed.emit(SignInFailure("auth_failed", "Enter your user name"))
            return
        request = (url, username.strip())

        def work() -> None:
            outcome: LoginResult | SignInFailure
            try:
                outcome = login_blocking(url, request[1], password)
            except AuthError as exc:
                message = "Wrong user name or password" if exc.code == "auth_failed" else exc.message
                outcome = SignInFailure(exc.code, message)
            except ConnectionError as exc:
                outcome = SignInFailure("unreachable", str(exc))
            except Exception as exc:  # anything else is still an answer for the user
                log.exception("event=sign_in_failed")
                outcome = SignInFailure("internal", f"Sign-in failed: {exc}")
            try:
                self._login_finished.emit(request, outcome)
            except RuntimeError:  # the bridge was deleted while signing in (app quit)
                log.info("event=sign_in_result_dropped")

        self._login_thread = threading.Thread(target=work, name="sync-sign-in", daemon=True)
        self._login_thread.start()

    def _on_login_finished(self, request: tuple[str, str], outcome: LoginResult | SignInFailure) -> None:
        if isinstance(outcome, SignInFailure):
            self.sign_in_failed.emit(outcome)
            return
        url, username = request
        self.stop()
        credentials = self.tokens.save(url, username, outcome.token)
        self.settings.server_url = url
        self.settings.username = username
        if self.settings_file is not None:
            save_settings(self.settings, self.settings_file)
        # Known at once (offline writes need "me"); the client refreshes it on every connection.
        self.store.save_session(outcome.user, outcome.projects, url)
        self._names.clear()
        self.start(url, outcome.token)
        log.info("event=signed_in user=%s persistent=%s", username, credentials.persistent)
        self.signed_in.emit(SignInOutcome(url, outcome.user, outcome.projects, credentials))

    def sign_out(self) -> None:
        """Stop syncing and forget the token. Local records and unsent changes stay on disk."""
        url, username = self.url, self.settings.username
        self.stop()
        if url and username:
            self.tokens.delete(url, username)
        self.settings.username = ""
        if self.settings_file is not None:
            save_settings(self.settings, self.settings_file)
        self._status = None
        self.status_changed.emit(None)
        self.signed_out.emit()

    # ---- callbacks from the sync thread ----------------------------------------------------------

    def _on_status(self, status: SyncStatus) -> None:
        self._status = status
        self._safe_emit(self.status_changed, status)

    def _on_event(self, event: SyncEvent) -> None:
        if isinstance(event, RecordsChanged):
            self._safe_emit(self.records_changed, event)
        elif isinstance(event, NotificationsArrived):
            self._safe_emit(self.notifications_arrived, event)
        elif isinstance(event, TaskConflicts):
            self._safe_emit(self.conflict, event)
        elif isinstance(event, ChangeRejected):
            self._safe_emit(self.change_rejected, event)
        elif isinstance(event, AuthProblem):
            self._safe_emit(self.auth_problem, event)

    @staticmethod
    def _safe_emit(signal: Any, value: object) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the bridge is being destroyed at quit
            log.debug("event=sync_signal_dropped")

    # ---- who and where ---------------------------------------------------------------------------

    @property
    def user_id(self) -> int | None:
        return self.store.current_user_id()

    def projects(self) -> list[ProjectInfo]:
        return self.store.projects()

    def members(self, project_id: int) -> list[UserInfo]:
        return self.store.users(project_id)

    def role(self) -> str | None:
        me = self.user_id
        return next((u.role for u in self.store.users() if u.id == me), None)

    def user_name(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        if user_id not in self._names:
            self._names = {u.id: u.display_name or u.name for u in self.store.users()}
        return self._names.get(user_id, f"user {user_id}")

    def forget_names(self) -> None:
        """Members changed (a subscribe brought a new list): names are re-read on next use."""
        self._names.clear()

    # ---- assets ----------------------------------------------------------------------------------

    def find_asset(self, project_id: int, content_hash: str) -> str | None:
        """The synced asset with this content in the project, oldest first (local or from others)."""
        if not content_hash:
            return None
        query = (
            sa.select(sync_asset.c.id)
            .where(sync_asset.c.project_id == project_id, sync_asset.c.content_hash == content_hash)
            .order_by(sync_asset.c.first_seq.is_(None), sync_asset.c.first_seq, sync_asset.c.local_order)
            .limit(1)
        )
        with self.store.engine.connect() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else str(found)

    def asset_key(self, project_id: int, content_hash: str) -> str:
        """The id comments of this content are (or will be) filed under: no write, for listing."""
        return self.find_asset(project_id, content_hash) or sync_asset_id(project_id, content_hash)

    def ensure_asset(
        self,
        project_id: int,
        name: str,
        kind: str,
        content_hash: str,
        metadata: dict[str, Any] | None = None,
        thumbnail_b64: str | None = None,
    ) -> str:
        """Publish the asset unless it already is; its id. Clients (role) cannot publish."""
        existing = self.find_asset(project_id, content_hash)
        if existing is not None:
            return existing
        if self.role() == "client":
            raise PermissionError(
                "This asset is not shared on the server yet; an artist has to share it before "
                "clients can comment on it."
            )
        asset_id = sync_asset_id(project_id, content_hash)
        target = self.client or self.store
        published: str = target.publish_asset(
            project_id, name[:200], kind[:32], content_hash, metadata or {}, thumbnail_b64, asset_id
        )
        self.local_change.emit("asset")
        return published

    def asset_content_hash(self, asset_id: str) -> tuple[int, str] | None:
        """(project, content hash) of a synced asset, to find the catalog asset it stands for."""
        query = sa.select(sync_asset.c.project_id, sync_asset.c.content_hash).where(
            sync_asset.c.id == asset_id
        )
        with self.store.engine.connect() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else (int(row[0]), str(row[1]))

    def asset_name(self, asset_id: str) -> str:
        with self.store.engine.connect() as connection:
            name = connection.execute(
                sa.select(sync_asset.c.name).where(sync_asset.c.id == asset_id)
            ).scalar_one_or_none()
        return "" if name is None else str(name)

    # ---- comments and tasks (local writes; sent when the server is reachable) ---------------------

    def add_comment(
        self, project_id: int, asset_id: str, body: str, frame: int | None = None, annotation: Any = None
    ) -> CommentView:
        target = self.client or self.store
        comment = target.add_comment(project_id, asset_id, body, frame, annotation)
        self.local_change.emit("comment")
        return comment

    def edit_comment(self, comment_id: str, body: str, annotation: Any = None) -> CommentView:
        target = self.client or self.store
        comment = target.edit_comment(comment_id, body, annotation)
        self.local_change.emit("comment")
        return comment

    def delete_comment(self, comment_id: str) -> None:
        target = self.client or self.store
        target.delete_comment(comment_id)
        self.local_change.emit("comment")

    def list_comments(self, asset_id: str) -> list[CommentView]:
        return self.store.list_comments(asset_id, include_deleted=True)

    def create_task(
        self,
        project_id: int,
        title: str,
        description: str = "",
        assignee: int | None = None,
        status: str = "open",
        due_date: str | None = None,
        asset_id: str | None = None,
    ) -> TaskView:
        if self.client is None and self.role() == "client":
            raise PermissionError("The client role can comment but cannot create tasks")
        target = self.client or self.store
        task = target.create_task(project_id, title, description, assignee, status, due_date, asset_id)
        self.local_change.emit("task")
        return task

    def update_task(self, task_id: str, fields: dict[str, Any], base_version: int | None = None) -> TaskView:
        if self.client is None and self.role() == "client":
            raise PermissionError("The client role can comment but cannot change tasks")
        target = self.client or self.store
        task = target.update_task(task_id, fields, base_version)
        self.local_change.emit("task")
        return task

    def list_tasks(self, project_id: int, assignee: int | None = None) -> list[TaskView]:
        return self.store.list_tasks(project_id, assignee)

    def task(self, task_id: str) -> TaskView:
        return self.store.task(task_id)

    def notifications(self, unread_only: bool = False) -> list[NotificationView]:
        return self.store.notifications(unread_only)

    # ---- words for the user ----------------------------------------------------------------------

    def describe_notification(self, item: NotificationView) -> SyncNotice:
        actor = self.user_name(item.actor)
        kind = NOTIFY_KINDS.get(item.kind, item.kind)
        body, asset_id = "", None
        if item.record_kind == "comment":
            try:
                comment = self.store.comment(item.record_id)
            except KeyError:
                comment = None
            if comment is not None:
                asset_id = comment.asset_id
                where = self.asset_name(comment.asset_id)
                body = f"{_snippet(comment.body)}" + (f"\non {where}" if where else "")
            title = f"{actor} mentioned you" if item.kind == "mention" else f"{actor} commented on your asset"
        elif item.record_kind == "task":
            try:
                task = self.store.task(item.record_id)
            except KeyError:
                task = None
            title = f"{actor} assigned you a task"
            if task is not None:
                asset_id = task.asset_id
                body = task.title + (f"\ndue {task.due_date}" if task.due_date else "")
        else:
            title = f"{actor}: {item.kind.replace('_', ' ')}"
        return SyncNotice(kind, title, body, item.project_id, item.record_kind, item.record_id, asset_id)

    def describe_conflict(self, event: TaskConflicts) -> str | None:
        """What lost in a task conflict, for the people involved; None when it does not concern me."""
        me = self.user_id
        losers = {c.overwritten_by for c in event.conflicts}
        if me is None or (event.actor != me and me not in losers):
            return None
        try:
            title = self.store.task(event.task_id).title
        except KeyError:
            title = event.task_id

        def lost(conflict: FieldConflict) -> str:
            value = json.dumps(conflict.overwritten_value)
            by = conflict.overwritten_by
            who = "you" if by == me else self.user_name(by) if by is not None else "someone"
            return f"{conflict.field.replace('_', ' ')} (was {value}, set by {who})"

        fields = "; ".join(lost(c) for c in event.conflicts)
        if event.actor == me:
            return (
                f"Your change to task “{title}” replaced newer values you had not seen: {fields}. "
                "Check the task and set them again if needed."
            )
        return (
            f"{self.user_name(event.actor)} changed task “{title}” without seeing your newer values, "
            f"which were overwritten: {fields}."
        )
