"""What the request handlers outside ``server.app`` (sign-in and accounts, the HTTP endpoints) need of
the running server: a protocol ``SyncServer`` satisfies, so those modules never import ``server.app``
(which imports them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from server.admission import Admission
    from server.metrics import ServerMetrics
    from server.session import ServerConfig


class ServerServices(Protocol):
    config: ServerConfig
    admission: Admission
    metrics: ServerMetrics
    server_id: str

    async def read(self, function: Any, *args: Any) -> Any:
        """Run ``function(engine, *args)`` on a reader thread (never on the event loop)."""

    async def write(self, function: Any, *args: Any) -> Any:
        """Run ``function(writer_engine, *args)`` on the one writer thread."""

    def close_user_sessions(self, user_id: int, keep: str) -> int:
        """Close the user's live connections signed in with another token than ``keep``."""

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` answers."""
