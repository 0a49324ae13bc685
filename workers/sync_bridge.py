"""Qt face of the comment and task sync: owns the ``SyncClient`` (its own thread and event loop) and the
sign-in worker, and turns their callbacks into signals carrying plain dataclasses, queued to the UI thread.

The UI reads and writes comments, tasks and assets through ``bridge.store``, the one write path: a local
SQLite write that never waits on the server, after which the store wakes the running client's outbox
flush and the bridge emits ``local_change``. Sentences for the user come from ``bridge.wording``.

Sign-in and the account requests (password, profile, signing out on the server) talk to the network,
so they run on superqt workers on pools the bridge owns; ``close()`` cancels them and waits for them,
then stops the client, so nothing the bridge started outlives it.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from PySide6.QtCore import QObject, QThreadPool, Signal

from core.settings import save_settings
from core.sync import account
from core.sync.client import SyncClient
from core.sync.client_events import (
    AuthProblem,
    ChangeRejected,
    ChangesHeld,
    EventsUnreadable,
    NotificationsArrived,
    ProjectDeleted,
    RecordsChanged,
    ServerRolledBack,
    SyncEvent,
    SyncStatus,
    TaskConflicts,
)
from core.sync.invitations import redeem_invitation
from core.sync.members import ProjectDeletion, add_member, remove_member
from core.sync.sign_in import SignInAttempt, SignInFailure, SignInOutcome, normalise_server_url
from core.sync.wording import SyncWording

if TYPE_CHECKING:
    from pathlib import Path

    from core.settings import Settings
    from core.sync.account import AccountAction, AccountChanged, AccountRequest
    from core.sync.credentials import TokenStore
    from core.sync.local_store import LocalStore
    from core.sync.member_protocol import MemberChanged
    from core.sync.protocol import Ack, UserInfo
    from core.sync.sign_in import LoginResult, ServerExchange
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)

# At quit a cancelled sign-in ends within one event-loop turn; this only bounds a stuck DNS lookup.
SIGN_IN_QUIT_TIMEOUT_MS = 5000


class SyncBridge(QObject):
    # Emitted from the sync thread (or a sign-in worker); Qt queues them to UI-thread receivers.
    status_changed = Signal(object)  # SyncStatus | None (None: signed out)
    records_changed = Signal(object)  # RecordsChanged
    notifications_arrived = Signal(object)  # NotificationsArrived
    conflict = Signal(object)  # TaskConflicts
    change_rejected = Signal(object)  # ChangeRejected
    auth_problem = Signal(object)  # AuthProblem
    # Something the user must hear of: EventsUnreadable | ChangesHeld | ServerRolledBack | ProjectDeleted
    # (``SyncWording.describe_attention`` has the words).
    attention = Signal(object)
    signed_in = Signal(object)  # SignInOutcome
    sign_in_failed = Signal(object)  # SignInFailure
    signed_out = Signal()
    account_changed = Signal(object)  # AccountChanged (after signing out: the server revoked the token)
    # (AccountAction, SignInFailure); after signing out the message says whether the server still
    # accepts the forgotten token (offline: until it expires) or had already ended it.
    account_failed = Signal(str, object)
    local_change = Signal(str)  # record kind written locally ("comment", "task", "asset")
    # Managing a server project, answered on the UI thread: a member added or removed (MemberChanged;
    # the client then reconnects so that the store holds the server's member list), the project deleted
    # by this user (its id), or (server project id, "add" | "remove" | "delete", SignInFailure).
    member_changed = Signal(object)
    project_deletion_done = Signal(int)
    project_request_failed = Signal(int, str, object)

    def __init__(
        self,
        store: LocalStore,
        tokens: TokenStore,
        settings: Settings,
        background: BackgroundWork,
        settings_file: Path | None = None,
        *,
        client_options: dict[str, Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.wording = SyncWording(store)
        self.tokens = tokens
        self.settings = settings
        self.settings_file = settings_file
        self.client_options = dict(client_options or {})
        self.client: SyncClient | None = None
        self._status: SyncStatus | None = None
        self._sign_in: SignInAttempt | None = None
        self._token = ""  # the running client's, sent with account requests and revoked at sign-out
        # The signed-in user's own record as the server last sent it (with their email, which the
        # local store does not keep); None until a sign-in or account request this session.
        self.me: UserInfo | None = None
        self._account_requests: set[AccountRequest] = set()
        self._project_requests: set[ServerExchange[MemberChanged] | ServerExchange[Ack]] = set()
        self._background = background
        # Sign-ins run through the app's one owner of background work, on a pool of the bridge's own
        # so that ``close()`` waits for exactly its work (one sign-in at a time).
        self._sign_in_pool = QThreadPool(self)
        self._sign_in_pool.setObjectName("sync-sign-in")
        self._sign_in_pool.setMaxThreadCount(1)
        # Account and project requests have a pool of their own so that ``signing_in`` means a sign-in
        # only; one thread: a user's requests reach the server in the order they were made.
        self._account_pool = QThreadPool(self)
        self._account_pool.setObjectName("sync-account")
        self._account_pool.setMaxThreadCount(1)
        store.add_listener(self._on_local_write)

    # ---- running ---------------------------------------------------------------------------------

    @property
    def status(self) -> SyncStatus | None:
        return self._status

    @property
    def url(self) -> str:
        return self.client.url if self.client is not None else self.settings.server_url

    @property
    def token(self) -> str:
        """The running client's token ("" when none runs): media transfers sign in with it too."""
        return self._token

    def start(self, url: str, token: str) -> None:
        """(Re)start the client with a token; it connects, catches up and flushes the outbox."""
        self.stop()
        self._token = token
        self.client = SyncClient(
            self.store,
            url,
            token,
            on_status=self._on_status,
            on_event=self._on_event,
            ca_file=self.settings.ca_file,
            journal_days=self.settings.sync_journal_days,
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
        """At quit: cancel a sign-in and account requests (a sign-out is let finish) and wait for their
        workers, stop the client (its thread is joined), and release the store's database connections."""
        self._cancel_sign_in()
        for request in self._account_requests:
            # A sign-out quitting right after it is let finish (within the bound below): cancelled, it
            # would leave the token valid on the server.
            if request.action != "logout":
                request.cancel()
        for project_request in self._project_requests:
            project_request.cancel()
        for pool in (self._sign_in_pool, self._account_pool):
            if not pool.waitForDone(SIGN_IN_QUIT_TIMEOUT_MS):
                log.warning(
                    "event=%s_still_running timeout_ms=%d", pool.objectName(), SIGN_IN_QUIT_TIMEOUT_MS
                )
        self.stop()
        self.store.remove_listener(self._on_local_write)
        self.store.close()

    # ---- signing in and out ----------------------------------------------------------------------

    @property
    def signing_in(self) -> bool:
        """A sign-in worker is still running (waiting for the server, or winding down)."""
        return self._sign_in_pool.activeThreadCount() > 0

    def sign_in(
        self, url: str, username: str, password: str, *, ca_file: str | None = None, invitation: str = ""
    ) -> None:
        """Ask the server for a token on a worker: ``signed_in`` or ``sign_in_failed`` follows. A newer
        sign-in replaces one still under way. ``ca_file`` (None: the saved one) is kept once it works.
        With an ``invitation`` code the account is created first (``core.sync.invitations``)."""
        try:
            url = normalise_server_url(url)
        except ValueError as exc:
            self.sign_in_failed.emit(SignInFailure("bad_url", str(exc)))
            return
        if not username.strip():
            self.sign_in_failed.emit(SignInFailure("auth_failed", "Enter your user name"))
            return
        self._cancel_sign_in()
        chosen_ca = self.settings.ca_file if ca_file is None else ca_file
        try:
            attempt = (
                redeem_invitation(url, invitation, username.strip(), password, ca_file=chosen_ca)
                if invitation.strip()
                else SignInAttempt(url, username.strip(), password, chosen_ca)
            )
        except ValidationError:  # a code cut short when pasted, a user name the server would refuse
            message = "Check the invitation code (paste it whole) and the user name (letters, digits, . _ -)"
            self.sign_in_failed.emit(SignInFailure("invalid", message))
            return
        self._sign_in = attempt
        self._background.call(
            attempt.run, partial(self._on_sign_in_answered, attempt), pool=self._sign_in_pool
        )

    def _cancel_sign_in(self) -> None:
        attempt, self._sign_in = self._sign_in, None
        if attempt is not None:
            attempt.cancel()

    def _on_sign_in_answered(self, attempt: SignInAttempt, outcome: LoginResult | SignInFailure) -> None:
        if attempt is not self._sign_in:  # replaced by a newer sign-in, or the bridge was closed
            return
        self._sign_in = None
        if isinstance(outcome, SignInFailure):
            self.sign_in_failed.emit(outcome)
            return
        url, username = attempt.url, attempt.username
        self.stop()
        credentials = self.tokens.save(url, username, outcome.token)
        self.settings.server_url = url
        self.settings.username = username
        self.settings.ca_file = attempt.ca_file
        if self.settings_file is not None:
            save_settings(self.settings, self.settings_file)
        # Known at once (offline writes need "me"); the client refreshes it on every connection and
        # reports changes held for another sign-in (``ChangesHeld``) once it is connected.
        self.store.save_session(outcome.user, outcome.projects, url, outcome.server_id)
        self.wording.forget_names()
        self.me = outcome.user
        self.start(url, outcome.token)
        log.info("event=signed_in user=%s persistent=%s", username, credentials.persistent)
        self.signed_in.emit(SignInOutcome(url, outcome.user, outcome.projects, credentials))

    def sign_out(self) -> None:
        """Stop syncing, forget the token, and ask the server to revoke it: ``account_changed`` or
        (offline) ``account_failed`` follows with words for the user. Signed out here at once either
        way; local records and unsent changes stay on disk."""
        url, username, token = self.url, self.settings.username, self._token
        self.stop()
        if url and username:
            self.tokens.delete(url, username)
        self.settings.username = ""
        if self.settings_file is not None:
            save_settings(self.settings, self.settings_file)
        self._token, self.me = "", None
        self._status = None
        self.status_changed.emit(None)
        self.signed_out.emit()
        if url and token:
            self._run_account(account.sign_out(url, token, self.settings.ca_file))

    # ---- the signed-in user's own account --------------------------------------------------------

    def change_password(self, old: str, new: str) -> None:
        """Other sign-ins of the user are revoked; this one keeps its token. Answered by
        ``account_changed`` or ``account_failed``."""
        if self._account_ready("password"):
            self._run_account(account.change_password(self.url, self._token, old, new, self.settings.ca_file))

    def update_profile(self, display_name: str | None, email: str | None) -> None:
        """None leaves a field as the server has it. Answered by ``account_changed`` or
        ``account_failed``."""
        if not self._account_ready("profile"):
            return
        try:
            request = account.update_profile(
                self.url, self._token, display_name, email, self.settings.ca_file
            )
        except ValueError as exc:
            self.account_failed.emit("profile", SignInFailure("invalid", str(exc)))
            return
        self._run_account(request)

    def _account_ready(self, action: AccountAction) -> bool:
        if self.client is None or not self._token:
            self.account_failed.emit(action, SignInFailure("not_signed_in", "Sign in first."))
            return False
        return True

    def _run_account(self, request: AccountRequest) -> None:
        self._account_requests.add(request)
        self._background.call(
            request.run, partial(self._on_account_answered, request), pool=self._account_pool
        )

    def _on_account_answered(self, request: AccountRequest, outcome: AccountChanged | SignInFailure) -> None:
        self._account_requests.discard(request)
        if request.action == "logout":
            revoked, words = account.sign_out_result(outcome)
            log.info("event=signed_out token_revoked=%s", revoked)
            if isinstance(outcome, SignInFailure):
                self.account_failed.emit("logout", SignInFailure(outcome.code, words))
            else:
                self.account_changed.emit(outcome)
            return
        if isinstance(outcome, SignInFailure):
            self.account_failed.emit(request.action, outcome)
            return
        if self.client is None:  # signed out while the request was under way
            return
        self.me = outcome.user
        if request.action == "profile":
            # The running connection only learns names on its next sign-in; the store (and so every
            # name shown) takes the new record now, as a sign-in would.
            self.store.save_session(outcome.user, outcome.projects, self.url, outcome.server_id)
            self.wording.forget_names()
        log.info("event=account_changed action=%s", request.action)
        self.account_changed.emit(outcome)

    # ---- managing a server project (its owner, admins, and for members its supervisors) ----------

    def change_member(self, project: int, username: str, *, add: bool) -> None:
        """Add or remove a member of a server project: sent at once, never queued (the server must
        judge it now). ``member_changed`` or ``project_request_failed`` follows."""
        action = "add" if add else "remove"
        if self._project_request_ready(project, action):
            change = add_member if add else remove_member
            request = change(self.url, self._token, project, username.strip(), self.settings.ca_file)
            self._run_project_request(project, action, request)

    def delete_project(self, project: int) -> None:
        """Delete a server project for everyone: ``project_deletion_done`` (the server's tombstone then
        reaches every client as ``ProjectDeleted``) or ``project_request_failed`` follows."""
        if self._project_request_ready(project, "delete"):
            request = ProjectDeletion(self.url, self._token, project, self.settings.ca_file)
            self._run_project_request(project, "delete", request)

    def _project_request_ready(self, project: int, action: str) -> bool:
        if self.client is None or not self._token:
            self.project_request_failed.emit(
                project, action, SignInFailure("not_signed_in", "Sign in first.")
            )
            return False
        return True

    def _run_project_request(
        self, project: int, action: str, request: ServerExchange[MemberChanged] | ServerExchange[Ack]
    ) -> None:
        self._project_requests.add(request)
        answered = partial(self._on_project_answered, project, action, request)
        self._background.call(request.run, answered, pool=self._account_pool)

    def _on_project_answered(
        self,
        project: int,
        action: str,
        request: ServerExchange[MemberChanged] | ServerExchange[Ack],
        outcome: MemberChanged | Ack | SignInFailure,
    ) -> None:
        self._project_requests.discard(request)
        if isinstance(outcome, SignInFailure):
            log.info(
                "event=project_request_failed action=%s project=%d code=%s", action, project, outcome.code
            )
            self.project_request_failed.emit(project, action, outcome)
            return
        log.info("event=project_request_done action=%s project=%d", action, project)
        if action == "delete":
            self.project_deletion_done.emit(project)
            return
        self.member_changed.emit(outcome)
        if self.client is not None:
            # A connection learns a project's members only when it subscribes: reconnecting brings the
            # server's list into the store (the outbox and cursors make the reconnect lossless).
            self.start(self.url, self._token)

    # ---- callbacks from the sync thread and the store --------------------------------------------

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
        elif isinstance(event, EventsUnreadable | ChangesHeld | ServerRolledBack | ProjectDeleted):
            self._safe_emit(self.attention, event)

    def _on_local_write(self, record_kind: str) -> None:
        self._safe_emit(self.local_change, record_kind)

    @staticmethod
    def _safe_emit(signal: Any, value: object) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the bridge is being destroyed at quit
            log.debug("event=sync_signal_dropped")
