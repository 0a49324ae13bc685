"""Sync tokens in the OS keyring. Without a usable keyring (headless Linux: the fail or null backend)
the token lives in memory for this session only, and the caller is told so; it is never written to a
plain-text file behind the user's back.

Render nodes and pipeline scripts have no keyring and no session to keep a token in memory for: they
name a token file explicitly (``stratopipe sync login --token-file``), created readable by its owner
only, or pass the token in ``STRATOPIPE_TOKEN``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import keyring
from keyring.errors import KeyringError

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

SERVICE = "StratoPipe sync"
_UNUSABLE_BACKENDS = ("keyring.backends.fail", "keyring.backends.null")
TOKEN_ENV = "STRATOPIPE_TOKEN"


@dataclass(frozen=True)
class CredentialStatus:
    persistent: bool  # True: kept in the OS keyring across sessions
    backend: str
    message: str


def _backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


class TokenStore:
    def __init__(self, service: str = SERVICE) -> None:
        self.service = service
        self._memory: dict[str, str] = {}

    @staticmethod
    def _account(server_url: str, username: str) -> str:
        return f"{username}@{server_url}"

    def keyring_status(self) -> CredentialStatus:
        backend = keyring.get_keyring()
        name = _backend_name(backend)
        if name.startswith(_UNUSABLE_BACKENDS) or getattr(backend, "priority", 1) <= 0:
            return CredentialStatus(
                False,
                name,
                "No system keyring is available, so your sign-in is kept for this session only; "
                "you will be asked to sign in again next time (install and unlock a Secret "
                "Service keyring such as GNOME Keyring or KWallet to stay signed in).",
            )
        return CredentialStatus(True, name, f"Sign-in stored in the system keyring ({name})")

    def save(self, server_url: str, username: str, token: str) -> CredentialStatus:
        account = self._account(server_url, username)
        status = self.keyring_status()
        if status.persistent:
            try:
                keyring.set_password(self.service, account, token)
            except KeyringError as exc:
                log.warning("event=keyring_write_failed backend=%s error=%r", status.backend, str(exc))
                status = CredentialStatus(
                    False,
                    status.backend,
                    f"The system keyring refused to store the sign-in ({exc}); it is kept for this "
                    "session only.",
                )
            else:
                self._memory.pop(account, None)
                return status
        self._memory[account] = token
        log.info("event=token_kept_in_memory backend=%s", status.backend)
        return status

    def load(self, server_url: str, username: str) -> str | None:
        account = self._account(server_url, username)
        if account in self._memory:
            return self._memory[account]
        if not self.keyring_status().persistent:
            return None
        try:
            return keyring.get_password(self.service, account)
        except KeyringError as exc:
            log.warning("event=keyring_read_failed error=%r", str(exc))
            return None

    def delete(self, server_url: str, username: str) -> None:
        account = self._account(server_url, username)
        self._memory.pop(account, None)
        if self.keyring_status().persistent:
            try:
                keyring.delete_password(self.service, account)
            except KeyringError as exc:
                log.info("event=keyring_delete_skipped error=%r", str(exc))


def write_token_file(path: Path, token: str) -> None:
    """Write a token for a headless machine, readable and writable by its owner only (0600 from the
    moment it exists: no window where another user could read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as output:
        output.write(token + "\n")
    tmp.replace(path)


def read_token_file(path: Path) -> str | None:
    """The token in ``path``; None when the file is missing or empty."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if path.stat().st_mode & 0o077:
        log.warning("event=token_file_readable_by_others file=%s", path)
    return token or None
