"""The contract between job steps (plain Python in core/) and whoever runs them (workers/, CLI).

A step is a generator function: it receives a :class:`StepContext`, yields :class:`Progress` as it goes
and returns a dict of outputs (JSON-serialisable). It checks ``ctx.cancel`` between units of work.
Errors it raises decide retries: :class:`InvalidInputError` fails at once (retrying cannot help),
:class:`RecoverableError` and unexpected exceptions are retried with backoff.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from core.paths import AppPaths
    from core.settings import Settings


@dataclass(frozen=True)
class Progress:
    fraction: float
    message: str = ""


class JobCancelledError(Exception):
    """Raised inside a step when its cancel token fired."""

    def __init__(self) -> None:
        super().__init__("Cancelled by the user")


class InvalidInputError(Exception):
    """The input cannot be processed; the message is shown to the user as is. Never retried."""


class RecoverableError(Exception):
    """A transient failure (busy file, killed child process, lost GL context). Retried."""


class CancelToken:
    """Cooperative cancellation shared between the UI thread and a worker."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when cancelled (at once if already): how child processes get killed."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def child(self) -> CancelToken:
        """A token cancelled whenever this one is, and also on its own: one attempt of a step that the
        stall watchdog stops, while the job itself goes on to its retry."""
        child = CancelToken()
        self.on_cancel(child.cancel)
        return child

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise JobCancelledError

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancel. True when cancelled."""
        return self._event.wait(timeout)


@dataclass(frozen=True)
class AssetRef:
    """What a step needs to know about the asset it works on: plain data, never an ORM row."""

    id: int
    path: Path
    kind: str
    content_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)
    frames: tuple[Path, ...] = ()


@dataclass
class StepContext:
    asset: AssetRef | None
    paths: AppPaths
    settings: Settings
    cancel: CancelToken
    params: dict[str, Any] = field(default_factory=dict)
    # A step sets this to the device or backend it really used ("cuda:0", "pyrender/egl", "cpu").
    device: str | None = None


StepOutput = dict[str, Any]
StepFunction = Callable[[StepContext], Generator[Progress, None, StepOutput]]


class StepRegistry:
    """Named steps. Built in app/ (or a test) and passed to runners; no module-level global."""

    def __init__(self) -> None:
        self._steps: dict[str, StepFunction] = {}

    def register(self, name: str, function: StepFunction) -> None:
        if name in self._steps:
            raise ValueError(f"Step {name!r} is already registered")
        self._steps[name] = function

    def get(self, name: str) -> StepFunction:
        try:
            return self._steps[name]
        except KeyError:
            raise KeyError(f"No job step named {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._steps

    def names(self) -> list[str]:
        return sorted(self._steps)
