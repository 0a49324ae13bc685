"""Transport security for the sync connection, and what to tell the user about it.

``wss://`` is verified against the system trust store plus, when set, the studio's own CA bundle
(``Settings.ca_file``). A certificate that does not verify is refused: there is no "accept anyway" and no
fall-back to ``ws://``, because a silently downgraded connection would carry tokens and passwords in the
clear. ``ws://`` stays allowed (a studio LAN, a test server on this machine) but off this machine the
sign-in dialog warns.
"""

from __future__ import annotations

import ipaddress
import ssl
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class TlsSetupError(ValueError):
    """The CA file the user named cannot be used; the message says which and why."""


class CertificateRefusedError(ConnectionError):
    """The server's certificate did not verify; the message says so in words (never retried insecurely)."""


def client_ssl_context(url: str, ca_file: str = "") -> ssl.SSLContext | None:
    """The TLS context for ``url``: None for ``ws://``; for ``wss://`` the system's trusted CAs plus the
    studio's ``ca_file`` (PEM), with host names checked."""
    if urlsplit(url).scheme != "wss":
        return None
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except FileNotFoundError as exc:
            raise TlsSetupError(f"The CA file {ca_file} does not exist.") from exc
        except (OSError, ssl.SSLError) as exc:
            raise TlsSetupError(
                f"The CA file {ca_file} cannot be used ({exc}); it must hold PEM certificates."
            ) from exc
    return context


def is_certificate_failure(exc: BaseException) -> bool:
    """A TLS verification failure somewhere in ``exc``'s chain (websockets wraps some errors)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def certificate_failure_message(url: str, exc: BaseException) -> str:
    reason = str(exc)
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            reason = seen.verify_message or str(seen)
            break
        seen = seen.__cause__ or seen.__context__
    return (
        f"The server's certificate could not be verified ({reason}), so the connection to {url} was "
        "refused. If your studio runs its own certificate authority, set its CA file (PEM) in the "
        "sign-in dialog or with --ca-file; otherwise ask whoever runs the server."
    )


def is_loopback_host(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_connection_warning(url: str) -> str:
    """Words for a ``ws://`` address off this machine ("" when the address is fine)."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or not parts.hostname or is_loopback_host(parts.hostname):
        return ""
    return (
        f"{parts.hostname} is reached without encryption (ws://): your password and everything you "
        "share cross the network readable by anyone on it. Use wss:// if the server has a certificate."
    )
