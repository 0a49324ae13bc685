"""``stratopipe sync|comment|task``: the collaboration server from scripts, render nodes and pipelines.

They work on the same catalog, settings, project links and tokens as the app: a comment added here is
written through ``LocalStore`` (the one write path) at once, offline or not, and goes out with the next
``sync push`` or the app's next connection. ``push`` and ``pull`` connect once, do their work and
disconnect (``SyncClient.run_once``); nothing stays running.

Exit codes: 0 done, 1 failed (unreachable, certificate refused, timed out), 2 usage, 3 not signed in or
refused by the server (wrong password, expired token, a change the server rejected, a role that may not).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_account import ACCOUNT_ACTIONS
from app.cli_account import add_parsers as add_account_parsers
from app.cli_invitations import INVITATION_ACTIONS
from app.cli_invitations import add_parsers as add_invitation_parsers
from app.cli_members import MEMBER_ACTIONS
from app.cli_members import add_parsers as add_member_parsers
from app.cli_output import EXIT_FATAL, EXIT_OK, UsageError
from app.cli_sign_in import keep_sign_in, sign_in_target
from app.cli_tokens import Failed, Refused, signed_in_token, stored_token

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from app.runtime import Runtime
    from core.sync.client_events import SyncEvent
    from core.sync.local_store import LocalStore

EXIT_REFUSED = 3
SYNC_COMMANDS = ("sync", "comment", "task")
TASK_STATUSES = ("open", "in_progress", "review", "completed")


def add_parsers(commands: Any) -> None:
    sync = commands.add_parser("sync", help="sign in to the sync server, push and pull comments and tasks")
    actions = sync.add_subparsers(dest="sync_command", metavar="ACTION", required=True)
    login = actions.add_parser("login", help="sign in and keep the token (keyring or --token-file)")
    login.add_argument("--server", required=True, help="ws://host:8765 or wss://host:8765")
    login.add_argument("--user", required=True)
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    login.add_argument("--ca-file", help="the studio's CA certificate (PEM) for wss://")
    add_account_parsers(actions)
    add_invitation_parsers(actions)
    add_member_parsers(actions)
    for name, helptext in (
        ("status", "who is signed in where, unsent changes, project links (no network)"),
        ("push", "connect, send unsent changes, wait for the server to accept them, disconnect"),
        ("pull", "connect, download what changed, disconnect"),
    ):
        actions.add_parser(name, help=helptext)
    link = actions.add_parser("link", help="share a local project with a server project")
    link.add_argument("--project", required=True, help="local project name")
    target = link.add_mutually_exclusive_group(required=True)
    target.add_argument("--server-project", help="server project name")
    target.add_argument("--unlink", action="store_true", help="stop sharing the local project")
    for action in actions.choices.values():
        action.add_argument("--json", action="store_true", help="print one JSON object")
        action.add_argument("--token-file", type=Path, help="token file for machines without a keyring")
    for name in ("push", "pull"):
        actions.choices[name].add_argument("--timeout", type=float, default=120.0, help="seconds")

    comment = commands.add_parser("comment", help="comments on an asset (by its catalog id)")
    comment_actions = comment.add_subparsers(dest="comment_command", metavar="ACTION", required=True)
    listed = comment_actions.add_parser("list", help="the asset's comments")
    listed.add_argument("asset", type=int, help="catalog asset id (see `stratopipe assets`)")
    added = comment_actions.add_parser("add", help="comment on an asset (sent with the next push)")
    added.add_argument("asset", type=int, help="catalog asset id (see `stratopipe assets`)")
    added.add_argument("text")
    added.add_argument("--frame", type=int)

    task = commands.add_parser("task", help="the tasks of a shared project")
    task_actions = task.add_subparsers(dest="task_command", metavar="ACTION", required=True)
    tasks = task_actions.add_parser("list", help="a project's tasks")
    tasks.add_argument("--project", required=True, help="local project name")
    tasks.add_argument("--assignee", help="only this user's tasks")
    new = task_actions.add_parser("add", help="create a task (sent with the next push)")
    new.add_argument("--project", required=True, help="local project name")
    new.add_argument("title")
    changed = task_actions.add_parser("set", help="change a task's fields (sent with the next push)")
    changed.add_argument("task_id")
    changed.add_argument("--title")
    for parser in (new, changed):
        parser.add_argument("--description")
        parser.add_argument("--assignee", help="user name; '' for nobody")
        parser.add_argument("--status", choices=TASK_STATUSES)
        parser.add_argument("--due", help="due date, YYYY-MM-DD; '' for none")
    for action in (*comment_actions.choices.values(), *task_actions.choices.values()):
        action.add_argument("--json", action="store_true", help="print JSON")


def run_sync_command(runtime: Runtime, args: argparse.Namespace) -> int:
    from core.sync.local_store import LocalStore

    store = LocalStore(runtime.paths.catalog_file)
    try:
        if args.command == "sync":
            handler: Callable[[Runtime, LocalStore, argparse.Namespace], Any] = SYNC_ACTIONS[
                args.sync_command
            ]
        elif args.command == "comment":
            handler = COMMENT_ACTIONS[args.comment_command]
        else:
            handler = TASK_ACTIONS[args.task_command]
        result = handler(runtime, store, args)
    except Refused as exc:
        print(f"stratopipe {args.command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except Failed as exc:
        print(f"stratopipe {args.command}: {exc}", file=sys.stderr)
        return EXIT_FATAL
    finally:
        store.close()
    _print(args, result)
    return EXIT_REFUSED if isinstance(result, dict) and result.get("rejected") else EXIT_OK


def _print(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        print(json.dumps(result, indent=2, default=_json_default), file=args.out)
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        shown = (f"{key}={value}" for key, value in row.items() if value not in (None, "", []))
        print("  ".join(shown), file=args.out)


def _json_default(value: object) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump()
    raise TypeError(f"not JSON: {type(value).__name__}")


# ---- signing in -----------------------------------------------------------------------------------


def cmd_login(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.sign_in import SignInAttempt

    if not args.password_stdin:
        raise UsageError("give the password on standard input with --password-stdin")
    url, ca_file = sign_in_target(runtime, args)
    password = sys.stdin.readline().rstrip("\r\n")
    return keep_sign_in(
        runtime, store, args, url, ca_file, SignInAttempt(url, args.user, password, ca_file).run()
    )


def cmd_status(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.links import ProjectLinks

    found = stored_token(runtime, args)
    names = {p.id: p.name for p in store.projects(include_deleted=True)}
    links = ProjectLinks.in_config_dir(runtime.paths.config_dir).all()
    local = {p.id: p.name for p in runtime.catalog.list_projects()}
    signed_in = found is not None and bool(runtime.settings.server_url)
    result = {
        "server": runtime.settings.server_url,
        "user": runtime.settings.username,
        "signed_in": signed_in,
        "token": found[1] if found else None,
        "ca_file": runtime.settings.ca_file,
        "pending": store.pending_count() if store.current_user_id() is not None else 0,
        "held": store.held_changes().count if store.current_user_id() is not None else 0,
        "server_projects": sorted(names.values()),
        "links": [
            {"project": local.get(lid, f"#{lid}"), "server_project": names.get(sid, f"#{sid}")}
            for lid, sid in links.items()
        ],
    }
    if not signed_in:
        _print(args, result)
        raise Refused("not signed in")
    return result


def cmd_link(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.links import ProjectLinks

    project = _local_project(runtime, args.project)
    server_project: int | None = None
    if not args.unlink:
        if store.current_user_id() is None:
            raise Refused("not signed in: the server's projects are known after `stratopipe sync login`")
        known = {p.name: p.id for p in store.projects()}
        if args.server_project not in known:
            raise Failed(
                f"no server project {args.server_project!r} for this user; known: {', '.join(sorted(known))}"
            )
        server_project = known[args.server_project]
    ProjectLinks.in_config_dir(runtime.paths.config_dir).link(project, server_project)
    # Notes written while the project was not shared join the outbox now, once (as in the app).
    shared = store.share_private_notes(project, server_project) if server_project is not None else 0
    return {
        "project": args.project,
        "server_project": None if args.unlink else args.server_project,
        "private_notes_shared": shared,
    }


def _run_once(runtime: Runtime, store: LocalStore, args: argparse.Namespace, *, push: bool) -> dict[str, Any]:
    from core.sync.client import SyncClient
    from core.sync.client_events import (
        AuthError,
        ChangeRejected,
        ProjectDeleted,
        RecordsChanged,
        TaskConflicts,
    )
    from core.sync.links import ProjectLinks
    from core.sync.project_deletion import deleted_project_notice, unlink_deleted_project
    from core.sync.tls import TlsSetupError

    token = signed_in_token(runtime, args)
    events: list[SyncEvent] = []
    settings = runtime.settings
    client = SyncClient(
        store,
        settings.server_url,
        token,
        on_event=events.append,
        ca_file=settings.ca_file,
        journal_days=settings.sync_journal_days,
    )
    before = store.pending_count() if store.current_user_id() is not None else 0
    try:
        asyncio.run(asyncio.wait_for(client.run_once("pushed" if push else "caught_up"), args.timeout))
    except AuthError as exc:
        raise Refused(f"the server refused the sign-in ({exc.message}): sign in again") from exc
    except TimeoutError as exc:
        raise Failed(f"sync did not finish within {args.timeout:g} s") from exc
    except (ConnectionError, TlsSetupError) as exc:
        raise Failed(str(exc)) from exc
    deleted = [e for e in events if isinstance(e, ProjectDeleted)]
    links = ProjectLinks.in_config_dir(runtime.paths.config_dir)
    for event in deleted:  # nothing local goes: the local project is only no longer shared
        unlink_deleted_project(links, event.project_id)
    rejected = [e for e in events if isinstance(e, ChangeRejected)]
    changed = sum(len(e.record_ids) for e in events if isinstance(e, RecordsChanged))
    after = store.pending_count()
    return {
        "server": runtime.settings.server_url,
        "sent": max(0, before - after - len(rejected)),
        "pending": after,
        "held": store.held_changes().count,
        "records_changed": changed,
        "conflicts": [e.task_id for e in events if isinstance(e, TaskConflicts)],
        "rejected": [{"record": e.record_id, "code": e.code, "message": e.message} for e in rejected],
        "deleted_projects": [deleted_project_notice(e.name, e.project_id) for e in deleted],
    }


def cmd_push(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    return _run_once(runtime, store, args, push=True)


def cmd_pull(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    return _run_once(runtime, store, args, push=False)


# ---- comments and tasks ----------------------------------------------------------------------------


def _local_project(runtime: Runtime, name: str) -> int:
    project = runtime.catalog.project_by_name(name)
    if project is None:
        raise UsageError(f"no local project named {name!r} (see `stratopipe projects`)")
    return project.id


def _server_project(runtime: Runtime, local_project: int, what: str) -> int:
    from core.sync.links import ProjectLinks

    linked = ProjectLinks.in_config_dir(runtime.paths.config_dir).server_project(local_project)
    if linked is None:
        raise Failed(
            f"{what} is not shared: link it with `stratopipe sync link --project … --server-project …`"
        )
    return linked


def _writer_check(store: LocalStore) -> None:
    if store.current_user_id() is None:
        raise Refused("not signed in: comments and tasks are written as the signed-in user")


def _comment_json(store: LocalStore, comment: Any) -> dict[str, Any]:
    from core.sync.wording import SyncWording

    row = dataclasses.asdict(comment)
    row["author_name"] = SyncWording(store).user_name(comment.author)
    return row


def _notes_project(runtime: Runtime, store: LocalStore, local_project: int) -> int:
    """Where an asset's notes live: its linked server project, or (not shared yet) the local
    project's private notes, which ``sync link`` later shares once."""
    from core.sync.links import ProjectLinks
    from core.sync.local_private import private_project

    linked = ProjectLinks.in_config_dir(runtime.paths.config_dir).server_project(local_project)
    return linked if linked is not None else private_project(local_project)


def cmd_comment_list(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> list[dict[str, Any]]:
    asset = _asset(runtime, args.asset)
    project = _notes_project(runtime, store, asset.project_id)
    comments = store.list_comments(store.asset_key(project, asset.content_hash))
    return [_comment_json(store, c) for c in comments]


def cmd_comment_add(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.local_private import is_private

    asset = _asset(runtime, args.asset)
    project = _notes_project(runtime, store, asset.project_id)
    if not is_private(project):
        _writer_check(store)  # a private note needs no sign-in: it stays on this machine until shared
    try:
        asset_id = store.ensure_asset(
            project, asset.name, asset.kind, asset.content_hash, {"size_bytes": asset.size_bytes}
        )
        comment = store.add_comment(project, asset_id, args.text, args.frame)
    except PermissionError as exc:
        raise Refused(str(exc)) from exc
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return _comment_json(store, comment)


def _asset(runtime: Runtime, asset_id: int) -> Any:
    asset = runtime.catalog.get_asset(asset_id)
    if asset is None:
        raise UsageError(f"no asset {asset_id} in the catalog (see `stratopipe assets --project …`)")
    return asset


def _task_fields(store: LocalStore, project: int, args: argparse.Namespace) -> dict[str, Any]:
    """The optional task fields both ``task add`` and ``task set`` take (not the title)."""
    fields: dict[str, Any] = {}
    if args.description is not None:
        fields["description"] = args.description
    if args.status is not None:
        fields["status"] = args.status
    if args.due is not None:
        fields["due_date"] = args.due or None
    if args.assignee is not None:
        fields["assignee"] = _user_id(store, project, args.assignee) if args.assignee else None
    return fields


def _user_id(store: LocalStore, project: int, name: str) -> int:
    users = {u.name: u.id for u in store.users(project)}
    if name not in users:
        raise UsageError(f"no user {name!r} in this project; members: {', '.join(sorted(users))}")
    return users[name]


def cmd_task_list(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> list[dict[str, Any]]:
    project = _server_project(runtime, _local_project(runtime, args.project), f"project {args.project!r}")
    assignee = _user_id(store, project, args.assignee) if args.assignee else None
    return [dataclasses.asdict(t) for t in store.list_tasks(project, assignee)]


def cmd_task_add(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    _writer_check(store)
    project = _server_project(runtime, _local_project(runtime, args.project), f"project {args.project!r}")
    fields = _task_fields(store, project, args)
    return _task_write(lambda: store.create_task(project, args.title, **fields))


def cmd_task_set(_runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    _writer_check(store)
    try:
        project = store.task(args.task_id).project_id
    except KeyError as exc:
        raise UsageError(f"no task {args.task_id} (see `stratopipe task list`)") from exc
    fields = _task_fields(store, project, args)
    if args.title is not None:
        fields["title"] = args.title
    if not fields:
        raise UsageError("nothing to change: give --title, --description, --assignee, --status or --due")
    return _task_write(lambda: store.update_task(args.task_id, fields))


def _task_write(write: Callable[[], Any]) -> dict[str, Any]:
    try:
        return dataclasses.asdict(write())
    except PermissionError as exc:
        raise Refused(str(exc)) from exc
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


SYNC_ACTIONS = {
    "login": cmd_login,
    **ACCOUNT_ACTIONS,
    **INVITATION_ACTIONS,
    **MEMBER_ACTIONS,
    "status": cmd_status,
    "link": cmd_link,
    "push": cmd_push,
    "pull": cmd_pull,
}
COMMENT_ACTIONS = {"list": cmd_comment_list, "add": cmd_comment_add}
TASK_ACTIONS = {"list": cmd_task_list, "add": cmd_task_add, "set": cmd_task_set}
