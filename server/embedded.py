"""Run a sync server on its own thread and event loop (tests, benchmarks, a studio-in-a-box setup)."""

from __future__ import annotations

import asyncio
import threading

from server.app import ServerConfig, SyncServer


class ServerThread:
    """``start()`` returns once the server listens; ``stop()`` shuts it down cleanly (like SIGTERM)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.port = 0
        self.server: SyncServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sync-server", daemon=True)

    @property
    def url(self) -> str:
        scheme = "wss" if self.config.ssl_context is not None else "ws"
        return f"{scheme}://{self.config.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError("The sync server did not start in time")
        if self._error is not None:
            raise RuntimeError("The sync server failed to start") from self._error
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError("The sync server did not stop in time")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        # Anything, even KeyboardInterrupt, must reach the thread waiting in start().
        except BaseException as exc:  # noqa: BLE001
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.server = SyncServer(self.config)
        self.port = await self.server.start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()
