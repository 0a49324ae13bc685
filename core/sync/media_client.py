"""The client end of the media channel (``core.sync.media_protocol``): one connection, one transfer at
a time, asyncio. ``core.sync.media_publish`` builds publish and fetch on it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from core.sync.media_protocol import (
    HEADER_BYTES,
    MAX_CHUNK_BYTES,
    MEDIA_PATH,
    MEDIA_REPLY,
    WINDOW_CHUNKS,
    ChunkAck,
    FetchBegin,
    FetchChunk,
    FetchInfo,
    MediaAuthOk,
    MediaItems,
    MediaListRequest,
    Published,
    UploadBegin,
    UploadFinish,
    UploadState,
    chunk_count,
    pack_chunk,
    unpack_chunk,
)
from core.sync.protocol import AuthRequest, ErrorReply
from core.sync.tls import client_ssl_context

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


log = logging.getLogger(__name__)

# How often one chunk may arrive damaged before the transfer gives up.
MAX_CHUNK_RETRIES = 3


class MediaTransferError(Exception):
    """The server refused (``code`` as in the protocol) or the transfer could not complete."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class UploadResult:
    sha256: str
    size: int
    sent_bytes: int  # what crossed the wire this time (less than size when resumed or stored)
    resumed_from_chunk: int
    already_in_project: bool
    deduplicated: bool
    project_bytes: int
    quota_bytes: int


def media_url(sync_url: str) -> str:
    parts = urlsplit(sync_url)
    return urlunsplit((parts.scheme, parts.netloc, MEDIA_PATH, "", ""))


class MediaConnection:
    def __init__(self, ws: ClientConnection, user_id: int, role: str) -> None:
        self.ws = ws
        self.user_id = user_id
        self.role = role
        self._numbers = 0

    @classmethod
    async def open(cls, sync_url: str, token: str, ca_file: str = "") -> MediaConnection:
        ws = await connect(
            media_url(sync_url),
            ssl=client_ssl_context(sync_url, ca_file),
            open_timeout=10,
            max_size=MAX_CHUNK_BYTES + HEADER_BYTES,
            compression=None,
        )
        connection = cls(ws, 0, "")
        reply = await connection._request(AuthRequest(token=token), MediaAuthOk)
        connection.user_id, connection.role = reply.user, reply.role
        return connection

    async def close(self) -> None:
        await self.ws.close()

    async def __aenter__(self) -> MediaConnection:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- messages -----------------------------------------------------------------------------
    def _next_id(self) -> str:
        self._numbers += 1
        return f"m{self._numbers}"

    async def _send(self, data: str | bytes) -> None:
        try:
            await self.ws.send(data)
        except ConnectionClosed as exc:
            raise ConnectionError(f"the media connection closed: {exc}") from exc

    async def _receive(self) -> Any:
        try:
            raw = await self.ws.recv()
        except ConnectionClosed as exc:
            raise ConnectionError(f"the media connection closed: {exc}") from exc
        if isinstance(raw, bytes):
            return raw
        return MEDIA_REPLY.validate_json(raw)

    async def _request(self, message: Any, expected: type[Any]) -> Any:
        message = message.model_copy(update={"id": self._next_id()})
        await self._send(message.model_dump_json())
        reply = await self._receive()
        if isinstance(reply, ErrorReply):
            raise MediaTransferError(reply.code, reply.message)
        if not isinstance(reply, expected):
            raise MediaTransferError("internal", f"unexpected reply {type(reply).__name__}")
        return reply

    async def list_media(self, project: int) -> MediaItems:
        reply: MediaItems = await self._request(MediaListRequest(project=project), MediaItems)
        return reply

    # -- publishing ---------------------------------------------------------------------------
    async def upload(
        self,
        project: int,
        path: Path,
        sha256: str,
        name: str,
        chunk_bytes: int,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> UploadResult:
        size = path.stat().st_size
        begin = UploadBegin(project=project, sha256=sha256, size=size, chunk_bytes=chunk_bytes, name=name)
        state: UploadState = await self._request(begin, UploadState)
        if state.stored:
            if on_progress is not None:
                on_progress(size, size)
            return UploadResult(sha256, size, 0, state.have_chunks, True, True, 0, 0)
        resumed_from, sent, failures = state.have_chunks, 0, 0
        chunks = chunk_count(size, chunk_bytes)
        loop = asyncio.get_running_loop()
        with path.open("rb") as stream:
            next_index, outstanding = state.have_chunks, deque[int]()
            while next_index < chunks or outstanding:
                while next_index < chunks and len(outstanding) < WINDOW_CHUNKS:
                    frame = await loop.run_in_executor(None, _read_frame, stream, next_index, chunk_bytes)
                    await self._send(frame)
                    sent += len(frame) - HEADER_BYTES
                    outstanding.append(next_index)
                    next_index += 1
                reply = await self._receive()
                if isinstance(reply, ChunkAck) and outstanding and reply.index == outstanding[0]:
                    outstanding.popleft()
                    if on_progress is not None:
                        on_progress(min(size, (reply.index + 1) * chunk_bytes), size)
                    continue
                if not isinstance(reply, ErrorReply):
                    raise MediaTransferError("internal", f"unexpected reply {type(reply).__name__}")
                if not (reply.re or "").startswith("chunk:"):
                    raise MediaTransferError(reply.code, reply.message)
                # A refused chunk: the ones sent after it are refused too. Let them arrive, ask the
                # server where it stands and go on from there.
                failures += 1
                if failures > MAX_CHUNK_RETRIES:
                    raise MediaTransferError(reply.code, reply.message)
                log.warning("event=chunk_refused code=%s message=%r", reply.code, reply.message)
                for _ in range(len(outstanding) - 1):
                    await self._receive()
                outstanding.clear()
                state = await self._request(begin, UploadState)
                next_index = state.have_chunks
        published: Published = await self._request(UploadFinish(project=project, sha256=sha256), Published)
        return UploadResult(
            sha256,
            size,
            sent,
            resumed_from,
            False,
            published.deduplicated,
            published.project_bytes,
            published.quota_bytes,
        )

    # -- fetching -----------------------------------------------------------------------------
    async def download(
        self,
        project: int,
        sha256: str,
        part: Path,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Fetch the file into ``part``, going on from the whole chunks it already holds; every chunk
        is checked against the sha256 recorded at publishing (a damaged one is fetched again) and the
        whole file against ``sha256``. Returns the bytes received this time."""
        info: FetchInfo = await self._request(FetchBegin(project=project, sha256=sha256), FetchInfo)
        chunks, step = len(info.chunk_sha256), info.chunk_bytes
        loop = asyncio.get_running_loop()
        part.parent.mkdir(parents=True, exist_ok=True)
        with part.open("a+b") as stream:
            held = min(os.fstat(stream.fileno()).st_size // step, chunks)
            stream.truncate(held * step)
            hasher = await loop.run_in_executor(None, _hash_prefix, stream, held * step)
            received, retries = 0, [0] * chunks
            expected, requested = held, held
            while expected < chunks:
                while requested < chunks and requested - expected < WINDOW_CHUNKS:
                    await self._send(FetchChunk(index=requested).model_dump_json())
                    requested += 1
                reply = await self._receive()
                if isinstance(reply, ErrorReply):
                    raise MediaTransferError(reply.code, reply.message)
                if not isinstance(reply, bytes):
                    raise MediaTransferError("internal", f"unexpected reply {type(reply).__name__}")
                index, digest, data = unpack_chunk(reply)
                if index != expected:
                    continue  # sent before a damaged chunk was asked for again: it comes again too
                good = await loop.run_in_executor(
                    None, _chunk_matches, data, digest, info.chunk_sha256[index]
                )
                if not good:
                    retries[index] += 1
                    log.warning("event=fetched_chunk_damaged index=%d try=%d", index, retries[index])
                    if retries[index] > MAX_CHUNK_RETRIES:
                        raise MediaTransferError("corrupt", f"Chunk {index} kept arriving damaged")
                    # Everything asked for after it is dropped as it arrives and asked for again.
                    for _ in range(requested - expected - 1):
                        await self._receive()
                    requested = expected
                    continue
                await loop.run_in_executor(None, _append, stream, hasher, data)
                received += len(data)
                expected += 1
                if on_progress is not None:
                    on_progress(min(info.size, expected * step), info.size)
        if hasher.hexdigest() != sha256:
            part.unlink(missing_ok=True)
            raise MediaTransferError("corrupt", "The fetched file does not match its sha256; fetch it again")
        return received


def _read_frame(stream: Any, index: int, chunk_bytes: int) -> bytes:
    stream.seek(index * chunk_bytes)
    return pack_chunk(index, stream.read(chunk_bytes))


def _hash_prefix(stream: Any, length: int) -> Any:
    hasher = hashlib.sha256()
    stream.seek(0)
    remaining = length
    while remaining > 0:
        block = stream.read(min(remaining, 8 << 20))
        if not block:
            break
        hasher.update(block)
        remaining -= len(block)
    stream.seek(0, os.SEEK_END)
    return hasher


def _chunk_matches(data: memoryview, digest: bytes, recorded: str) -> bool:
    actual = hashlib.sha256(data).digest()
    return actual == digest and actual.hex() == recorded


def _append(stream: Any, hasher: Any, data: memoryview) -> None:
    stream.write(data)
    hasher.update(data)
