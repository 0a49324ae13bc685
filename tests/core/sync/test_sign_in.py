"""Signing in without Qt: addresses made into URLs, and an attempt cancelled while the server is silent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from core.sync.sign_in import SignInAttempt, SignInFailure, normalise_server_url


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("studio", "ws://studio:8765"),
        ("http://studio:9000/", "ws://studio:9000"),
        ("https://studio", "wss://studio:8765"),
        ("[::1]:9000", "ws://[::1]:9000"),
    ],
)
def test_addresses_become_websocket_urls(typed: str, url: str) -> None:
    assert normalise_server_url(typed) == url


@pytest.mark.parametrize("typed", ["", "ftp://studio", "studio:port"])
def test_nonsense_addresses_are_refused_in_words(typed: str) -> None:
    with pytest.raises(ValueError, match=r"\w+"):
        normalise_server_url(typed)


@pytest.fixture
def silent_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections and never answers (a hung server): a sign-in would wait out its timeouts."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, name="silent-server")
    thread.start()
    yield f"ws://127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_cancelled_sign_in_ends_at_once(silent_server: tuple[str, list[socket.socket]]) -> None:
    url, accepted = silent_server
    attempt = SignInAttempt(url, "alice", "secret")
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(attempt.run()), name="sign-in")
    worker.start()
    deadline = time.monotonic() + 10
    while not accepted and time.monotonic() < deadline:  # connected, waiting for the handshake answer
        time.sleep(0.01)
    assert accepted, "the sign-in never connected"
    attempt.cancel()
    # Its own timeouts are far longer than this: ending within it means the cancel ended it.
    worker.join(5)
    assert not worker.is_alive()
    assert outcome == [SignInFailure("cancelled", "Sign-in cancelled")]


def test_a_sign_in_cancelled_before_it_runs_never_connects(
    silent_server: tuple[str, list[socket.socket]],
) -> None:
    attempt = SignInAttempt(silent_server[0], "alice", "secret")
    attempt.cancel()
    assert attempt.run() == SignInFailure("cancelled", "Sign-in cancelled")
