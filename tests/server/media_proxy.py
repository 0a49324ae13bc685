"""A real TCP relay between a client and the server, for media tests: it can cut the connection once
the client has sent some bytes (a network drop mid-upload or mid-fetch) or flip one byte the server
sends (a chunk damaged on the way)."""

from __future__ import annotations

import asyncio
import contextlib


class FaultyRelay:
    def __init__(
        self,
        port: int,
        *,
        cut_after_sent: int | None = None,
        cut_after_received: int | None = None,
        flip_received_at: int | None = None,
    ) -> None:
        self.upstream_port = port
        self.cut_after_sent = cut_after_sent
        self.cut_after_received = cut_after_received
        self.flip_received_at = flip_received_at
        self.sent = 0
        self.received = 0
        self.cut = asyncio.Event()
        self.flipped = False
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FaultyRelay:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.cut.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer, upstream=True)),
            asyncio.create_task(self._pump(up_reader, writer, upstream=False)),
        ]
        cut = asyncio.create_task(self.cut.wait())
        await asyncio.wait([*pumps, cut], return_when=asyncio.FIRST_COMPLETED)
        for task in (*pumps, cut):
            task.cancel()
        for stream in (writer, up_writer):
            # An abrupt end, as a dropped network gives: no closing handshake reaches either side.
            stream.transport.abort()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        while data := await reader.read(1 << 16):
            if upstream:
                self.sent += len(data)
                if self.cut_after_sent is not None and self.sent > self.cut_after_sent:
                    self.cut.set()
                    return
            else:
                start = self.received
                self.received += len(data)
                at = self.flip_received_at
                if at is not None and not self.flipped and start <= at < self.received:
                    damaged = bytearray(data)
                    damaged[at - start] ^= 0xFF
                    data = bytes(damaged)
                    self.flipped = True
                if self.cut_after_received is not None and self.received > self.cut_after_received:
                    self.cut.set()
                    return
            writer.write(data)
            await writer.drain()
