"""``stratopipe watch add|list|remove|run`` and ``stratopipe profile list|copy|use|remove``.

``watch run`` ingests what settles in the watched folders until SIGINT or SIGTERM, then stops cleanly
(exit 0): the batch being ingested is cut short, running jobs are cancelled and taken up again by the
next run (as after a killed ``stratopipe ingest``). Watches and profiles are read again on every pass, so
``watch add`` from another terminal takes effect without restarting ``watch run``.
"""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_output import EXIT_OK, UsageError
from core.profiles import DEFAULT_PROFILE, ProfileError, load_profiles, profiles_file, save_profiles
from core.watch.store import (
    WatchError,
    WatchFolder,
    live_watches,
    load_watches,
    save_watches,
    watches_file,
)

if TYPE_CHECKING:
    import argparse
    from concurrent.futures import Executor

    from app.runtime import Runtime
    from core.jobs.scheduler import JobScheduler
    from core.jobs.steps import CancelToken
    from core.watch.watcher import WatchEvent

log = logging.getLogger(__name__)


def add_parsers(commands: Any) -> None:
    watch = commands.add_parser("watch", help="ingest what lands in watched folders")
    actions = watch.add_subparsers(dest="watch_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="watch a folder for a project")
    add.add_argument("folder", type=Path)
    add.add_argument("--project", required=True, help="project name (created when missing)")
    add.add_argument("--profile", default=None, help="processing profile (default: the project's)")
    add.add_argument("--poll", action="store_true", help="list on a timer only (network shares)")
    listing = actions.add_parser("list", help="list watched folders")
    listing.add_argument("--json", action="store_true")
    remove = actions.add_parser("remove", help="stop watching a folder")
    remove.add_argument("folder", type=Path)
    run = actions.add_parser("run", help="ingest from the watched folders until SIGINT/SIGTERM")
    run.add_argument("--json", action="store_true", help="one JSON object per line and event")

    profile = commands.add_parser("profile", help="processing profiles: which follow-up steps run")
    verbs = profile.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    plist = verbs.add_parser("list", help="list profiles and the projects using them")
    plist.add_argument("--json", action="store_true")
    copy = verbs.add_parser("copy", help="duplicate a profile, changing values with --set key=value")
    copy.add_argument("source")
    copy.add_argument("name")
    copy.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings")
    use = verbs.add_parser("use", help="the profile a project's ingests use by default")
    use.add_argument("name")
    use.add_argument("--project", required=True)
    premove = verbs.add_parser("remove", help="remove a profile")
    premove.add_argument("name")


def run_watch_command(runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        if args.command == "profile":
            return _profile_command(runtime, args)
        if args.watch_command == "run":
            return _watch_run(runtime, args)
        return _watch_edit(runtime, args)
    except (WatchError, ProfileError) as exc:
        raise UsageError(str(exc)) from exc


def _watch_edit(runtime: Runtime, args: argparse.Namespace) -> int:
    file = watches_file(runtime.paths)
    book = load_watches(file)
    if args.watch_command == "list":
        if args.json:
            print(json.dumps([w.model_dump(mode="json") for w in book.watches], indent=2), file=args.out)
        for w in [] if args.json else book.watches:
            how = " (polled)" if w.polling else ""
            print(f"{w.path}  -> {w.project}  profile {w.profile or 'of the project'}{how}", file=args.out)
        return EXIT_OK
    folder = str(args.folder.expanduser().absolute())
    if args.watch_command == "remove":
        removed = book.remove(folder)
        save_watches(book, file)
        print(f"no longer watching {removed.path}", file=args.out)
        return EXIT_OK
    if not Path(folder).is_dir():
        raise UsageError(f"{folder} is not a folder")
    if args.profile is not None:
        load_profiles(profiles_file(runtime.paths)).get(args.profile)
    runtime.catalog.ensure_project(args.project)
    book.add(WatchFolder(path=folder, project=args.project, profile=args.profile, polling=args.poll))
    save_watches(book, file)
    print(f"watching {folder} for project {args.project}", file=args.out)
    return EXIT_OK


def _profile_command(runtime: Runtime, args: argparse.Namespace) -> int:
    file = profiles_file(runtime.paths)
    book = load_profiles(file)
    if args.profile_command == "list":
        profiles = [book.get(name) for name in book.names()]
        if args.json:
            listing = {
                "profiles": [p.model_dump(mode="json") for p in profiles],
                "projects": book.project_profiles,
            }
            print(json.dumps(listing, indent=2), file=args.out)
            return EXIT_OK
        for p in profiles:
            values = ", ".join(f"{k}={v}" for k, v in p.model_dump().items() if k != "name")
            users = sorted(project for project, name in book.project_profiles.items() if name == p.name)
            used = f"  (projects: {', '.join(users)})" if users else ""
            print(f"{p.name}: {values}{used}", file=args.out)
        return EXIT_OK
    if args.profile_command == "copy":
        copy = book.duplicate(args.source, args.name)
        book.save_profile(copy.with_settings(args.settings))
        message = f"profile {args.name} made from {args.source}"
    elif args.profile_command == "use":
        book.choose_for_project(args.project, args.name)
        message = f"project {args.project} uses profile {args.name}"
    else:
        book.remove(args.name)
        message = f"profile {args.name} removed (its projects use {DEFAULT_PROFILE})"
    save_profiles(book, file)
    print(message, file=args.out)
    return EXIT_OK


# ---- watch run ----------------------------------------------------------------------------------


def _watch_run(runtime: Runtime, args: argparse.Namespace) -> int:
    from app.runtime import HeadlessLanes, headless_scheduler
    from core.jobs.steps import CancelToken
    from core.lane_resources import LaneResources
    from core.watch.watcher import Watcher, WatchEventKind, timing_from_settings

    file = watches_file(runtime.paths)
    settings = runtime.settings
    watcher = Watcher(
        live_watches(file, load_watches(file).watches),  # a broken file at start is a usage error
        runtime.paths.data_dir / "watch",
        timing_from_settings(settings),
        use_events=settings.watch_events,
    )
    cancel = CancelToken()

    def stop(signum: int, _frame: object) -> None:
        log.info("Signal %s: stopping the watch", signum)
        watcher.stop()
        cancel.cancel()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    lanes = HeadlessLanes(runtime.media_threads)
    resources = LaneResources(runtime.paths, settings)
    scheduler = headless_scheduler(runtime, lanes, resources=resources)
    try:
        for event in watcher.events():
            result: dict[str, Any] = {"event": event.kind.value, "folder": event.watch.path}
            if event.kind == WatchEventKind.SETTLED:
                result |= _ingest_settled(runtime, scheduler, lanes.media, event, cancel)
            _report(args, result, event.message)
    finally:
        scheduler.shutdown()
        lanes.shutdown()
        resources.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


def _ingest_settled(
    runtime: Runtime, scheduler: JobScheduler, media: Executor, event: WatchEvent, cancel: CancelToken
) -> dict[str, Any]:
    from core.ingest import Ingestor
    from core.ingest_jobs import ingest_with_jobs

    watch = event.watch
    try:
        profile = load_profiles(profiles_file(runtime.paths)).for_ingest(watch.project, watch.profile)
    except ProfileError as exc:
        log.warning("%s: not ingesting %d file(s) from %s", exc, len(event.paths), watch.path)
        return {"error": str(exc)}
    project = runtime.catalog.ensure_project(watch.project)
    ingestor = Ingestor(runtime.catalog, runtime.paths, runtime.limits, media, roots=runtime.settings.roots)
    run = ingest_with_jobs(
        ingestor,
        scheduler,
        runtime.catalog,
        runtime.registry,
        list(event.paths),
        project.id,
        copy_into_library=runtime.settings.copy_into_library,
        cancel=cancel,
        max_in_flight=2 * runtime.media_threads,
        profile=profile,
    )
    while True:
        try:
            next(run)
        except StopIteration as done:
            report = done.value
            break
    return {
        "project": project.name,
        "profile": profile.name,
        "ingested": list(report.added),
        "duplicates": [{"path": p, "asset_id": i} for p, i in report.duplicates],
        "failed": [{"path": f.path, "error": f.error} for f in report.failures],
        "cancelled": report.cancelled,
    }


def _report(args: argparse.Namespace, result: dict[str, Any], message: str) -> None:
    if args.json:
        print(json.dumps(result), file=args.out, flush=True)
        return
    if "ingested" in result:
        message += (
            f": {len(result['ingested'])} new, {len(result['duplicates'])} already there,"
            f" {len(result['failed'])} failed"
        )
    elif "error" in result:
        message += f": {result['error']}"
    print(message, file=args.out, flush=True)
