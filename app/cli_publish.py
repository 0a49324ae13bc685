"""``stratopipe publish|fetch``: review media between teammates, from scripts and render nodes.

``publish`` uploads an asset's files (a catalog asset, its frames for a sequence, or a file or folder
given by path) to the project's server, resumably, then sends the asset's record so every teammate
learns of it; an interrupted publish goes on with ``publish --resume`` (or the same command again).
``fetch`` pulls the project's records, then downloads an asset's published files into the size-capped
media cache (``--out`` copies them out). Exit codes as for ``stratopipe sync``: 0 done, 1 failed
(network), 2 usage, 3 refused (not signed in, role, membership, quota).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_output import EXIT_FATAL, EXIT_OK, UsageError
from app.cli_tokens import Failed, Refused, signed_in_token

if TYPE_CHECKING:
    import argparse

    from app.runtime import Runtime
    from core.media.limits import MediaLimits
    from core.sync.client import OnceGoal
    from core.sync.local_store import LocalStore
    from core.sync.media_cache import MediaCache
    from core.sync.media_publish import PublishedAsset, PublishReport
    from core.sync.media_uploads import PendingPublication, PendingUploads

EXIT_REFUSED = 3
MEDIA_COMMANDS = ("publish", "fetch")
# Server refusals a user fixes by asking someone (role, membership, quota), not by trying again.
_REFUSED_CODES = frozenset(
    {
        "forbidden",
        "not_member",
        "quota_exceeded",
        "too_large",
        "not_found",
        "auth_failed",
        "token_revoked",
        "token_expired",
    }
)


def add_parsers(commands: Any) -> None:
    publish = commands.add_parser(
        "publish", help="publish an asset's files to its shared project (resumable)"
    )
    publish.add_argument("target", nargs="?", help="catalog asset id, or a file or folder (with --project)")
    publish.add_argument("--project", help="local project name (linked to a server project)")
    publish.add_argument("--resume", action="store_true", help="go on with interrupted publications")
    publish.add_argument("--chunk-mib", type=int, default=1, help="chunk size in MiB (default 1)")
    publish.add_argument(
        "--original",
        action="store_true",
        help="send the original file(s) too, besides the review media (preview, H.264 proxy, GLB)",
    )
    fetch = commands.add_parser("fetch", help="download an asset's published files into the media cache")
    fetch.add_argument("asset", nargs="?", help="server asset id or name (see --list)")
    fetch.add_argument("--project", required=True, help="local project name (linked to a server project)")
    fetch.add_argument("--list", action="store_true", help="list the project's published assets")
    fetch.add_argument("--out", dest="copy_to", type=Path, help="also copy the files into this folder")
    fetch.add_argument("--no-pull", action="store_true", help="use the records known here, do not pull")
    for parser in (publish, fetch):
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--token-file", type=Path, help="token file for machines without a keyring")
        parser.add_argument("--timeout", type=float, default=3600.0, help="seconds")


def run_media_sync_command(runtime: Runtime, args: argparse.Namespace) -> int:
    from app.cli_sync import _print
    from core.sync.local_store import LocalStore
    from core.sync.media_client import MediaTransferError

    store = LocalStore(runtime.paths.catalog_file)
    try:
        handler = cmd_publish if args.command == "publish" else cmd_fetch
        result = handler(runtime, store, args)
    except MediaTransferError as exc:
        print(f"stratopipe {args.command}: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED if exc.code in _REFUSED_CODES else EXIT_FATAL
    except Refused as exc:
        print(f"stratopipe {args.command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Failed as exc:
        print(f"stratopipe {args.command}: {exc}", file=sys.stderr)
        return EXIT_FATAL
    finally:
        store.close()
    _print(args, result)
    return EXIT_OK


def _pending(runtime: Runtime) -> PendingUploads:
    from core.sync.media_uploads import PendingUploads

    return PendingUploads(runtime.paths.data_dir / "media-uploads.json")


def _cache(runtime: Runtime) -> MediaCache:
    from core.sync.media_cache import MediaCache

    return MediaCache(runtime.paths.cache_dir / "media", runtime.settings.media_cache_mb << 20)


def _linked(runtime: Runtime, local_project: int, name: str) -> int:
    from core.sync.links import ProjectLinks

    linked = ProjectLinks.in_config_dir(runtime.paths.config_dir).server_project(local_project)
    if linked is None:
        raise Failed(f"project {name!r} is not shared: `stratopipe sync link --project … --server-project …`")
    return linked


def _local_project(runtime: Runtime, name: str | None) -> tuple[int, str]:
    if not name:
        raise UsageError("give --project (the local project the files belong to)")
    project = runtime.catalog.project_by_name(name)
    if project is None:
        raise UsageError(f"no local project named {name!r} (see `stratopipe projects`)")
    return project.id, name


def _publication(runtime: Runtime, args: argparse.Namespace) -> PendingPublication:
    """The review media of a catalog asset, or of a file given by path (a folder goes as it is)."""
    from core.media.errors import MediaError
    from core.media.hashing import content_hash, sequence_hash
    from core.media.limits import MediaLimits
    from core.sync.media_publish import prepare

    target: str = args.target
    limits = MediaLimits.from_settings(runtime.settings)
    try:
        if target.isdigit() and not Path(target).exists():
            return _asset_publication(runtime, int(target), limits, args.original)
        path = Path(target).expanduser().resolve()
        local, name = _local_project(runtime, args.project)
        server = _linked(runtime, local, name)
        if path.is_file():
            return _file_publication(runtime, server, path, content_hash(path), limits, args.original)
        if not path.is_dir():
            raise UsageError(f"{target} is neither a catalog asset id nor a file or folder")
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        return prepare(_pending(runtime), server, path.name, "sequence", sequence_hash(files), files)
    except FileNotFoundError as exc:
        raise Failed(str(exc)) from exc
    except (MediaError, ValueError) as exc:
        raise UsageError(str(exc)) from exc


def _asset_publication(
    runtime: Runtime, asset_id: int, limits: MediaLimits, original: bool
) -> PendingPublication:
    from core.sync.review_publish import review_publication

    asset = runtime.catalog.get_asset(asset_id)
    if asset is None:
        raise UsageError(f"no asset {asset_id} in the catalog (see `stratopipe assets --project …`)")
    server = _linked(runtime, asset.project_id, f"#{asset.project_id}")
    artifacts = runtime.catalog.artifacts(asset.id)
    return review_publication(
        _pending(runtime),
        server,
        asset,
        artifacts,
        runtime.paths.cache_dir,
        limits,
        include_original=original,
    )


def _file_publication(
    runtime: Runtime, server: int, path: Path, identity: str, limits: MediaLimits, original: bool
) -> PendingPublication:
    """A file outside the catalog: its review media when it is a picture, a clip or a model."""
    from core.media.kinds import AssetKind, detect_kind
    from core.media.review_media import make_review_media
    from core.sync.media_publish import prepare
    from core.sync.review_publish import review_dir

    kind = detect_kind(path)
    if kind not in (AssetKind.IMAGE, AssetKind.VIDEO, AssetKind.GEOMETRY):
        return prepare(_pending(runtime), server, path.name, "file", identity, [path])
    media = make_review_media(
        path, kind, review_dir(runtime.paths.cache_dir, identity), limits, include_original=original
    )
    return prepare(
        _pending(runtime),
        server,
        path.name,
        kind.value,
        identity,
        [f.path for f in media.files],
        roles=[f.role.value for f in media.files],
        review={"kind": media.kind.value, **media.info},
    )


def cmd_publish(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.media_publish import publish

    if args.resume == bool(args.target):
        raise UsageError("give an asset id or path to publish, or --resume (not both)")
    token = signed_in_token(runtime, args)
    if store.current_user_id() is None:
        raise Refused("not signed in: `stratopipe sync login …`")
    pending = _pending(runtime)
    publications = pending.all() if args.resume else [_publication(runtime, args)]
    settings = runtime.settings
    reports: list[PublishReport] = []
    for publication in publications:
        coroutine = publish(
            store,
            settings.server_url,
            token,
            publication,
            pending,
            ca_file=settings.ca_file,
            chunk_bytes=args.chunk_mib << 20,
        )
        reports.append(_within(coroutine, args.timeout))
    pushed = _push(runtime, store, token, args.timeout)
    sent = sum(r.sent_bytes for r in reports)
    seconds = sum(r.seconds for r in reports)
    return {
        "published": [
            {
                "asset": r.asset_id,
                "files": [f.__dict__ for f in r.files],
                "sent_bytes": r.sent_bytes,
                "resumed_files": r.resumed_files,
                "already_in_project": r.already_in_project,
                "deduplicated": r.deduplicated,
                "project_bytes": r.project_bytes,
                "quota_bytes": r.quota_bytes,
            }
            for r in reports
        ],
        "sent_bytes": sent,
        "seconds": round(seconds, 3),
        "mb_per_s": round(sent / 1e6 / seconds, 1) if seconds > 0 and sent else None,
        "pushed": pushed,
    }


def _within(coroutine: Any, timeout: float) -> Any:
    try:
        return asyncio.run(asyncio.wait_for(coroutine, timeout))
    except TimeoutError as exc:
        raise Failed(f"the transfer did not finish within {timeout:g} s; run it again to go on") from exc
    except (ConnectionError, OSError) as exc:
        raise Failed(f"{exc}; run it again to go on from where it stopped") from exc


def _push(runtime: Runtime, store: LocalStore, token: str, timeout: float, goal: OnceGoal = "pushed") -> bool:
    """Send the asset records (or catch up); False when the server could not be reached (they stay
    queued for the next ``sync push`` or the app)."""
    from core.sync.client import SyncClient
    from core.sync.client_events import AuthError

    settings = runtime.settings
    client = SyncClient(store, settings.server_url, token, ca_file=settings.ca_file)
    try:
        asyncio.run(asyncio.wait_for(client.run_once(goal), min(timeout, 120.0)))
    except AuthError as exc:
        raise Refused(f"the server refused the sign-in ({exc.message}): sign in again") from exc
    except (TimeoutError, ConnectionError, OSError) as exc:
        print(f"warning: could not reach the server ({exc}); the records stay queued", file=sys.stderr)
        return False
    return True


def _into_catalog(
    runtime: Runtime,
    store: LocalStore,
    local: int,
    server: int,
    asset: PublishedAsset,
    cache: MediaCache,
    paths: list[Path],
) -> int | None:
    """The fetched asset in the local project's catalog, shown downloaded (the app's grid, the
    viewer); None when the project holds the user's own file of that content."""
    from core.sync.remote_assets import add_remote_assets, mark_downloaded, remote_info

    catalog = runtime.catalog
    add_remote_assets(catalog, store, {local: server}, cache, runtime.paths.thumbnail_dir)
    held = catalog.existing_hashes(local, [asset.content_hash]).get(asset.content_hash)
    record = catalog.get_asset(held) if held is not None else None
    if record is None or remote_info(record) is None:
        return None
    return mark_downloaded(catalog, record, asset.files, paths).id


def cmd_fetch(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> Any:
    from core.sync.media_publish import fetch, local_state, published_assets

    token = signed_in_token(runtime, args)
    local, name = _local_project(runtime, args.project)
    server = _linked(runtime, local, name)
    if not args.no_pull:
        _push(runtime, store, token, args.timeout, "caught_up")
    assets = published_assets(store, server)
    cache = _cache(runtime)
    if args.list:
        return [
            {
                "asset": a.asset_id,
                "name": a.name,
                "kind": a.kind,
                "files": len(a.files),
                "bytes": sum(f.size for f in a.files),
                "state": local_state(cache, a),
            }
            for a in assets
        ]
    if not args.asset:
        raise UsageError("name the asset to fetch (see `stratopipe fetch --list --project …`)")
    chosen = [a for a in assets if args.asset in (a.asset_id, a.name)]
    if len(chosen) != 1:
        found = "several assets" if chosen else "no published asset"
        raise UsageError(f"{found} match {args.asset!r} in project {name!r}; see `stratopipe fetch --list`")
    asset = chosen[0]
    settings = runtime.settings
    report = _within(
        fetch(settings.server_url, token, server, asset.files, cache, ca_file=settings.ca_file), args.timeout
    )
    copied = []
    if args.copy_to is not None:
        args.copy_to.mkdir(parents=True, exist_ok=True)
        for file, path in zip(asset.files, report.paths, strict=True):
            target = args.copy_to / Path(file.name).name
            shutil.copyfile(path, target)
            copied.append(str(target))
    return {
        "asset": asset.asset_id,
        "name": asset.name,
        "files": [
            {"name": f.name, "sha256": f.sha256, "size": f.size, "role": f.role, "path": str(p)}
            for f, p in zip(asset.files, report.paths, strict=True)
        ],
        "review": asset.review or {},
        "catalog_asset": _into_catalog(runtime, store, local, server, asset, cache, report.paths),
        "received_bytes": report.received_bytes,
        "from_cache": report.from_cache,
        "seconds": round(report.seconds, 3),
        "copied": copied,
    }
