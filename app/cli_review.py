"""``stratopipe playlist`` and ``stratopipe report``: review sessions from the command line.

    stratopipe playlist create "Dailies 12 May" --project Show 14 15 21
    stratopipe playlist list --project Show [--json]
    stratopipe playlist set-items "Dailies 12 May" --project Show 21 14
    stratopipe playlist delete "Dailies 12 May" --project Show
    stratopipe playlist shared --project Show [--json]
    stratopipe report "Dailies 12 May" --format html -o dailies.html

A playlist made, reordered or deleted here is shared with the project like a note (``sync push`` or the
app sends it; written offline first); ``shared`` lists the project's synced playlists, teammates'
included, with the items this machine lacks.

A report holds each item's review status and notes (this machine's notes: a linked project's synced
notes and a local project's private ones) and, in HTML, the noted frames with their drawings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_output import EXIT_OK, UsageError
from core.catalog.errors import CatalogError

if TYPE_CHECKING:
    import argparse

    from app.runtime import Runtime
    from core.catalog.playlists import PlaylistRecord
    from core.sync.local_store import LocalStore

COMMANDS = ("playlist", "report")


def add_parsers(commands: Any) -> None:
    playlist = commands.add_parser("playlist", help="review sessions: ordered lists of assets")
    actions = playlist.add_subparsers(dest="playlist_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a playlist of assets, in the order given")
    create.add_argument("name")
    create.add_argument("asset_ids", nargs="+", type=int, metavar="ASSET_ID")
    create.add_argument("--project", required=True)
    create.add_argument("--json", action="store_true")
    listing = actions.add_parser("list", help="a project's playlists")
    listing.add_argument("--project", required=True)
    listing.add_argument("--json", action="store_true")
    set_items = actions.add_parser(
        "set-items", help="replace a playlist's items (reorder), in the order given"
    )
    set_items.add_argument("name")
    set_items.add_argument("asset_ids", nargs="+", type=int, metavar="ASSET_ID")
    set_items.add_argument("--project", required=True)
    set_items.add_argument("--json", action="store_true")
    delete = actions.add_parser("delete", help="delete a playlist (here and, once synced, for the team)")
    delete.add_argument("name")
    delete.add_argument("--project", required=True)
    delete.add_argument("--json", action="store_true")
    shared = actions.add_parser("shared", help="the project's synced playlists, teammates' included")
    shared.add_argument("--project", required=True)
    shared.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="a playlist's items in order")
    show.add_argument("name")
    show.add_argument("--project", default=None)
    show.add_argument("--json", action="store_true")

    report = commands.add_parser("report", help="export a playlist's review report (HTML or CSV)")
    report.add_argument("playlist", help="playlist name")
    report.add_argument("--project", default=None, help="needed only when two projects share the name")
    report.add_argument("--format", choices=("html", "csv"), default="html")
    report.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    report.add_argument("--json", action="store_true", help="print a JSON summary")


def run_review_command(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.command == "report":
        return _report(runtime, args)
    handler = {
        "create": _create,
        "list": _list,
        "show": _show,
        "set-items": _set_items,
        "delete": _delete,
        "shared": _shared,
    }[args.playlist_action]
    return handler(runtime, args)


def _project_id(runtime: Runtime, name: str) -> int:
    project = runtime.catalog.project_by_name(name)
    if project is None:
        raise UsageError(f"no project named {name!r} (see `stratopipe projects`)")
    return project.id


def _find(runtime: Runtime, name: str, project: str | None) -> PlaylistRecord:
    playlists = runtime.catalog.playlists
    if project is not None:
        found = playlists.by_name(_project_id(runtime, project), name)
        if found is None:
            raise UsageError(f"no playlist named {name!r} in project {project!r}")
        return found
    matches = [
        p for p in (playlists.by_name(pr.id, name) for pr in runtime.catalog.list_projects()) if p is not None
    ]
    if not matches:
        raise UsageError(f"no playlist named {name!r} (see `stratopipe playlist list --project …`)")
    if len(matches) > 1:
        raise UsageError(f"{len(matches)} projects have a playlist named {name!r}: say which with --project")
    return matches[0]


def _create(runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        created = runtime.catalog.playlists.create(
            _project_id(runtime, args.project), args.name, args.asset_ids
        )
    except CatalogError as exc:
        raise UsageError(str(exc)) from exc
    _share(runtime, created.project_id, created.name)
    _print(args, {"id": created.id, "name": created.name, "items": created.item_count},
           f"Playlist {created.name!r}: {created.item_count} items")  # fmt: skip
    return EXIT_OK


def _sync_store(runtime: Runtime) -> LocalStore:
    from core.sync.local_store import LocalStore

    return LocalStore(runtime.paths.catalog_file)


def _shared_in(runtime: Runtime, store: LocalStore, local_project_id: int) -> int:
    from core.review.shared_playlists import sharing_project
    from core.sync.links import ProjectLinks

    server = ProjectLinks.in_config_dir(runtime.paths.config_dir).server_project(local_project_id)
    return sharing_project(store, server, local_project_id)


def _share(runtime: Runtime, local_project_id: int, name: str) -> None:
    """The local playlist's items (by content hash) written to this user's synced playlist of that name."""
    from core.review.shared_playlists import share_playlist

    playlists = runtime.catalog.playlists
    found = playlists.by_name(local_project_id, name)
    items = [a.content_hash for a in playlists.items(found.id)] if found is not None else []
    store = _sync_store(runtime)
    try:
        share_playlist(store, _shared_in(runtime, store, local_project_id), name, items)
    except (PermissionError, ValueError) as exc:
        raise UsageError(f"playlist {name!r} stays on this computer: {exc}") from exc
    finally:
        store.close()


def _set_items(runtime: Runtime, args: argparse.Namespace) -> int:
    playlist = _find(runtime, args.name, args.project)
    try:
        runtime.catalog.playlists.set_items(playlist.id, args.asset_ids)
    except CatalogError as exc:
        raise UsageError(str(exc)) from exc
    _share(runtime, playlist.project_id, playlist.name)
    _print(args, {"id": playlist.id, "name": playlist.name, "items": len(args.asset_ids)},
           f"Playlist {playlist.name!r}: {len(args.asset_ids)} items")  # fmt: skip
    return EXIT_OK


def _delete(runtime: Runtime, args: argparse.Namespace) -> int:
    from core.review.shared_playlists import unshare_playlist

    playlist = _find(runtime, args.name, args.project)
    runtime.catalog.playlists.delete(playlist.id)
    store = _sync_store(runtime)
    try:
        unshare_playlist(store, _shared_in(runtime, store, playlist.project_id), playlist.name)
    except PermissionError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        store.close()
    _print(args, {"deleted": playlist.name}, f"Deleted playlist {playlist.name!r}")
    return EXIT_OK


def _shared(runtime: Runtime, args: argparse.Namespace) -> int:
    from core.review.shared_playlists import resolve_playlist

    local_id = _project_id(runtime, args.project)
    store = _sync_store(runtime)
    try:
        playlists = store.list_playlists(_shared_in(runtime, store, local_id))
        names = {user.id: user.name for user in store.users()}
    finally:
        store.close()
    rows = []
    for playlist in playlists:
        resolved = resolve_playlist(runtime.catalog, local_id, playlist.name, playlist.items)
        rows.append({
            "name": playlist.name,
            "author": names.get(playlist.author, str(playlist.author)),
            "items": [a.id for a in resolved.found],
            "missing": resolved.missing,
            "sync_state": playlist.sync_state,
        })  # fmt: skip
    text = "\n".join(
        f"{r['name']}  by {r['author']}  ({len(r['items'])} items, {len(r['missing'])} missing)" for r in rows
    )
    _print(args, rows, text)
    return EXIT_OK


def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    playlists = runtime.catalog.playlists.of_project(_project_id(runtime, args.project))
    rows = [{"id": p.id, "name": p.name, "items": p.item_count} for p in playlists]
    _print(args, rows, "\n".join(f"{p.id:>5}  {p.name}  ({p.item_count} items)" for p in playlists))
    return EXIT_OK


def _show(runtime: Runtime, args: argparse.Namespace) -> int:
    playlist = _find(runtime, args.name, args.project)
    items = runtime.catalog.playlists.items(playlist.id)
    rows = [
        {"position": n, "asset_id": a.id, "name": a.name, "kind": str(a.kind)} for n, a in enumerate(items, 1)
    ]
    _print(args, rows, "\n".join(f"{r['position']:>3}. {r['name']}  (asset {r['asset_id']})" for r in rows))
    return EXIT_OK


def _report(runtime: Runtime, args: argparse.Namespace) -> int:
    from core.review.export import export_report

    playlist = _find(runtime, args.playlist, args.project)
    output: Path = args.output
    report = export_report(
        runtime.catalog, playlist.id, output, args.format,
        config_dir=runtime.paths.config_dir, limits=runtime.limits,
    )  # fmt: skip
    summary = {"file": str(output), "format": args.format, "items": len(report.items)}
    summary["notes"] = report.note_count
    _print(args, summary, f"Wrote {output} ({len(report.items)} items, {report.note_count} notes)")
    return EXIT_OK


def _print(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text, file=args.out)
