"""Budgets: token buckets (a steady rate with room for bursts, e.g. an outbox flush after a trip), kept per
user and per address so that opening more sockets buys no more of them, and a budget for log lines so a
flood cannot fill the disk through the log either."""

from __future__ import annotations

import logging
import time
from typing import Generic, TypeVar

Key = TypeVar("Key")


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate = rate_per_s
        self.capacity = burst
        self.tokens = burst
        self.updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def allow(self, cost: float = 1.0) -> bool:
        self._refill()
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def retry_after_s(self, cost: float = 1.0) -> float:
        self._refill()
        return max(0.0, (cost - self.tokens) / self.rate) if self.rate > 0 else float("inf")

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.capacity


class KeyedBuckets(Generic[Key]):
    """One bucket per key (a user id, an address, an account name), created on first use.

    A bucket that has refilled completely is the same as none, so those are dropped when the map grows
    past ``max_keys``: someone trying many keys cannot make it grow without bound."""

    def __init__(self, rate_per_s: float, burst: float, max_keys: int = 50_000) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: dict[Key, TokenBucket] = {}

    def get(self, key: Key) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._prune()
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
        return bucket

    def allow(self, key: Key, cost: float = 1.0) -> bool:
        return self.get(key).allow(cost)

    def _prune(self) -> None:
        self._buckets = {key: bucket for key, bucket in self._buckets.items() if not bucket.full}
        if len(self._buckets) >= self.max_keys:
            # Every bucket is in use: forget the oldest half rather than grow.
            by_age = sorted(self._buckets.items(), key=lambda item: item[1].updated)
            self._buckets = dict(by_age[len(by_age) // 2 :])


class LogBudget(logging.Filter):
    """At most ``lines`` records per ``interval_s`` for each (logger, message template); the first line
    let through after a quiet spell says how many were dropped. Installed on the server's loggers, and
    on websockets' and asyncio's, whose per-connection lines a flood of sockets would multiply."""

    def __init__(self, lines: int = 20, interval_s: float = 60.0) -> None:
        super().__init__()
        self.lines = lines
        self.interval_s = interval_s
        self._windows: dict[tuple[str, str], list[float | int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or now - window[0] >= self.interval_s:
            if len(self._windows) > 10_000:
                self._windows.clear()
            dropped = int(window[2]) if window is not None else 0
            self._windows[key] = [now, 1, 0]
            if dropped:
                record.msg = f"{record.msg} log_lines_dropped=%d"
                record.args = (*(record.args or ()), dropped)
            return True
        if window[1] < self.lines:
            window[1] += 1
            return True
        window[2] += 1
        return False


LOG_BUDGET = LogBudget()
# A logger's filters see only what is logged to that very logger, so each one that writes is named.
_BUDGETED_LOGGERS = ("server.app", "server.session", "server.changes", "websockets.server", "asyncio")


def budget_server_logs() -> None:
    """Put the server's loggers on ``LOG_BUDGET`` (idempotent)."""
    for name in _BUDGETED_LOGGERS:
        logger = logging.getLogger(name)
        if LOG_BUDGET not in logger.filters:
            logger.addFilter(LOG_BUDGET)
