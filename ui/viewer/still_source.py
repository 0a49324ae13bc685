"""Which file shows an asset as a still in the viewer, and what the viewer says when there is none.

Images and sequences show their own pixels (a sequence its first frame) through the full media decoder,
so the media limits apply; geometry shows its best render and video its poster frame, products the app
made itself and decodes as plain pictures.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.media.kinds import AssetKind
from ui.common.files import asset_files
from ui.common.formatting import KIND_LABELS
from ui.viewer.viewer_parts import newest_file

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.media.limits import MediaLimits

# Best first: what to show for geometry (renders) and video (poster) instead of decoding the file.
GEOMETRY_ARTIFACTS = ("preview", "render_thumbnail", "thumbnail")
VIDEO_ARTIFACTS = ("poster", "thumbnail")


def still_for(
    record: AssetRecord, catalog: Catalog, limits: MediaLimits
) -> tuple[Path | None, MediaLimits | None]:
    """What file to decode for this asset, and whether it needs the full media decoder."""
    if record.kind == AssetKind.IMAGE:
        return Path(record.path), limits
    if record.kind == AssetKind.SEQUENCE:
        return asset_files(record)[0], limits
    wanted = GEOMETRY_ARTIFACTS if record.kind == AssetKind.GEOMETRY else VIDEO_ARTIFACTS
    artifacts = catalog.artifacts(record.id)
    for kind in wanted:
        path = newest_file(artifacts, kind)
        if path is not None:
            return path, None
    if record.thumbnail:
        return Path(record.thumbnail), None
    return None, None


def nothing_to_show(record: AssetRecord) -> str:
    if record.status == "failed":
        return f"{record.name} failed:\n{record.error or 'no details'}"
    if record.status == "pending":
        return f"{record.name} is still being processed; its preview appears when ready."
    return f"No preview for {KIND_LABELS.get(record.kind, record.kind).lower()} files yet."
