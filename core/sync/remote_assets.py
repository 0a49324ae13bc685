"""Assets a teammate published, in this machine's catalog: a tile in the grid before a byte is fetched.

A published asset (``metadata.media`` on its synced record) whose content the linked local project
does not hold becomes a catalog asset of that project: the same content hash (so its notes, review
status and tasks are the ones the team sees), the thumbnail its record carried, and a path in the
media cache where its review file lands once fetched. ``metadata["remote"]`` says where it comes from
and whether it is here (``state``), which is all the grid's badge reads: painting does no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.catalog.records import NewAsset
from core.media.kinds import AssetKind
from core.sync.media_publish import MediaFile, PublishedAsset, published_assets

if TYPE_CHECKING:
    from collections.abc import Mapping

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.sync.local_store import LocalStore
    from core.sync.media_cache import MediaCache

log = logging.getLogger(__name__)

REMOTE_KEY = "remote"
REMOTE, DOWNLOADED = "remote", "downloaded"
_VIEWABLE = frozenset({AssetKind.IMAGE, AssetKind.VIDEO, AssetKind.GEOMETRY})
# Geometry renders fetched with the asset become catalog artifacts of these kinds (the viewer's).
_RENDER_ROLES = ("preview", "turntable")


@dataclass(frozen=True)
class RemoteInfo:
    """``metadata["remote"]`` of a catalog asset, read back."""

    server_project: int
    asset_id: str  # the synced record's id
    state: str  # REMOTE or DOWNLOADED
    files: list[MediaFile]

    @property
    def downloaded(self) -> bool:
        return self.state == DOWNLOADED


def view_file(asset: PublishedAsset) -> MediaFile | None:
    """The file the viewer opens: the review file, or a lone original from before review media."""
    review = [f for f in asset.files if f.role == "review"]
    originals = [f for f in asset.files if f.role == "original"]
    if review:
        return review[0]
    return originals[0] if len(originals) == 1 else None


def view_kind(asset: PublishedAsset) -> AssetKind:
    stated = (asset.review or {}).get("kind", asset.kind)
    try:
        kind = AssetKind(stated)
    except ValueError:
        return AssetKind.OTHER
    return kind if kind in _VIEWABLE else AssetKind.OTHER


def remote_info(record: AssetRecord) -> RemoteInfo | None:
    """The asset's remote origin, or None for an ordinary local asset."""
    data = record.metadata.get(REMOTE_KEY)
    if not isinstance(data, dict):
        return None
    files = [
        MediaFile(str(f["name"]), str(f["sha256"]), int(f["size"]), str(f.get("role", "original")))
        for f in data.get("files", [])
        if isinstance(f, dict) and {"name", "sha256", "size"} <= f.keys()
    ]
    return RemoteInfo(
        int(data.get("server_project", 0)), str(data.get("asset_id", "")), str(data.get("state")), files
    )


def is_remote(record: AssetRecord) -> bool:
    """True for a teammate's asset whose media are not on this machine (the grid's cloud badge)."""
    info = remote_info(record)
    return info is not None and not info.downloaded


def needs_fetch(record: AssetRecord) -> bool:
    """Whether opening the asset must fetch it first: remote, or downloaded once and since evicted
    from the size-capped cache (a file check: call it on an action, never while painting)."""
    info = remote_info(record)
    return info is not None and (not info.downloaded or not Path(record.path).is_file())


def _remote_metadata(asset: PublishedAsset, state: str) -> dict[str, Any]:
    return {
        "server_project": asset.project,
        "asset_id": asset.asset_id,
        "state": state,
        "files": [{"name": f.name, "sha256": f.sha256, "size": f.size, "role": f.role} for f in asset.files],
        "review": asset.review or {},
    }


def _write_thumbnail(thumbnail_dir: Path, content_hash: str, encoded: str | None) -> str | None:
    if not encoded:
        return None
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        log.warning("event=remote_thumbnail_unreadable hash=%s", content_hash)
        return None
    target = thumbnail_dir / content_hash[:2] / f"{content_hash}_remote.jpg"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, target)
    return str(target)


class SeenPublications:
    """The publications already put into the catalog ("local project:synced asset id" -> the review
    file's sha256), in a JSON file: an asset the user deleted from the grid stays deleted until it is
    published again with other media."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def write(self, seen: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".part")
        partial.write_text(json.dumps(seen), encoding="utf-8")
        os.replace(partial, self.path)


def _review_sha(asset: PublishedAsset) -> str:
    review = view_file(asset)
    return review.sha256 if review is not None else ""


def add_remote_assets(
    catalog: Catalog,
    store: LocalStore,
    links: Mapping[int, int],
    cache: MediaCache,
    thumbnail_dir: Path,
    seen: SeenPublications | None = None,
) -> list[int]:
    """Put the published assets the linked local projects lack into them (with ``seen``, only those
    not put there before with the same media) and bring the ones added before up to date when
    republished; returns the catalog ids added or changed."""
    changed: list[int] = []
    before = seen.read() if seen is not None else {}
    now = dict(before)
    for local, server in sorted(links.items()):
        assets = [a for a in published_assets(store, server) if a.content_hash and view_file(a)]
        held = catalog.existing_hashes(local, [a.content_hash for a in assets])
        # Keyed by local project too: linking the show to another local project shows it all there.
        keys = {a.asset_id: f"{local}:{a.asset_id}" for a in assets}
        new = [
            a for a in assets if a.content_hash not in held and before.get(keys[a.asset_id]) != _review_sha(a)
        ]
        now.update({keys[a.asset_id]: _review_sha(a) for a in assets})
        added = catalog.add_assets([_new_asset(local, a, cache) for a in new])
        for asset in new:
            asset_id = added.get(asset.content_hash)
            if asset_id is not None:
                thumbnail = _write_thumbnail(thumbnail_dir, asset.content_hash, asset.thumbnail_b64)
                catalog.set_thumbnail(asset_id, thumbnail, "ready")
                changed.append(asset_id)
        changed += _republished(catalog, [a for a in assets if a.content_hash in held], held, cache)
    if seen is not None and now != before:
        seen.write(now)
    if changed:
        log.info("event=remote_assets_added_or_updated count=%d", len(changed))
    return changed


def _new_asset(project: int, asset: PublishedAsset, cache: MediaCache) -> NewAsset:
    review = view_file(asset)
    assert review is not None
    return NewAsset(
        project_id=project,
        name=asset.name,
        path=str(cache.path(review.sha256, review.name)),
        kind=view_kind(asset),
        content_hash=asset.content_hash,
        size_bytes=review.size,
        metadata={REMOTE_KEY: _remote_metadata(asset, REMOTE)},
    )


def _republished(
    catalog: Catalog, assets: list[PublishedAsset], held: Mapping[str, int], cache: MediaCache
) -> list[int]:
    """Remote entries whose teammate published other files since: they point at the new ones."""
    records = {r.id: r for r in catalog.get_assets([held[a.content_hash] for a in assets])}
    moves: dict[int, tuple[str, dict[str, Any]]] = {}
    for asset in assets:
        record = records.get(held[asset.content_hash])
        info = remote_info(record) if record is not None else None
        if record is None or info is None or info.files == asset.files:
            continue  # the user's own file, or nothing new
        review = view_file(asset)
        assert review is not None
        metadata = {**record.metadata, REMOTE_KEY: _remote_metadata(asset, REMOTE)}
        moves[record.id] = (str(cache.path(review.sha256, review.name)), metadata)
    if moves:
        catalog.move_assets(moves)
    return list(moves)


def mark_downloaded(
    catalog: Catalog, record: AssetRecord, files: list[MediaFile], paths: list[Path]
) -> AssetRecord:
    """These files of the asset are in the cache (at ``paths``): the tile loses its badge, geometry
    renders become the viewer's artifacts. Returns the record as it is now."""
    info = remote_info(record)
    if info is None:
        return record
    for file, path in zip(files, paths, strict=True):
        if file.role in _RENDER_ROLES:
            catalog.add_artifact(record.id, file.role, str(path), meta={"remote": True})
    data = dict(record.metadata[REMOTE_KEY])
    data["state"] = DOWNLOADED
    catalog.update_metadata(record.id, {REMOTE_KEY: data})
    updated = catalog.get_asset(record.id)
    return updated if updated is not None else record
