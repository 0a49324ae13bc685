"""Who may connect, how fast they may talk and how often they may try a password.

Every limit is kept per user or per address, never per connection only: a client that opens twenty
sockets gets the same message budget as one, password guesses spread over many sockets still count
against the account and the address, and one address cannot take every connection (or file
descriptor) of the server.
"""

from __future__ import annotations

import logging
import resource
from collections import Counter
from typing import TYPE_CHECKING

from server.ratelimit import KeyedBuckets, TokenBucket

if TYPE_CHECKING:
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
    def login_wait_s(self, address: str, username: str) -> float:
        """0 when a password attempt may go ahead (and is counted), else seconds until one may."""
        account = self.account_logins.get(username.casefold())
        place = self.address_logins.get(address)
        if account.allow():
            if place.allow():
                return 0.0
            account.tokens += 1  # not tried: the account keeps its attempt
            return place.retry_after_s()
        return account.retry_after_s()

    def token_failed(self, address: str) -> None:
        self.address_logins.allow(address)

    def token_wait_s(self, address: str) -> float:
        """Token sign-ins are only slowed once an address has failed too often."""
        return self.address_logins.get(address).retry_after_s()
