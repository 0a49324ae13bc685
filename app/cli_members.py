"""``stratopipe sync member add|remove USER --server-project NAME``: a project's owner, its supervisors
and admins manage its members; ``stratopipe sync delete-project --server-project NAME --yes``: its owner
or an admin deletes it for everyone (``core.sync.members``). Registered by ``app.cli_sync``, whose exit
codes apply (a refusal by the server is 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from app.cli_output import UsageError
from app.cli_tokens import Failed, Refused, signed_in_token

if TYPE_CHECKING:
    import argparse

    from app.runtime import Runtime
    from core.sync.local_store import LocalStore
    from core.sync.sign_in import SignInFailure

T = TypeVar("T")


def add_parsers(actions: Any) -> None:
    member = actions.add_parser("member", help="add or remove a member of a server project")
    member.add_argument("operation", choices=("add", "remove"))
    member.add_argument("username")
    member.add_argument("--server-project", required=True, help="server project name")
    delete = actions.add_parser(
        "delete-project", help="delete a server project for everyone (its owner or an admin)"
    )
    delete.add_argument("--server-project", required=True, help="server project name")
    delete.add_argument(
        "--yes",
        action="store_true",
        help="confirm: every member loses the shared project (local copies stay)",
    )


def cmd_member(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.members import add_member, remove_member

    token = signed_in_token(runtime, args)
    project = _server_project(store, args.server_project)
    settings = runtime.settings
    change = add_member if args.operation == "add" else remove_member
    outcome = _answer(change(settings.server_url, token, project, args.username, settings.ca_file).run())
    return outcome.model_dump(exclude={"v", "re", "type"})


def cmd_delete_project(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.members import ProjectDeletion

    if not args.yes:
        raise UsageError("deleting a server project removes it for every member: add --yes to confirm")
    token = signed_in_token(runtime, args)
    project = _server_project(store, args.server_project)
    settings = runtime.settings
    ack = _answer(ProjectDeletion(settings.server_url, token, project, settings.ca_file).run())
    return {"deleted": args.server_project, "project": project, "seq": ack.seq}


def _server_project(store: LocalStore, name: str) -> int:
    known = {p.name: p.id for p in store.projects()}
    if name not in known:
        raise UsageError(f"no server project {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def _answer(outcome: T | SignInFailure) -> T:
    from core.sync.sign_in import SignInFailure

    if isinstance(outcome, SignInFailure):
        if outcome.code in ("unreachable", "certificate", "bad_ca", "internal", "cancelled"):
            raise Failed(outcome.message)
        raise Refused(outcome.message)
    return outcome


MEMBER_ACTIONS = {"member": cmd_member, "delete-project": cmd_delete_project}
