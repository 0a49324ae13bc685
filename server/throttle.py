"""Failed sign-ins, per account and per address, answered with growing lock-outs.

The token buckets in ``server.admission`` cap how fast anyone may try; this counts how often they got it
wrong. A few mistakes cost nothing; from the Nth on every failure locks the key for twice as long as the
previous one (30 s, 1 min, 2 min, ... up to an hour), so guessing gets slower and slower while someone
who mistyped waits half a minute. A success clears the account's count. The clock is passed in so tests
can move time instead of sleeping.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

Key = TypeVar("Key")


@dataclass
class _Failures:
    count: int
    last_at: float
    locked_until: float


class FailureThrottle(Generic[Key]):
    def __init__(
        self,
        failures_before_lock: int,
        base_lock_s: float,
        max_lock_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 50_000,
    ) -> None:
        self.failures_before_lock = failures_before_lock
        self.base_lock_s = base_lock_s
        self.max_lock_s = max_lock_s
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[Key, _Failures] = {}

    def wait_s(self, key: Key) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        entry = self._failures.get(key)
        return 0.0 if entry is None else max(0.0, entry.locked_until - self.clock())

    def failed(self, key: Key) -> float:
        """Count a failure; returns the lock-out it starts (0 while still within the free failures)."""
        now = self.clock()
        entry = self._failures.get(key)
        if entry is None or now - entry.last_at > self.max_lock_s * 2:
            # Quiet for twice the longest lock: old mistakes are forgiven.
            if len(self._failures) >= self.max_keys:
                self._forget_unlocked(now)
            entry = self._failures[key] = _Failures(0, now, now)
        entry.count += 1
        entry.last_at = now
        beyond = entry.count - self.failures_before_lock
        if beyond < 0:
            return 0.0
        lock_s = min(self.max_lock_s, self.base_lock_s * 2.0 ** min(beyond, 32))
        entry.locked_until = now + lock_s
        return lock_s

    def succeeded(self, key: Key) -> None:
        self._failures.pop(key, None)

    def _forget_unlocked(self, now: float) -> None:
        """Someone trying many names cannot grow the map without bound: only locked keys are kept, and
        when every key is locked, the half locked longest ago go."""
        self._failures = {k: e for k, e in self._failures.items() if e.locked_until > now}
        if len(self._failures) >= self.max_keys:
            by_age = sorted(self._failures.items(), key=lambda item: item[1].last_at)
            self._failures = dict(by_age[len(by_age) // 2 :])
