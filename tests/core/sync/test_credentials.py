"""Tokens go to the OS keyring when there is one, and only to memory (said out loud) otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from core.sync.credentials import TokenStore


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


@pytest.mark.usefixtures("restore_keyring")
def test_without_keyring_token_is_kept_for_the_session_and_user_is_told() -> None:
    keyring.set_keyring(fail.Keyring())
    tokens = TokenStore()
    status = tokens.save("ws://studio:8765", "ana", "secret-token")
    assert not status.persistent
    assert "this session only" in status.message
    assert tokens.load("ws://studio:8765", "ana") == "secret-token"
    assert TokenStore().load("ws://studio:8765", "ana") is None  # a new session: gone


@pytest.mark.usefixtures("restore_keyring")
def test_real_keyring_keeps_the_token_across_sessions() -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    status = TokenStore().save("ws://studio:8765", "ana", "secret-token")
    assert status.persistent
    assert TokenStore().load("ws://studio:8765", "ana") == "secret-token"
    TokenStore().delete("ws://studio:8765", "ana")
    assert backend.secrets == {}
