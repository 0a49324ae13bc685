"""Signing in: a server address the user typed made into a URL, the password exchanged for a token, and
what came of it in words for the sign-in dialog.

``SignInAttempt`` runs the exchange on the calling thread's own event loop (the Qt bridge calls it from
a pool worker) and can be cancelled from any thread, so an app quitting mid sign-in does not wait out
the network timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from core.sync.client_events import AuthError
from core.sync.protocol import SERVER_MESSAGE, ErrorReply, LoginOk, LoginRequest, ProjectInfo, UserInfo
from core.sync.tls import (
    CertificateRefusedError,
    TlsSetupError,
    certificate_failure_message,
    client_ssl_context,
    is_certificate_failure,
)

if TYPE_CHECKING:
    import ssl

    from core.sync.credentials import CredentialStatus

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765


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


async def login(
    url: str, username: str, password: str, *, ssl_context: ssl.SSLContext | None = None
) -> LoginResult:
    """Exchange a user name and password for a token (then kept in the keyring by the caller)."""
    try:
        async with connect(url, ssl=ssl_context, open_timeout=10, compression=None) as ws:
            request = LoginRequest(id="login", username=username, password=password)
            await ws.send(request.model_dump_json())
            reply = SERVER_MESSAGE.validate_json(await asyncio.wait_for(ws.recv(), 30))
    except (OSError, InvalidHandshake, InvalidURI, TimeoutError, ConnectionClosed) as exc:
        if is_certificate_failure(exc):
            raise CertificateRefusedError(certificate_failure_message(url, exc)) from exc
        raise ConnectionError(f"Cannot reach the sync server at {url}: {exc}") from exc
    if isinstance(reply, ErrorReply):
        raise AuthError(reply.code, reply.message)
    if not isinstance(reply, LoginOk):
        raise AuthError("bad_request", f"Unexpected reply {reply.type!r} to login")
    return LoginResult(reply.token, reply.expires_at, reply.user, reply.projects, reply.server_id)


class SignInAttempt:
    """One sign-in: ``run()`` blocks its thread until the server answers; ``cancel()`` from any thread
    ends it early. Failures come back as a ``SignInFailure`` in words, never as an exception."""

    def __init__(self, url: str, username: str, password: str, ca_file: str = "") -> None:
        self.url = url
        self.username = username
        self._password = password
        self.ca_file = ca_file
        self._cancelled = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[LoginResult] | None = None

    def run(self) -> LoginResult | SignInFailure:
        try:
            return asyncio.run(self._login())
        except asyncio.CancelledError:
            return SignInFailure("cancelled", "Sign-in cancelled")
        except AuthError as exc:
            message = "Wrong user name or password" if exc.code == "auth_failed" else exc.message
            return SignInFailure(exc.code, message)
        except CertificateRefusedError as exc:
            return SignInFailure("certificate", str(exc))
        except TlsSetupError as exc:
            return SignInFailure("bad_ca", str(exc))
        except ConnectionError as exc:
            return SignInFailure("unreachable", str(exc))
        except Exception as exc:  # anything else is still an answer for the user
            log.exception("event=sign_in_failed")
            return SignInFailure("internal", f"Sign-in failed: {exc}")

    async def _login(self) -> LoginResult:
        context = client_ssl_context(self.url, self.ca_file)
        self._task = asyncio.ensure_future(
            login(self.url, self.username, self._password, ssl_context=context)
        )
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
