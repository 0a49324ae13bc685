"""Publishing an asset's files to its server project and fetching them back, for the CLI and the app.

A publication uploads every file over the media channel, then records them on the asset as
``metadata["media"]`` through the one write path (``LocalStore.publish_asset``): the asset's next
event tells every teammate, online now or at their next catch-up, what they can fetch. What is being
published is kept in ``PendingUploads`` until the asset is recorded, so a cut connection or a
restarted program goes on where the server's acknowledged chunks end.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from core.sync.local_tables import sync_asset
from core.sync.media_client import MediaConnection
from core.sync.media_protocol import CHUNK_BYTES
from core.sync.media_uploads import PendingFile, PendingPublication
from core.sync.protocol import MAX_THUMBNAIL_B64_CHARS

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.sync.local_store import LocalStore
    from core.sync.media_cache import MediaCache
    from core.sync.media_uploads import PendingUploads

# What one asset may list (the asset's event stays far below the protocol's message limit).
MAX_FILES_PER_ASSET = 1000


@dataclass(frozen=True)
class MediaFile:
    name: str
    sha256: str
    size: int
    role: str = "original"  # core.media.review_media.ReviewRole


@dataclass(frozen=True)
class TransferProgress:
    file_index: int
    files: int
    done_bytes: int  # of the whole publication or fetch
    total_bytes: int


@dataclass(frozen=True)
class PublishReport:
    asset_id: str
    files: list[MediaFile]
    sent_bytes: int
    resumed_files: int
    already_in_project: int
    deduplicated: int
    seconds: float
    project_bytes: int
    quota_bytes: int


@dataclass(frozen=True)
class FetchReport:
    paths: list[Path]
    received_bytes: int
    from_cache: int
    seconds: float


def sha256_file(path: Path, block: int = 8 << 20) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as stream:
        while data := stream.read(block):
            hasher.update(data)
    return hasher.hexdigest()


def prepare(
    pending: PendingUploads,
    project: int,
    name: str,
    kind: str,
    content_hash: str,
    files: list[Path],
    catalog_asset: int | None = None,
    *,
    roles: list[str] | None = None,
    review: dict[str, Any] | None = None,
    thumbnail: str | None = None,
) -> PendingPublication:
    """The publication of these files, hashed (a file unchanged since an interrupted attempt keeps its
    hash from then), and stored as pending before anything is sent. ``roles`` says what each file is
    (all originals when not given); ``review`` describes the review file."""
    roles = roles or ["original"] * len(files)
    if len(roles) != len(files):
        raise ValueError("one role per file")
    if not files:
        raise ValueError("nothing to publish: no files")
    if len(files) > MAX_FILES_PER_ASSET:
        raise ValueError(f"an asset can publish at most {MAX_FILES_PER_ASSET} files")
    key = f"{project}:{content_hash}"
    earlier = {f.path: f for p in pending.all() if p.key == key for f in p.files}
    prepared = []
    for path, role in zip(files, roles, strict=True):
        info = path.stat()
        known = earlier.get(str(path))
        if known is not None and known.size == info.st_size and known.mtime_ns == info.st_mtime_ns:
            prepared.append(replace(known, role=role))
        else:
            prepared.append(PendingFile(str(path), sha256_file(path), info.st_size, info.st_mtime_ns, role))
    publication = PendingPublication(
        key,
        project,
        name[:200],
        kind[:32],
        content_hash,
        prepared,
        catalog_asset,
        dict(review or {}),
        thumbnail,
    )
    pending.add(publication)
    return publication


async def publish(
    store: LocalStore,
    url: str,
    token: str,
    publication: PendingPublication,
    pending: PendingUploads,
    *,
    ca_file: str = "",
    chunk_bytes: int = CHUNK_BYTES,
    on_progress: Callable[[TransferProgress], None] | None = None,
) -> PublishReport:
    """Upload the publication's files, record them on the asset (queued for the server), and forget
    the pending entry. Raises ``MediaTransferError`` when the server refuses, ``ConnectionError`` when
    the connection is cut (the pending entry stays: run it again to go on)."""
    started = time.perf_counter()
    total = sum(f.size for f in publication.files)
    done_before = 0
    sent = resumed = already = deduplicated = 0
    used = quota = 0
    async with await MediaConnection.open(url, token, ca_file) as connection:
        for index, file in enumerate(publication.files):
            path = Path(file.path)
            if path.stat().st_mtime_ns != file.mtime_ns:
                raise ValueError(f"{path} changed while it was being published; publish it again")

            def progress(done: int, _size: int, base: int = done_before, position: int = index) -> None:
                if on_progress is not None:
                    on_progress(TransferProgress(position, len(publication.files), base + done, total))

            result = await connection.upload(
                publication.project, path, file.sha256, path.name, chunk_bytes, progress
            )
            done_before += file.size
            sent += result.sent_bytes
            resumed += int(result.resumed_from_chunk > 0 and not result.already_in_project)
            already += int(result.already_in_project)
            deduplicated += int(result.deduplicated and not result.already_in_project)
            used, quota = max(used, result.project_bytes), max(quota, result.quota_bytes)
    files = [MediaFile(Path(f.path).name, f.sha256, f.size, f.role) for f in publication.files]
    asset_id = record_media(store, publication, files)
    pending.done(publication.key)
    return PublishReport(
        asset_id, files, sent, resumed, already, deduplicated, time.perf_counter() - started, used, quota
    )


def _asset_row(store: LocalStore, asset_id: str) -> Any:
    with store.engine.connect() as connection:
        return connection.execute(sa.select(sync_asset).where(sync_asset.c.id == asset_id)).one_or_none()


def record_media(store: LocalStore, publication: PendingPublication, files: list[MediaFile]) -> str:
    """Queue the asset's new record with ``metadata["media"]`` listing the published files (what it
    had besides is kept)."""
    project, content_hash = publication.project, publication.content_hash
    thumbnail = thumbnail_b64(publication.thumbnail)
    asset_id = store.ensure_asset(project, publication.name, publication.kind, content_hash, None, thumbnail)
    row = _asset_row(store, asset_id)
    metadata = json.loads(row.metadata) if row is not None and row.metadata else {}
    metadata["media"] = {
        "files": [{"name": f.name, "sha256": f.sha256, "size": f.size, "role": f.role} for f in files],
        "bytes": sum(f.size for f in files),
    }
    if publication.review:
        metadata["media"]["review"] = publication.review
    return store.publish_asset(
        project,
        row.name if row is not None else publication.name,
        row.kind if row is not None else publication.kind,
        content_hash,
        metadata,
        (row.thumbnail_b64 if row is not None else None) or thumbnail,
        asset_id,
    )


def thumbnail_b64(path: str | None) -> str | None:
    """A thumbnail file as the asset record carries it, or None when there is none or it is too big."""
    if not path:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    encoded = base64.b64encode(data).decode("ascii")
    return encoded if len(encoded) <= MAX_THUMBNAIL_B64_CHARS else None


def media_files(metadata: dict[str, Any]) -> list[MediaFile]:
    """The published files an asset's metadata lists (none when it lists nothing readable)."""
    media = metadata.get("media")
    listed = media.get("files") if isinstance(media, dict) else None
    if not isinstance(listed, list):
        return []
    found = []
    for item in listed:
        if (
            isinstance(item, dict)
            and isinstance(item.get("sha256"), str)
            and isinstance(item.get("size"), int)
        ):
            role = item.get("role")
            found.append(
                MediaFile(
                    str(item.get("name", "")),
                    item["sha256"],
                    item["size"],
                    role if isinstance(role, str) else "original",
                )
            )
    return found


def review_info(metadata: dict[str, Any]) -> dict[str, Any]:
    """What the publisher said of the review file (kind, frames, fps, size); {} when nothing."""
    media = metadata.get("media")
    review = media.get("review") if isinstance(media, dict) else None
    return review if isinstance(review, dict) else {}


@dataclass(frozen=True)
class PublishedAsset:
    asset_id: str
    project: int
    name: str
    kind: str
    files: list[MediaFile]
    content_hash: str = ""
    review: dict[str, Any] | None = None
    thumbnail_b64: str | None = None


def published_assets(store: LocalStore, project: int) -> list[PublishedAsset]:
    """The project's assets that have published media, as this client has heard of them."""
    query = (
        sa.select(
            sync_asset.c.id,
            sync_asset.c.name,
            sync_asset.c.kind,
            sync_asset.c.metadata,
            sync_asset.c.content_hash,
            sync_asset.c.thumbnail_b64,
        )
        .where(sync_asset.c.project_id == project, sync_asset.c.metadata.like('%"media"%'))
        .order_by(sync_asset.c.name, sync_asset.c.id)
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    found = []
    for row in rows:
        metadata = json.loads(row.metadata or "{}")
        files = media_files(metadata)
        if files:
            found.append(
                PublishedAsset(
                    row.id,
                    project,
                    row.name,
                    row.kind,
                    files,
                    row.content_hash,
                    review_info(metadata),
                    row.thumbnail_b64,
                )
            )
    return found


def review_files(files: list[MediaFile]) -> list[MediaFile]:
    """What reviewing needs: everything but the originals sent along (all of them when the asset was
    published as originals only)."""
    return [f for f in files if f.role != "original"] or files


def local_state(cache: MediaCache, asset: PublishedAsset) -> str:
    """``downloaded`` when what reviewing needs is in the cache, else ``remote`` (the badge)."""
    here = all(cache.path(f.sha256, f.name).is_file() for f in review_files(asset.files))
    return "downloaded" if here else "remote"


async def fetch(
    url: str,
    token: str,
    project: int,
    files: list[MediaFile],
    cache: MediaCache,
    *,
    ca_file: str = "",
    on_progress: Callable[[TransferProgress], None] | None = None,
) -> FetchReport:
    """Bring the files into the cache (those there already are only marked used); an interrupted
    fetch goes on from its last verified chunk the next time."""
    started = time.perf_counter()
    total = sum(f.size for f in files)
    paths: list[Path] = []
    received = from_cache = done_before = 0
    missing = [f for f in files if cache.get(f.sha256, f.name) is None]
    connection = await MediaConnection.open(url, token, ca_file) if missing else None
    try:
        for index, file in enumerate(files):
            cached = cache.get(file.sha256, file.name)
            if cached is None:
                assert connection is not None

                def progress(done: int, _size: int, base: int = done_before, position: int = index) -> None:
                    if on_progress is not None:
                        on_progress(TransferProgress(position, len(files), base + done, total))

                received += await connection.download(
                    project, file.sha256, cache.partial(file.sha256), progress
                )
                cached = cache.commit(file.sha256, file.name)
            else:
                from_cache += 1
            paths.append(cached)
            done_before += file.size
    finally:
        if connection is not None:
            await connection.close()
    return FetchReport(paths, received, from_cache, time.perf_counter() - started)


def run_fetch(
    url: str,
    token: str,
    project: int,
    files: list[MediaFile],
    cache: MediaCache,
    ca_file: str = "",
    on_progress: Callable[[TransferProgress], None] | None = None,
) -> FetchReport:
    """``fetch`` on an event loop of its own, for a worker thread (``on_progress`` is called there)."""
    return asyncio.run(fetch(url, token, project, files, cache, ca_file=ca_file, on_progress=on_progress))
