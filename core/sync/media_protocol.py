"""The media channel: publishing and fetching review media on a second WebSocket (``/media``).

Why a second connection on the same port rather than the sync socket or an HTTP endpoint: a 4 MiB chunk
on the sync socket would sit in front of every comment and ack queued after it (the issue's rule is
that a 1 GB upload never delays a note); the ``websockets`` server answers plain HTTP ``GET``s only, so
an upload endpoint would need a second HTTP stack. A WebSocket on ``/media`` shares the port, the TLS
set-up and the token of the sync connection, carries chunks as binary frames (no base64), and gets
TCP flow control from ``websockets``.

The conversation: ``auth`` (the sync token) -> ``auth_ok``; then

- publish: ``upload_begin`` -> ``upload_state`` (how many chunks the server already holds, or
  ``stored`` when the project has the file); a binary frame per chunk (``pack_chunk``) -> ``chunk_ack``
  each; ``upload_finish`` -> ``published`` once the whole file's sha256 is verified and it is stored;
- fetch: ``fetch_begin`` -> ``fetch_info`` (size and every chunk's sha256, recorded at upload);
  ``fetch_chunk`` -> one binary frame each;
- ``media_list`` -> ``media_items``: what the project holds, with its quota.

Files are named by sha256, not by the catalog's xxh3: the store is shared by everyone who may publish,
and a hash anyone can collide on purpose would let one upload stand in for another's file.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from core.sync.protocol import AuthRequest, ErrorReply, Identifier

MEDIA_PATH = "/media"
# 1 MiB: every chunk frame is unmasked and assembled on the server's one event loop, which also acks
# comments; on this machine 4 MiB frames raised comment ack latency during a publish (p50 5.9-12 ms
# against 2.4-8.5 ms) for no gain in throughput (bench/bench_publish.py).
CHUNK_BYTES = 1 << 20
MAX_CHUNK_BYTES = 16 << 20
# Chunks a sender may have on the wire before the first is acknowledged: enough to keep loopback and
# a LAN busy, little enough that a cut loses at most this much.
WINDOW_CHUNKS = 4
# index (uint32), sha256 of the payload (32 bytes), then the payload.
_HEADER = struct.Struct(">I32s")
HEADER_BYTES = _HEADER.size

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
FileName = Annotated[str, StringConstraints(min_length=1, max_length=255)]


def pack_chunk(index: int, data: bytes | memoryview) -> bytes:
    return _HEADER.pack(index, hashlib.sha256(data).digest()) + bytes(data)


def unpack_chunk(frame: bytes) -> tuple[int, bytes, memoryview]:
    """(index, the sha256 the sender claims, payload); raises ValueError on a frame too short."""
    if len(frame) < HEADER_BYTES:
        raise ValueError("a chunk frame starts with a 36-byte header")
    index, digest = _HEADER.unpack_from(frame)
    return int(index), bytes(digest), memoryview(frame)[HEADER_BYTES:]


def chunk_count(size: int, chunk_bytes: int) -> int:
    return max(1, -(-size // chunk_bytes)) if size else 0


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Request(_Model):
    v: Literal[1] = 1
    id: Identifier | None = None


class UploadBegin(_Request):
    type: Literal["upload_begin"] = "upload_begin"
    project: int
    sha256: Sha256
    size: int = Field(ge=0)
    chunk_bytes: int = Field(default=CHUNK_BYTES, ge=64 << 10, le=MAX_CHUNK_BYTES)
    name: FileName


class UploadFinish(_Request):
    type: Literal["upload_finish"] = "upload_finish"
    project: int
    sha256: Sha256


class FetchBegin(_Request):
    type: Literal["fetch_begin"] = "fetch_begin"
    project: int
    sha256: Sha256


class FetchChunk(_Request):
    type: Literal["fetch_chunk"] = "fetch_chunk"
    index: int = Field(ge=0)


class MediaListRequest(_Request):
    type: Literal["media_list"] = "media_list"
    project: int


MediaRequest = Annotated[
    AuthRequest | UploadBegin | UploadFinish | FetchBegin | FetchChunk | MediaListRequest,
    Field(discriminator="type"),
]
MEDIA_REQUEST: TypeAdapter[MediaRequest] = TypeAdapter(MediaRequest)


class _Reply(_Model):
    v: Literal[1] = 1
    re: str | None = None


class MediaAuthOk(_Reply):
    type: Literal["auth_ok"] = "auth_ok"
    user: int
    role: str


class UploadState(_Reply):
    type: Literal["upload_state"] = "upload_state"
    sha256: str
    # Chunks the server holds already (a resumed upload sends from here on).
    have_chunks: int
    # The project already has this file: nothing to send, ``upload_finish`` is not needed.
    stored: bool = False


class ChunkAck(_Reply):
    type: Literal["chunk_ack"] = "chunk_ack"
    index: int


class Published(_Reply):
    type: Literal["published"] = "published"
    sha256: str
    size: int
    # The store had these bytes already (published before, maybe to another project): kept once.
    deduplicated: bool = False
    project_bytes: int = 0
    quota_bytes: int = 0


class FetchInfo(_Reply):
    type: Literal["fetch_info"] = "fetch_info"
    sha256: str
    size: int
    chunk_bytes: int
    chunk_sha256: list[str]


class MediaItem(_Model):
    sha256: str
    size: int
    name: str
    published_by: int
    published_at: str


class MediaItems(_Reply):
    type: Literal["media_items"] = "media_items"
    project: int
    items: list[MediaItem]
    project_bytes: int
    quota_bytes: int


MediaReply = Annotated[
    ErrorReply | MediaAuthOk | UploadState | ChunkAck | Published | FetchInfo | MediaItems,
    Field(discriminator="type"),
]
MEDIA_REPLY: TypeAdapter[MediaReply] = TypeAdapter(MediaReply)


def pack_stored_chunk(index: int, digest: bytes, data: bytes) -> bytes:
    """A chunk frame with a digest recorded earlier (the server's manifest), not computed now."""
    return _HEADER.pack(index, digest) + data
