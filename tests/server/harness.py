"""Real parts for sync tests outside ``tests/server`` too: a ``stratopipe-server`` process, recording
``SyncClient``s over their own catalog files, and a polling wait that only fails on a generous timeout."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from core.sync.client import SyncClient
from core.sync.client_events import SyncEvent, SyncStatus
from core.sync.local_store import LocalStore
from server.session import ServerConfig

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


class Recorder:
    def __init__(self) -> None:
        self.statuses: list[SyncStatus] = []
        self.events: list[SyncEvent] = []
        self.changed = threading.Event()

    def on_status(self, status: SyncStatus) -> None:
        self.statuses.append(status)
        self.changed.set()

    def on_event(self, event: SyncEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def of(self, kind: type[SyncEvent]) -> list[SyncEvent]:
        return [event for event in self.events if isinstance(event, kind)]


def start_client(catalog: Path, url: str, token: str) -> tuple[SyncClient, Recorder]:
    recorder = Recorder()
    client = SyncClient(
        LocalStore(catalog),
        url,
        token,
        on_status=recorder.on_status,
        on_event=recorder.on_event,
        backoff_initial_s=0.05,
        backoff_max_s=0.3,
    )
    client.start()
    return client, recorder


def stop_client(client: SyncClient) -> None:
    client.stop()
    client.store.close()


class ServerProcess:
    """``python -m server serve`` on a free port of 127.0.0.1, its log in a file."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.extra = extra
        self.log_file = data_dir.parent / f"{data_dir.name}-server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> ServerProcess:
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as log_output:
            command = [sys.executable, "-m", "server", "serve", "--port", str(port)]
            self.process = subprocess.Popen(
                [*command, "--data-dir", str(self.data_dir), *self.extra],
                cwd=ROOT,
                stdout=log_output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r"event=listening host=\S+ port=(\d+)", self.log()[offset:])
            if found:
                self.port = int(found.group(1))
                return self
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log()}")
            time.sleep(0.05)
        raise AssertionError("server did not report its port")

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
        self.process = None


class FakeClock:
    """The server's clock in tests of lock-outs: moved by hand, never slept on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lockout_config(db_url: str, clock: FakeClock) -> ServerConfig:
    """A server that locks an account after two failed sign-ins, for 30 s at first, on ``clock``."""
    return ServerConfig(
        db_url=db_url,
        port=0,
        ping_interval_s=None,
        clock=clock,
        login_failures_before_lock=2,
        login_lock_base_s=30.0,
    )
