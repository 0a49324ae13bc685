"""The asset a job works on, as a step sees it: read from the catalog when the job starts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.ingest import sequence_frames
from core.jobs.steps import AssetRef

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog


def asset_ref(catalog: Catalog, asset_id: int) -> AssetRef | None:
    """None when the asset was removed meanwhile."""
    record = catalog.get_asset(asset_id)
    if record is None:
        return None
    frames: tuple[Path, ...] = sequence_frames(record.metadata) if record.is_sequence else ()
    return AssetRef(
        id=record.id,
        path=Path(record.path),
        kind=record.kind,
        content_hash=record.content_hash,
        metadata=record.metadata,
        frames=frames,
    )
