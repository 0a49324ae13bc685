"""``stratopipe-server serve --workers N``: N server processes on one port, kept running by a parent.

Each worker is an ordinary ``serve`` process that binds the port with SO_REUSEPORT (Linux spreads new
connections over the listening sockets); they share live events through PostgreSQL (``server.cluster``).
The parent only supervises: it starts the workers, starts a dead one again (after a pause that grows
while it keeps dying young, so a worker that cannot start does not spin), and forwards SIGTERM/SIGINT
to all of them, waiting for each to commit what it accepted. Workers get SIGTERM if the parent itself
dies (Linux's parent-death signal), so none is left serving on its own.

Without SO_REUSEPORT (or to spread processes over machines), run N independent ``serve`` processes on
different ports behind a load balancer that passes WebSockets through (README, "Deployment").
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.child_process import python_command

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

log = logging.getLogger(__name__)

# A worker that lived shorter than this is "dying young": its restarts back off up to the maximum.
_HEALTHY_AFTER_S = 10.0
_RESTART_MIN_S = 0.5
_RESTART_MAX_S = 30.0
_STOP_GRACE_S = 30.0
_PR_SET_PDEATHSIG = 1


def reserve_port(host: str, port: int) -> socket.socket:
    """A bound (not listening) SO_REUSEPORT socket on ``port`` (0 picks a free one): it holds the port
    for the workers, which bind it too, while never taking a connection itself."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, port))
    return holder


def _die_with_parent() -> None:  # pragma: no cover (runs in the child before exec)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_delay_s: float = _RESTART_MIN_S
    restart_at: float = 0.0
    restarts: int = 0
    exits: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(self, worker_argv: Sequence[str], workers: int) -> None:
        self.worker_argv = list(worker_argv)
        self.workers = [_Worker(index) for index in range(workers)]
        self.stopping = False

    def _start(self, worker: _Worker) -> None:
        env = {**os.environ, "STRATOPIPE_SERVER_WORKER": str(worker.index)}
        worker.process = subprocess.Popen(
            python_command("server", *self.worker_argv),
            env=env,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        worker.started_at = time.monotonic()
        log.info("event=worker_started index=%d pid=%d", worker.index, worker.process.pid)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("event=supervisor_stopping signal=%s", signal.Signals(signum).name)
        self.stopping = True

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        for worker in self.workers:
            self._start(worker)
        while not self.stopping:
            self._watch(time.monotonic())
            time.sleep(0.1)
        return self._stop_all()

    def _watch(self, now: float) -> None:
        for worker in self.workers:
            process = worker.process
            if process is None:
                if now >= worker.restart_at:
                    worker.restarts += 1
                    self._start(worker)
                continue
            code = process.poll()
            if code is None:
                if now - worker.started_at > _HEALTHY_AFTER_S:
                    worker.restart_delay_s = _RESTART_MIN_S
                continue
            worker.exits.append(code)
            worker.process = None
            if now - worker.started_at < _HEALTHY_AFTER_S:
                worker.restart_delay_s = min(_RESTART_MAX_S, worker.restart_delay_s * 2)
            worker.restart_at = now + worker.restart_delay_s
            log.warning(
                "event=worker_died index=%d pid=%d code=%d restart_in_s=%.1f",
                worker.index,
                process.pid,
                code,
                worker.restart_delay_s,
            )

    def _stop_all(self) -> int:
        running = [w.process for w in self.workers if w.process is not None and w.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("event=worker_killed pid=%d reason=stop_timeout", process.pid)
                process.kill()
                process.wait()
        log.info("event=supervisor_stopped workers=%d", len(self.workers))
        return 0


def run_workers(worker_argv: Sequence[str], workers: int, host: str, port: int) -> int:
    """Serve with ``workers`` processes on ``host:port``; ``worker_argv`` are each worker's ``serve``
    arguments without the port. Returns once SIGTERM/SIGINT stopped them all."""
    holder = reserve_port(host, port)
    try:
        chosen = int(holder.getsockname()[1])
        log.info("event=supervising workers=%d host=%s port=%d pid=%d", workers, host, chosen, os.getpid())
        argv = [*worker_argv, "--port", str(chosen), "--reuse-port", "--workers", "1"]
        return Supervisor(argv, workers).run()
    finally:
        holder.close()
