"""What publishing a catalog asset sends: its review media (``core.media.review_media``), its renders,
and the original only when asked, prepared as a pending publication (``core.sync.media_publish``).

The review file's description (how it is viewed, frames, rate, size) travels in the asset's record
(``metadata.media.review``), so a teammate's client can show and check it before fetching a byte.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.media.review_media import ReviewRole, make_review_media
from core.sync.media_publish import prepare, publish

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from core.catalog.records import ArtifactRecord, AssetRecord
    from core.media.limits import MediaLimits
    from core.sync.local_store import LocalStore
    from core.sync.media_publish import PublishReport, TransferProgress
    from core.sync.media_uploads import PendingPublication, PendingUploads

# Catalog artifact kinds published with a geometry asset, under the role of the same name.
RENDER_ROLES = (ReviewRole.PREVIEW.value, ReviewRole.TURNTABLE.value)


def review_dir(cache_dir: Path, content_hash: str) -> Path:
    """Where an asset's review media are made (and kept, so a resumed publication sends the same bytes)."""
    return cache_dir / "review" / content_hash[:2] / content_hash


def newest_renders(artifacts: Sequence[ArtifactRecord]) -> dict[str, Path]:
    """The newest preview and turntable whose files are still there, by artifact kind."""
    found: dict[str, Path] = {}
    for artifact in sorted(artifacts, key=lambda a: a.created_at):
        if artifact.kind in RENDER_ROLES and Path(artifact.path).is_file():
            found[artifact.kind] = Path(artifact.path)
    return found


def review_publication(
    pending: PendingUploads,
    server_project: int,
    asset: AssetRecord,
    artifacts: Sequence[ArtifactRecord],
    cache_dir: Path,
    limits: MediaLimits,
    *,
    include_original: bool = False,
    on_progress: Callable[[float], None] | None = None,
) -> PendingPublication:
    """Make the asset's review media (a video proxy takes a while: call it off the UI thread) and
    store the publication as pending. Raises ``FileNotFoundError`` when the asset's files are not on
    this machine, a ``MediaError`` or ``ValueError`` when they cannot be made into review media."""
    from core.ingest import sequence_frames

    frames = list(sequence_frames(asset.metadata)) if asset.is_sequence else []
    source = frames[0] if frames else Path(asset.path)
    missing = [str(f) for f in (frames or [source]) if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"The asset's files are not on this machine: {', '.join(missing[:3])}")
    media = make_review_media(
        source,
        asset.kind,
        review_dir(cache_dir, asset.content_hash),
        limits,
        frames=frames,
        renders=newest_renders(artifacts),
        include_original=include_original,
        on_progress=on_progress,
    )
    return prepare(
        pending,
        server_project,
        asset.name,
        asset.kind,
        asset.content_hash,
        [f.path for f in media.files],
        asset.id,
        roles=[f.role.value for f in media.files],
        review={"kind": media.kind.value, **media.info},
        thumbnail=asset.thumbnail,
    )


@dataclass(frozen=True)
class ReviewPublishRequest:
    """Everything one publication from the app needs, gathered on the UI thread."""

    store: LocalStore
    url: str
    token: str
    ca_file: str
    pending: PendingUploads
    server_project: int
    asset: AssetRecord
    artifacts: tuple[ArtifactRecord, ...]
    cache_dir: Path
    limits: MediaLimits
    include_original: bool = False


@dataclass(frozen=True)
class PublishStage:
    """Where a publication from the app is: ``making`` its review media, then ``sending`` them."""

    stage: str
    fraction: float  # of this stage, 0..1
    done_bytes: int = 0
    total_bytes: int = 0


def run_review_publication(
    request: ReviewPublishRequest, on_progress: Callable[[PublishStage], None] | None = None
) -> PublishReport:
    """Make the review media, then publish them: the whole of File ▸ Publish, for a worker thread
    (``on_progress`` is called there)."""

    def making(fraction: float) -> None:
        if on_progress is not None:
            on_progress(PublishStage("making", fraction))

    def sending(progress: TransferProgress) -> None:
        if on_progress is not None:
            total = max(1, progress.total_bytes)
            on_progress(PublishStage("sending", progress.done_bytes / total, progress.done_bytes, total))

    publication = review_publication(
        request.pending,
        request.server_project,
        request.asset,
        request.artifacts,
        request.cache_dir,
        request.limits,
        include_original=request.include_original,
        on_progress=making,
    )
    return asyncio.run(
        publish(
            request.store,
            request.url,
            request.token,
            publication,
            request.pending,
            ca_file=request.ca_file,
            on_progress=sending,
        )
    )
