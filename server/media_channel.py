"""The media channel (``/media`` on the sync port): publishing and fetching files in chunks.

Each connection signs in with the sync token, then runs one upload or fetch at a time; chunks are
hashed and written on the channel's own threads so the event loop (and every comment on it) never
waits for a disk or a hash. The protocol and why it is a second WebSocket: ``core.sync.media_protocol``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed

from core.sync import roles
from core.sync.media_protocol import (
    HEADER_BYTES,
    MAX_CHUNK_BYTES,
    MEDIA_REQUEST,
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
    pack_stored_chunk,
    unpack_chunk,
)
from core.sync.protocol import AuthRequest, ErrorCode, ErrorReply
from server import media_records, store
from server.endpoints import address
from server.media_store import MediaStore, StoreError, Upload

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from server.services import ServerServices

log = logging.getLogger(__name__)


class _Refused(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


@dataclass
class _Transfer:
    """One connection's state: who, and the upload (with chunks held) or fetch in progress."""

    ws: ServerConnection
    user: store.SessionUser
    upload: Upload | None = None
    upload_project: int = 0
    upload_name: str = ""
    held: int = 0
    fetch: media_records.BlobInfo | None = None
    manifest: list[str] | None = None


def media_root(db_url: str, media_dir: str) -> Path | None:
    """Where the store lives: the configured folder, else ``media`` beside an SQLite database."""
    if media_dir:
        return Path(media_dir).expanduser()
    database = sa.engine.make_url(db_url).database if db_url.startswith("sqlite") else None
    if not database or database == ":memory:":
        return None
    return Path(database).parent / "media"


class MediaChannel:
    def __init__(self, server: ServerServices) -> None:
        self.server = server
        self.config = server.config
        root = media_root(self.config.db_url, self.config.media_dir)
        self.store = MediaStore(root) if root is not None else None
        # Disk and hashing for transfers, apart from the database's reader and writer threads.
        self.executor = ThreadPoolExecutor(2, thread_name_prefix="media")
        # Upload key -> the connection sending it. A resumed upload takes over from a connection the
        # server has not yet seen die (a cut without a reset is noticed at the next ping).
        self._uploading: dict[str, _Transfer] = {}

    def close(self) -> None:
        self.executor.shutdown(wait=True)

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def handle(self, ws: ServerConnection) -> None:
        # Chunk frames are larger than any sync message; only this connection takes them.
        ws.protocol.max_message_size = MAX_CHUNK_BYTES + HEADER_BYTES
        peer = address(ws)
        self.server.admission.opened(peer)
        try:
            transfer = await self._sign_in(ws, peer)
            if transfer is not None:
                await self._serve(transfer)
        except ConnectionClosed:
            pass
        finally:
            self.server.admission.closed(peer)
            for key in [k for k, t in self._uploading.items() if t.ws is ws]:
                del self._uploading[key]

    async def _sign_in(self, ws: ServerConnection, peer: str) -> _Transfer | None:
        try:
            raw = await asyncio.wait_for(ws.recv(), self.config.auth_timeout_s)
        except TimeoutError:
            await ws.close(1008, "authentication timeout")
            return None
        try:
            message = MEDIA_REQUEST.validate_json(raw)
        except ValidationError:
            message = None
        if not isinstance(message, AuthRequest):
            await self._send_error(ws, "auth_required", "Sign in first (auth with your token)", None)
            await ws.close(1008, "sign in first")
            return None
        refusal = self.server.admission.sign_in_refusal(peer, None)
        if refusal is not None:
            await self._send_error(ws, "rate_limited", refusal.message, message.id)
            await ws.close(1008, "rate limited")
            return None
        try:
            user, _projects = await self.server.read(store.authenticate, message.token)
        except store.DomainError as error:
            self.server.admission.sign_in_failed(peer, None)
            log.warning(
                "event=sign_in_failed method=token channel=media address=%s code=%s", peer, error.code
            )
            await self._send_error(ws, error.code, error.message, message.id)
            await ws.close(1008, "sign-in refused")
            return None
        reply = MediaAuthOk(re=message.id, user=user.user.id, role=user.user.role)
        await ws.send(reply.model_dump_json())
        return _Transfer(ws, user)

    async def _serve(self, transfer: _Transfer) -> None:
        async for raw in transfer.ws:
            request_id: str | None = None
            try:
                if isinstance(raw, bytes):
                    await self._chunk(transfer, raw)
                    continue
                try:
                    message = MEDIA_REQUEST.validate_json(raw)
                except ValidationError as exc:
                    first = exc.errors(include_url=False)[0]
                    raise _Refused(
                        "bad_request", f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
                    ) from exc
                request_id = message.id
                await self._request(transfer, message)
            except _Refused as refused:
                await self._send_error(transfer.ws, refused.code, refused.message, request_id)
            except store.DomainError as error:
                await self._send_error(transfer.ws, error.code, error.message, request_id)
                if error.code in ("token_revoked", "token_expired"):
                    await transfer.ws.close(1008, error.message)
                    return
            except (ConnectionClosed, asyncio.CancelledError):
                raise
            except Exception:
                log.exception("event=media_request_failed user=%s", transfer.user.user.name)
                await self._send_error(
                    transfer.ws, "internal", "The server could not do this; try again", request_id
                )

    async def _request(self, transfer: _Transfer, message: Any) -> None:
        if isinstance(message, AuthRequest):
            raise _Refused("bad_request", "Already signed in on this connection")
        if not isinstance(message, FetchChunk):  # once per transfer, not per chunk
            await self._check_token(transfer)
        if isinstance(message, UploadBegin):
            await self._upload_begin(transfer, message)
        elif isinstance(message, UploadFinish):
            await self._upload_finish(transfer, message)
        elif isinstance(message, FetchBegin):
            await self._fetch_begin(transfer, message)
        elif isinstance(message, FetchChunk):
            await self._fetch_chunk(transfer, message)
        elif isinstance(message, MediaListRequest):
            await self._member(transfer, message.project, "fetch_media")
            items = await self.server.read(media_records.list_media, message.project)
            used, quota = await self._usage(message.project)
            reply = MediaItems(
                re=message.id, project=message.project, items=items, project_bytes=used, quota_bytes=quota
            )
            await transfer.ws.send(reply.model_dump_json())

    async def _check_token(self, transfer: _Transfer) -> None:
        """A token revoked or expired since this connection signed in stops it at its next request."""
        user = transfer.user
        access = await self.server.read(store.check_access, user.token_hash, user.user.id, frozenset())
        if access.token_problem is not None:
            raise access.token_problem

    async def _member(self, transfer: _Transfer, project: int, action: str) -> MediaStore:
        user = transfer.user.user
        if not await self.server.read(media_records.is_member, user.id, project):
            raise _Refused("not_member", f"You are not a member of project {project}")
        refusal = roles.refusal(user.role, action)
        if refusal is not None:
            raise _Refused("forbidden", refusal)
        if self.store is None:
            raise _Refused("invalid", "This server keeps no media: start it with --media-dir")
        return self.store

    async def _usage(self, project: int) -> tuple[int, int]:
        result: tuple[int, int] = await self.server.read(
            media_records.usage_and_quota, project, self.config.media_quota_bytes
        )
        return result

    # -- publishing -------------------------------------------------------------------------------
    async def _upload_begin(self, transfer: _Transfer, message: UploadBegin) -> None:
        media = await self._member(transfer, message.project, "publish_media")
        if message.size > self.config.media_max_file_bytes:
            limit = self.config.media_max_file_bytes / (1 << 30)
            raise _Refused("too_large", f"Files published here are limited to {limit:.1f} GiB")
        chunks = chunk_count(message.size, message.chunk_bytes)
        if await self.server.read(media_records.referenced, message.project, message.sha256):
            transfer.upload = None
            reply = UploadState(re=message.id, sha256=message.sha256, have_chunks=chunks, stored=True)
            await transfer.ws.send(reply.model_dump_json())
            return
        # Refused before a byte is sent; checked again when the file is recorded (another upload may
        # finish first). A file another project holds is still uploaded: knowing a hash must not be
        # enough to get a file into a project (the store keeps one copy either way).
        used, quota = await self._usage(message.project)
        problem = media_records.quota_refusal(used, quota, message.size)
        if problem is not None:
            raise problem
        key = media.upload_key(message.project, transfer.user.user.id, message.sha256)
        upload = Upload(key, message.sha256, message.size, message.chunk_bytes)
        previous = self._uploading.get(key)
        if previous is not None and previous is not transfer:
            previous.upload = None  # its late chunks are refused from now on
        self._uploading[key] = transfer
        transfer.held = await self._run(media.begin, upload)
        transfer.upload, transfer.upload_project, transfer.upload_name = upload, message.project, message.name
        log.info(
            "event=upload_begin user=%s project=%d sha256=%s size=%d held=%d",
            transfer.user.user.name,
            message.project,
            message.sha256[:12],
            message.size,
            transfer.held,
        )
        reply = UploadState(re=message.id, sha256=message.sha256, have_chunks=transfer.held)
        await transfer.ws.send(reply.model_dump_json())

    async def _chunk(self, transfer: _Transfer, frame: bytes) -> None:
        upload = transfer.upload
        try:
            index, digest, data = unpack_chunk(frame)
        except ValueError as exc:
            raise _Refused("bad_request", str(exc)) from exc
        if upload is None or self.store is None:
            raise _Refused("invalid", "No upload in progress on this connection (send upload_begin)")
        try:
            await self._run(self.store.append, upload, transfer.held, index, digest, data)
        except StoreError as error:
            log.warning(
                "event=chunk_refused user=%s index=%d code=%s", transfer.user.user.name, index, error.code
            )
            code: ErrorCode = "corrupt" if error.code == "corrupt" else "invalid"
            await self._send_error(transfer.ws, code, error.message, f"chunk:{index}")
            return
        transfer.held += 1
        self.server.metrics.media_bytes.labels("received").inc(len(data))
        await transfer.ws.send(ChunkAck(index=index).model_dump_json())

    async def _upload_finish(self, transfer: _Transfer, message: UploadFinish) -> None:
        await self._member(transfer, message.project, "publish_media")  # still, after a long upload
        upload, media = transfer.upload, self.store
        if (
            upload is None
            or media is None
            or upload.sha256 != message.sha256
            or transfer.upload_project != message.project
        ):
            raise _Refused("invalid", "This connection has no upload of that file to finish")
        if transfer.held != upload.chunks:
            raise _Refused("invalid", f"The server holds {transfer.held} of {upload.chunks} chunks")
        transfer.upload = None
        if self._uploading.get(upload.key) is transfer:
            del self._uploading[upload.key]
        try:
            deduplicated = await self._run(media.finish, upload)
        except StoreError as error:
            raise _Refused("corrupt", error.message) from error
        blob = media_records.BlobInfo(upload.sha256, upload.size, upload.chunk_bytes)
        try:
            used, quota = await self.server.write(
                media_records.record_publication,
                message.project,
                transfer.user.user.id,
                blob,
                transfer.upload_name,
                self.config.media_quota_bytes,
            )
        except store.DomainError:
            if not deduplicated and await self.server.read(media_records.known_blob, upload.sha256) is None:
                await self._run(_remove_object, media, upload.sha256)
            raise
        log.info(
            "event=published user=%s project=%d sha256=%s size=%d deduplicated=%d",
            transfer.user.user.name,
            message.project,
            upload.sha256[:12],
            upload.size,
            int(deduplicated),
        )
        reply = Published(
            re=message.id,
            sha256=upload.sha256,
            size=upload.size,
            deduplicated=deduplicated,
            project_bytes=used,
            quota_bytes=quota,
        )
        await transfer.ws.send(reply.model_dump_json())

    # -- fetching ---------------------------------------------------------------------------------
    async def _fetch_begin(self, transfer: _Transfer, message: FetchBegin) -> None:
        media = await self._member(transfer, message.project, "fetch_media")
        blob = await self.server.read(media_records.referenced, message.project, message.sha256)
        if blob is None:
            raise _Refused(
                "not_found", f"Project {message.project} has no published file {message.sha256[:12]}…"
            )
        transfer.fetch, transfer.manifest = blob, await self._run(media.manifest, blob.sha256)
        reply = FetchInfo(
            re=message.id,
            sha256=blob.sha256,
            size=blob.size,
            chunk_bytes=blob.chunk_bytes,
            chunk_sha256=transfer.manifest,
        )
        await transfer.ws.send(reply.model_dump_json())

    async def _fetch_chunk(self, transfer: _Transfer, message: FetchChunk) -> None:
        blob, manifest, media = transfer.fetch, transfer.manifest, self.store
        if blob is None or manifest is None or media is None:
            raise _Refused("invalid", "No fetch in progress on this connection (send fetch_begin)")
        if message.index >= len(manifest):
            raise _Refused("invalid", f"The file has only {len(manifest)} chunks")
        data = await self._run(media.read_chunk, blob.sha256, message.index, blob.chunk_bytes)
        # The digest recorded at upload, not one computed now: a copy damaged on the server's disk
        # is caught by the client instead of being vouched for.
        await transfer.ws.send(pack_stored_chunk(message.index, bytes.fromhex(manifest[message.index]), data))
        self.server.metrics.media_bytes.labels("sent").inc(len(data))

    async def _send_error(
        self, ws: ServerConnection, code: ErrorCode, message: str, request_id: str | None
    ) -> None:
        self.server.metrics.errors.labels(code).inc()
        with contextlib.suppress(ConnectionClosed):
            await ws.send(ErrorReply(code=code, message=message, re=request_id).model_dump_json())


def _remove_object(media: MediaStore, sha256: str) -> None:
    """An object just stored whose publication was refused (the quota filled meanwhile)."""
    path = media.object_path(sha256)
    path.unlink(missing_ok=True)
    path.with_suffix(".chunks").unlink(missing_ok=True)
