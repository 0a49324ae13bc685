"""Signing in: a server address the user typed made into a URL, the password exchanged for a token, and
what came of it in words for the sign-in dialog.

``SignInAttempt`` runs the exchange on the calling thread's own event loop (the Qt bridge calls it from
a pool worker) and can be cancelled from any thread, so an app quitting mid sign-in does not wait out
the network timeouts. Its connection, request/reply and failure handling (``ServerExchange``) are shared
with the account requests in ``core.sync.account``.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from core.sync.client_events import AuthError
from core.sync.protocol import (
    SERVER_MESSAGE,
    ErrorReply,
    LoginOk,
    LoginRequest,
    ProjectInfo,
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
    import ssl
    from collections.abc import AsyncIterator

    from websockets.asyncio.client import ClientConnection

    from core.sync.credentials import CredentialStatus
    from core.sync.protocol import ClientMessage

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
REPLY_TIMEOUT_S = 30
_Reply = TypeVar("_Reply", bound=BaseModel)
_Result = TypeVar("_Result")


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: str
    user: UserInfo
    projects: list[ProjectInfo]
    server_id: str


@dataclass(frozen=True)
class SignInOutcome:
    url: str
    user: UserInfo
    projects: list[ProjectInfo]
    credentials: CredentialStatus


@dataclass(frozen=True)
class SignInFailure:
    # auth_failed | unreachable | certificate | bad_ca | bad_url | cancelled | internal | <protocol code>
    code: str
    message: str
    # A lock-out (``rate_limited``): seconds until a retry may succeed, as the server said.
    retry_after_s: float | None = None


class ServerRefusal(AuthError):
    """An error reply from the server, with ``retry_after_s`` when it said when to try again."""

    def __init__(self, reply: ErrorReply) -> None:
        super().__init__(reply.code, reply.message)
        self.retry_after_s = reply.retry_after_s


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


@contextlib.asynccontextmanager
async def server_connection(url: str, ssl_context: ssl.SSLContext | None) -> AsyncIterator[ClientConnection]:
    """An open WebSocket to the server for one short exchange. Not reaching it, or losing it midway,
    is a ``ConnectionError`` in words; a certificate that does not verify a ``CertificateRefusedError``."""
    try:
        async with connect(url, ssl=ssl_context, open_timeout=10, compression=None) as ws:
            yield ws
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError, ConnectionClosed) as exc:
        if is_certificate_failure(exc):
            raise CertificateRefusedError(certificate_failure_message(url, exc)) from exc
        raise ConnectionError(f"Cannot reach the sync server at {url}: {exc}") from exc


async def exchange(ws: ClientConnection, request: ClientMessage, expected: type[_Reply]) -> _Reply:
    """Send ``request`` and return the server's answer when it is of the ``expected`` type; an error
    reply raises ``ServerRefusal``."""
    await ws.send(request.model_dump_json())
    reply = SERVER_MESSAGE.validate_json(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT_S))
    if isinstance(reply, ErrorReply):
        raise ServerRefusal(reply)
    if not isinstance(reply, expected):
        raise AuthError("bad_request", f"Unexpected reply {reply.type!r} to {request.type}")
    return reply


async def login(
    url: str, username: str, password: str, *, ssl_context: ssl.SSLContext | None = None
) -> LoginResult:
    """Exchange a user name and password for a token (then kept in the keyring by the caller)."""
    async with server_connection(url, ssl_context) as ws:
        request = LoginRequest(id="login", username=username, password=password)
        reply = await exchange(ws, request, LoginOk)
    return LoginResult(reply.token, reply.expires_at, reply.user, reply.projects, reply.server_id)


def duration_in_words(seconds: float) -> str:
    """``30 seconds``, ``2 minutes``, ``1 hour``: rounded up, so waiting that long is always enough."""
    whole = max(1, math.ceil(seconds))
    for unit, size in (("hour", 3600), ("minute", 60)):
        if whole >= size:
            count = math.ceil(whole / size)
            return f"{count} {unit}" + ("s" if count > 1 else "")
    return f"{whole} second" + ("s" if whole > 1 else "")


def refusal_in_words(refusal: ServerRefusal) -> str:
    """The server's reason, and for a lock-out when to retry in words. The server's own sentence ends
    in "; try again in N s": that part is replaced, the reason (account or address) is kept."""
    if refusal.retry_after_s is None:
        return refusal.message
    reason = refusal.message.partition("; try again")[0].rstrip(". ")
    return f"{reason}. Try again in {duration_in_words(refusal.retry_after_s)}."


class ServerExchange(abc.ABC, Generic[_Result]):
    """One short exchange with the server: ``run()`` blocks its thread (on an event loop of its own:
    the Qt bridge calls it from a pool worker, the CLI from its main thread) until the server answers;
    ``cancel()`` from any thread ends it early. Failures come back as a ``SignInFailure`` in words,
    never as an exception."""

    what = "Sign-in"  # names the exchange in cancelled / failed messages

    def __init__(self, url: str, ca_file: str = "") -> None:
        self.url = url
        self.ca_file = ca_file
        self._cancelled = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[_Result] | None = None

    @abc.abstractmethod
    async def _exchange(self, ssl_context: ssl.SSLContext | None) -> _Result: ...

    def _refusal_message(self, refusal: ServerRefusal) -> str:
        return refusal_in_words(refusal)

    def run(self) -> _Result | SignInFailure:
        try:
            return asyncio.run(self._run())
        except asyncio.CancelledError:
            return SignInFailure("cancelled", f"{self.what} cancelled")
        except ServerRefusal as exc:
            return SignInFailure(exc.code, self._refusal_message(exc), exc.retry_after_s)
        except AuthError as exc:
            return SignInFailure(exc.code, exc.message)
        except CertificateRefusedError as exc:
            return SignInFailure("certificate", str(exc))
        except TlsSetupError as exc:
            return SignInFailure("bad_ca", str(exc))
        except ConnectionError as exc:
            return SignInFailure("unreachable", str(exc))
        except Exception as exc:  # anything else is still an answer for the user
            log.exception("event=server_exchange_failed what=%s", self.what)
            return SignInFailure("internal", f"{self.what} failed: {exc}")

    async def _run(self) -> _Result:
        context = client_ssl_context(self.url, self.ca_file)
        self._task = asyncio.ensure_future(self._exchange(context))
        self._loop = asyncio.get_running_loop()
        # Checked after the task is published: a cancel() before this point is seen here, one after it
        # finds the task to cancel.
        if self._cancelled.is_set():
            self._task.cancel()
        return await self._task

    def cancel(self) -> None:
        self._cancelled.set()
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already finished
                loop.call_soon_threadsafe(task.cancel)


class SignInAttempt(ServerExchange[LoginResult]):
    """One sign-in with a user name and password."""

    def __init__(self, url: str, username: str, password: str, ca_file: str = "") -> None:
        super().__init__(url, ca_file)
        self.username = username
        self._password = password

    async def _exchange(self, ssl_context: ssl.SSLContext | None) -> LoginResult:
        return await login(self.url, self.username, self._password, ssl_context=ssl_context)

    def _refusal_message(self, refusal: ServerRefusal) -> str:
        if refusal.code == "auth_failed":
            return "Wrong user name or password"
        return refusal_in_words(refusal)
