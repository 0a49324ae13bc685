"""``stratopipe``: the desktop app (no arguments) and its headless commands.

The command names, options and ``--json`` shapes are a stable interface: scripts and benchmarks use them.
Exit codes: 0 when at least one item succeeded (others may have failed: each is reported), 3 when every
item of a batch failed (for ``sync``, ``comment`` and ``task``: not signed in, or refused by the server),
2 for usage errors, 1 for fatal errors.

Standard output carries only the command's result. While a command works, file descriptor 1 points at
standard error, so text that a C library or a child process prints (an OpenEXR warning, a renderer's
log) cannot land in front of the JSON that a script parses.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_output import EXIT_FATAL, EXIT_OK, EXIT_USAGE, UsageError, batch_exit_code, result_stdout
from app.logging_setup import configure_cli_logging
from core.child_process import run_child_if_asked

if TYPE_CHECKING:
    from collections.abc import Sequence

    from app.runtime import Runtime
    from core.catalog.records import AssetRecord

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stratopipe",
        description="StratoPipe: catalog, render, review and share artists' assets.",
    )
    parser.add_argument("--data-dir", help="keep catalog, cache, settings and logs in this folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = commands.add_parser("gui", help="start the desktop app (the default)")
    gui.add_argument(
        "paths", nargs="*", help="files or folders to ingest, stratopipe:// links to open (see README)"
    )

    ingest = commands.add_parser("ingest", help="catalog files and folders, make their thumbnails")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--project", required=True, help="project name (created when missing)")
    ingest.add_argument("--copy", action="store_true", help="copy files into the project library")
    ingest.add_argument(
        "--thumbnails-only",
        action="store_true",
        help="stop after thumbnails (no renders or AI categories)",
    )
    ingest.add_argument("--profile", default=None, help="processing profile (default: the project's)")
    ingest.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="settings",
        help="change one profile value for this ingest (e.g. ai=false); repeatable",
    )
    ingest.add_argument("--json", action="store_true", help="print one JSON object")

    projects = commands.add_parser("projects", help="list projects")
    projects.add_argument("--json", action="store_true")

    assets = commands.add_parser("assets", help="list a project's assets")
    assets.add_argument("--project", required=True)
    assets.add_argument("--kind", choices=["image", "sequence", "video", "geometry", "document"])
    assets.add_argument("--search", default="", help="full-text search over names, paths, tags, notes")
    assets.add_argument("--tag", default=None)
    assets.add_argument("--limit", type=int, default=0, help="at most this many (0 = all)")
    assets.add_argument("--json", action="store_true")

    jobs = commands.add_parser("jobs", help="list recent jobs")
    jobs.add_argument("--state", choices=["queued", "running", "completed", "failed", "cancelled"])
    jobs.add_argument("--limit", type=int, default=50)
    jobs.add_argument("--json", action="store_true")

    from app.cli_media import add_parsers

    add_parsers(commands)

    relink = commands.add_parser(
        "relink", help="point assets at files that moved (OLD_PREFIX -> NEW_PREFIX, or --roots)"
    )
    relink.add_argument("old_prefix", nargs="?", help="the folder the files were in")
    relink.add_argument("new_prefix", nargs="?", help="the folder they are in now")
    relink.add_argument("--roots", action="store_true", help="use this machine's `roots` setting")
    relink.add_argument("--project", default=None, help="only this project's assets")
    relink.add_argument("--dry-run", action="store_true", help="report, change nothing")
    relink.add_argument("--json", action="store_true")

    from app.cli_sync import add_parsers as add_sync_parsers

    add_sync_parsers(commands)

    from app.cli_publish import add_parsers as add_publish_parsers

    add_publish_parsers(commands)

    from app.cli_watch import add_parsers as add_watch_parsers

    add_watch_parsers(commands)

    from app.cli_review import add_parsers as add_review_parsers

    add_review_parsers(commands)

    from app.cli_farm import add_parsers as add_farm_parsers

    add_farm_parsers(commands)

    doctor = commands.add_parser("doctor", help="report the platform StratoPipe runs on")
    doctor.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # A bundle's render, probe and upscaler children are this executable with --child MODULE.
    child_status = run_child_if_asked(arguments)
    if child_status is not None:
        return child_status
    parser = build_parser()
    args = parser.parse_args(_gui_by_default(parser, arguments))
    command = args.command or "gui"
    if command == "gui":
        from app.gui import run_gui

        return run_gui(args.data_dir, list(getattr(args, "paths", []) or []))
    configure_cli_logging(verbose=args.verbose)
    try:
        if command == "doctor":
            from app.doctor import run_doctor

            return run_doctor(args.data_dir, as_json=args.json)
        if command == "farm":
            from app.cli_farm import run_farm_command

            return run_farm_command(args)
        from app.cli_farm import farm_note
        from app.runtime import open_runtime

        with result_stdout() as args.out:
            try:
                runtime = open_runtime(args.data_dir, getattr(args, "executor", None), farm_note)
            except ValueError as exc:  # a malformed --executor
                raise UsageError(str(exc)) from exc
            if runtime.farm is not None:
                runtime.farm.connect()  # the "unreachable, running locally" note comes first
            try:
                if command in ("render", "classify", "enhance", "analyze"):
                    from app.cli_media import run_media_command

                    return run_media_command(runtime, command, args)
                if command in ("watch", "profile"):
                    from app.cli_watch import run_watch_command

                    return run_watch_command(runtime, args)
                if command in ("publish", "fetch"):
                    from app.cli_publish import run_media_sync_command

                    return run_media_sync_command(runtime, args)
                if command in ("playlist", "report"):
                    from app.cli_review import run_review_command

                    return run_review_command(runtime, args)
                if command in ("sync", "comment", "task"):
                    from app.cli_sync import run_sync_command

                    return run_sync_command(runtime, args)
                handler = {
                    "ingest": cmd_ingest,
                    "projects": cmd_projects,
                    "assets": cmd_assets,
                    "jobs": cmd_jobs,
                    "relink": cmd_relink,
                }[command]
                return handler(runtime, args)
            finally:
                runtime.close()
    except UsageError as exc:
        print(f"stratopipe {command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        log.exception("stratopipe %s failed", command)
        print(f"stratopipe {command}: error: {exc}", file=sys.stderr)
        return EXIT_FATAL


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("stratopipe")
    except metadata.PackageNotFoundError:  # a checkout run without installing it
        return "unknown version"


def _gui_by_default(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``stratopipe FILE|LINK...`` means ``stratopipe gui FILE|LINK...``: file managers, the ``.desktop``
    file's ``Exec`` and ``stratopipe://`` handlers launch the app with bare arguments."""
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        index += 2 if argv[index] == "--data-dir" else 1
    if index < len(argv) and commands is not None and argv[index] not in commands:
        return [*argv[:index], "gui", *argv[index:]]
    return argv


# ---- ingest -------------------------------------------------------------------------------------


def cmd_ingest(runtime: Runtime, args: argparse.Namespace) -> int:
    from app.runtime import HeadlessLanes, headless_scheduler
    from core.ingest import Ingestor
    from core.ingest_jobs import ingest_with_jobs
    from core.jobs.steps import CancelToken
    from core.lane_resources import LaneResources
    from core.profiles import ProfileError, load_profiles, profiles_file

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing and len(missing) == len(args.paths):
        raise UsageError("nothing to ingest: " + ", ".join(missing) + " not found")
    try:
        book = load_profiles(profiles_file(runtime.paths))
        profile = book.for_ingest(args.project, args.profile).with_settings(args.settings)
    except ProfileError as exc:
        raise UsageError(str(exc)) from exc
    project = runtime.catalog.ensure_project(args.project)
    started = time.perf_counter()
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    lanes = HeadlessLanes(runtime.media_threads, runtime.render_threads, runtime.inference_threads)
    resources = LaneResources(runtime.paths, runtime.settings)
    scheduler = headless_scheduler(runtime, lanes, resources=resources)
    progress_bar = TerminalProgress(enabled=not args.json and sys.stderr.isatty())
    try:
        ingestor = Ingestor(
            runtime.catalog, runtime.paths, runtime.limits, lanes.media, roots=runtime.settings.roots
        )
        run = ingest_with_jobs(
            ingestor,
            scheduler,
            runtime.catalog,
            runtime.registry,
            args.paths,
            project.id,
            copy_into_library=args.copy or runtime.settings.copy_into_library,
            cancel=cancel,
            max_in_flight=2 * runtime.media_threads,
            follow_ups=not args.thumbnails_only,
            profile=profile,
        )
        while True:
            try:
                progress, _records = next(run)
            except StopIteration as done:
                report = done.value
                break
            progress_bar.show(progress.done, progress.total, f"{progress.phase} {progress.current}")
        progress_bar.show(0, 0, "waiting for thumbnails…")
        while not scheduler.wait_idle(timeout=0.25):
            if cancel.cancelled:
                scheduler.cancel_all()
            progress_bar.show(0, 0, f"jobs left: {scheduler.active_count()}")
    finally:
        scheduler.shutdown()
        lanes.shutdown()
        resources.close()
        progress_bar.close()
        signal.signal(signal.SIGINT, previous)
    added = runtime.catalog.get_assets(report.added)
    thumbnail_failures = [(a.path, a.error or "thumbnail failed") for a in added if a.status == "failed"]
    failed = [{"path": f.path, "error": f.error} for f in report.failures]
    failed += [{"path": path, "error": error} for path, error in thumbnail_failures]
    result = {
        "project": project.name,
        "ingested": len(added),
        "duplicates": [{"path": p, "asset_id": i} for p, i in report.duplicates],
        "failed": failed,
        "assets": [_asset_json(a) for a in added],
        "cancelled": report.cancelled,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if args.json:
        print(json.dumps(result, indent=2), file=args.out)
    else:
        ready = len(added) - len(thumbnail_failures)
        print(
            f"{project.name}: {len(added)} new ({ready} ready), {len(report.duplicates)} already there, "
            f"{len(failed)} failed, in {result['seconds']:.1f} s"
            + (" — cancelled" if report.cancelled else ""),
            file=args.out,
        )
        for failure in failed:
            print(f"  FAILED {failure['path']}: {failure['error']}", file=args.out)
    return batch_exit_code(len(added) - len(thumbnail_failures) + len(report.duplicates), len(failed))


def _asset_json(asset: AssetRecord) -> dict[str, Any]:
    return {
        "id": asset.id,
        "name": asset.name,
        "path": asset.path,
        "kind": asset.kind,
        "hash": asset.content_hash,
        "size": asset.size_bytes,
        "status": asset.status,
        "error": asset.error,
        "thumbnail": asset.thumbnail,
        "frames": [asset.frame_first, asset.frame_last] if asset.frame_first is not None else None,
        "tags": [
            {"name": t.name, "source": t.source, "confidence": t.confidence, "category": t.is_category}
            for t in asset.tags
        ],
        "metadata": asset.metadata,
    }


class TerminalProgress:
    """A one-line progress bar on stderr (only on a terminal: logs and pipes stay clean)."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled
        self._last = 0.0

    def show(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if not self._enabled or now - self._last < 0.1:
            return
        self._last = now
        width = 30
        if total:
            filled = int(width * done / total)
            bar = "#" * filled + "-" * (width - filled)
            line = f"[{bar}] {done}/{total} {message}"
        else:
            line = message
        sys.stderr.write("\r" + line[:100].ljust(100))
        sys.stderr.flush()

    def close(self) -> None:
        if self._enabled:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


# ---- relink -------------------------------------------------------------------------------------


def cmd_relink(runtime: Runtime, args: argparse.Namespace) -> int:
    """Rewrite stored paths for moved files; a file missing at its new place is reported, not relinked."""
    from core.catalog.records import AssetQuery
    from core.roots import plan_relink, plan_root_relink, relinked_metadata

    if args.roots == bool(args.old_prefix and args.new_prefix):
        raise UsageError("give OLD_PREFIX and NEW_PREFIX, or --roots (not both)")
    projects = runtime.catalog.list_projects()
    if args.project is not None:
        projects = [p for p in projects if p.name == args.project]
        if not projects:
            raise UsageError(f"no project named {args.project!r} (see `stratopipe projects`)")
    records = [a for p in projects for a in runtime.catalog.iter_assets(AssetQuery(project_id=p.id))]
    if args.roots:
        plan = plan_root_relink(records, runtime.settings.roots)
    else:
        plan = plan_relink(records, args.old_prefix, args.new_prefix)
    by_id = {r.id: r for r in records}
    ready = [move for move in plan if move.exists]
    if not args.dry_run:
        runtime.catalog.move_assets(
            {
                m.asset_id: (m.new_path, relinked_metadata(by_id[m.asset_id].metadata, m.new_path))
                for m in ready
            }
        )
    missing = [move for move in plan if not move.exists]
    if args.json:
        result = {
            "dry_run": args.dry_run,
            "relinked": [{"id": m.asset_id, "from": m.old_path, "to": m.new_path} for m in ready],
            "missing": [{"id": m.asset_id, "from": m.old_path, "to": m.new_path} for m in missing],
        }
        print(json.dumps(result, indent=2), file=args.out)
    else:
        verb = "would relink" if args.dry_run else "relinked"
        print(f"{verb} {len(ready)} asset(s); {len(missing)} not found at the new place", file=args.out)
        for move in missing:
            print(f"  MISSING {move.new_path} (asset {move.asset_id}, was {move.old_path})", file=args.out)
    return batch_exit_code(len(ready), len(missing))


# ---- listing ------------------------------------------------------------------------------------


def cmd_projects(runtime: Runtime, args: argparse.Namespace) -> int:
    projects = runtime.catalog.list_projects()
    if args.json:
        print(
            json.dumps(
                [
                    {"id": p.id, "name": p.name, "description": p.description, "assets": p.asset_count}
                    for p in projects
                ],
                indent=2,
            ),
            file=args.out,
        )
    else:
        for p in projects:
            print(f"{p.id:>5}  {p.name}  ({p.asset_count} assets)", file=args.out)
    return EXIT_OK


def cmd_assets(runtime: Runtime, args: argparse.Namespace) -> int:
    from core.catalog.records import AssetQuery

    project = runtime.catalog.project_by_name(args.project)
    if project is None:
        raise UsageError(f"no project named {args.project!r} (see `stratopipe projects`)")
    query = AssetQuery(project_id=project.id, kind=args.kind, search=args.search, tag=args.tag)
    found: list[AssetRecord] = []
    for asset in runtime.catalog.iter_assets(query):
        found.append(asset)
        if args.limit and len(found) >= args.limit:
            break
    if args.json:
        print(json.dumps([_asset_json(a) for a in found], indent=2), file=args.out)
    else:
        for a in found:
            print(f"{a.id:>7}  {a.kind:<9} {a.status:<8} {a.name}  {a.path}", file=args.out)
    return EXIT_OK


def cmd_jobs(runtime: Runtime, args: argparse.Namespace) -> int:
    from core.jobs.model import JobState

    states = [JobState(args.state)] if args.state else None
    docs = runtime.catalog.jobs.find(states=states, limit=args.limit)
    if args.json:
        print(json.dumps([d.to_json() for d in docs], indent=2), file=args.out)
    else:
        for d in docs:
            took = f"{d.duration_s:.2f}s" if d.duration_s is not None else "-"
            print(
                f"{d.id:>7}  {d.kind:<10} {d.state:<10} asset {d.asset_id}  {took}  {d.error or ''}",
                file=args.out,
            )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
