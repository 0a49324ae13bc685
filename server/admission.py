"""Who may connect, how fast they may talk and how often they may try a password.

Every limit is kept per user or per address, never per connection only: a client that opens twenty
sockets gets the same message budget as one, password guesses spread over many sockets still count
against the account and the address, and one address cannot take every connection (or file
descriptor) of the server.

With several server processes on one PostgreSQL database (``serve --workers N``) the counts live in
each process, by design, except sign-in failures: those are told to every other process
(``server.cluster``), so a lock-out holds wherever the next guess is sent. Message and attempt rates
and connection caps protect the process that enforces them (its loop, its writer, its descriptors),
so N processes allow N times the rate in all, each one still bounded (docs/deploy.md).
"""

from __future__ import annotations

import logging
import resource
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.ratelimit import KeyedBuckets, TokenBucket
from server.throttle import FailureThrottle

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.session import ServerConfig

log = logging.getLogger("server.app")

# File descriptors kept back from the connection cap: the database, its WAL, logs, executors.
_RESERVED_DESCRIPTORS = 64


def raise_descriptor_limit() -> int:
    """Raise the soft open-files limit to the hard one; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        wanted = 65_536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            log.warning("event=descriptor_limit_unchanged soft=%d", soft)
    return soft


@dataclass(frozen=True)
class SignInRefusal:
    wait_s: float
    message: str


class Admission:
    def __init__(self, config: ServerConfig, descriptor_limit: int) -> None:
        self.config = config
        # The cap is never above what the process can open, or the accept loop would fail instead.
        self.max_connections = max(1, min(config.max_connections, descriptor_limit - _RESERVED_DESCRIPTORS))
        self.connections: Counter[str] = Counter()
        self.user_messages: KeyedBuckets[int] = KeyedBuckets(config.rate_per_s, config.rate_burst)
        self.address_messages: KeyedBuckets[str] = KeyedBuckets(config.rate_per_s, config.rate_burst)
        self.account_logins: KeyedBuckets[str] = KeyedBuckets(
            config.login_rate_per_account_per_s, config.login_burst_per_account
        )
        self.address_logins: KeyedBuckets[str] = KeyedBuckets(
            config.login_rate_per_address_per_s, config.login_burst_per_address
        )
        self.account_failures: FailureThrottle[str] = FailureThrottle(
            config.login_failures_before_lock, config.login_lock_base_s, config.login_lock_max_s, config.clock
        )
        # Set when several server processes share a PostgreSQL database: failures and successes are
        # told to the other processes (outcome, address, account), which count them too.
        self.on_sign_in: Callable[[str, str, str | None], None] | None = None
        self.address_failures: FailureThrottle[str] = FailureThrottle(
            config.address_failures_before_lock,
            config.login_lock_base_s,
            config.login_lock_max_s,
            config.clock,
        )

    # -- connections ---------------------------------------------------------------------------
    def refusal(self, address: str) -> tuple[int, str] | None:
        """(HTTP status, reason) when a new connection from ``address`` must be refused."""
        if self.connections.total() >= self.max_connections:
            return 503, "The server is at its connection limit; try again later"
        if self.connections[address] >= self.config.max_connections_per_address:
            return 429, "Too many connections from this address"
        return None

    def opened(self, address: str) -> None:
        self.connections[address] += 1

    def closed(self, address: str) -> None:
        self.connections[address] -= 1
        if self.connections[address] <= 0:
            del self.connections[address]

    # -- messages ------------------------------------------------------------------------------
    def address_bucket(self, address: str) -> TokenBucket:
        return self.address_messages.get(address)

    def user_bucket(self, user_id: int) -> TokenBucket:
        return self.user_messages.get(user_id)

    # -- sign-in -------------------------------------------------------------------------------
    def sign_in_refusal(self, address: str, username: str | None) -> SignInRefusal | None:
        """Why a sign-in may not go ahead now: a password (``username`` given) or a token (None).

        A password attempt that may go ahead is counted against the account's and the address's rate.
        Token sign-ins are only slowed once an address has failed too often."""
        account_lock = self.account_failures.wait_s(username.casefold()) if username is not None else 0.0
        if account_lock > 0:
            return SignInRefusal(
                account_lock,
                f"This account is locked after too many failed sign-ins; try again in {account_lock:.0f} s",
            )
        address_lock = self.address_failures.wait_s(address)
        if address_lock > 0:
            return SignInRefusal(
                address_lock,
                f"Too many failed sign-ins from this address; try again in {address_lock:.0f} s",
            )
        if username is None:
            wait_s = self.address_logins.get(address).retry_after_s()
        else:
            wait_s = self._take_password_attempt(address, username)
        if wait_s > 0:
            return SignInRefusal(wait_s, f"Too many sign-in attempts; try again in {wait_s:.0f} s")
        return None

    def _take_password_attempt(self, address: str, username: str) -> float:
        account = self.account_logins.get(username.casefold())
        place = self.address_logins.get(address)
        if account.allow():
            if place.allow():
                return 0.0
            account.tokens += 1  # not tried: the account keeps its attempt
            return place.retry_after_s()
        return account.retry_after_s()

    def sign_in_failed(self, address: str, username: str | None) -> float:
        """Count a failed sign-in; returns the lock-out it starts (0 for none)."""
        if username is None:
            self.address_logins.allow(address)
        if self.on_sign_in is not None:
            self.on_sign_in("failed", address, username)
        return self.remote_sign_in_failed(address, username)

    def sign_in_succeeded(self, username: str) -> None:
        if self.on_sign_in is not None:
            self.on_sign_in("succeeded", "", username)
        self.remote_sign_in_succeeded(username)

    # The same counts for sign-ins another server process reports (``server.cluster``): a guess
    # costs the same whichever process it was sent to.
    def remote_sign_in_failed(self, address: str, username: str | None) -> float:
        account_lock = self.account_failures.failed(username.casefold()) if username is not None else 0.0
        return max(account_lock, self.address_failures.failed(address))

    def remote_sign_in_succeeded(self, username: str) -> None:
        self.account_failures.succeeded(username.casefold())
