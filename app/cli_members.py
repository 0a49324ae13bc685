"""``stratopipe sync member add|remove USER --server-project NAME``: a project's owner, its supervisors
and admins manage its members (``core.sync.members``). Registered by ``app.cli_sync``, whose exit codes
apply (a refusal by the server is 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.cli_output import UsageError
from app.cli_tokens import Failed, Refused, signed_in_token

if TYPE_CHECKING:
    import argparse

    from app.runtime import Runtime
    from core.sync.local_store import LocalStore


def add_parsers(actions: Any) -> None:
    member = actions.add_parser("member", help="add or remove a member of a server project")
    member.add_argument("operation", choices=("add", "remove"))
    member.add_argument("username")
    member.add_argument("--server-project", required=True, help="server project name")


def cmd_member(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.members import add_member, remove_member
    from core.sync.sign_in import SignInFailure

    token = signed_in_token(runtime, args)
    known = {p.name: p.id for p in store.projects()}
    if args.server_project not in known:
        raise UsageError(f"no server project {args.server_project!r}; known: {', '.join(sorted(known))}")
    settings = runtime.settings
    change = add_member if args.operation == "add" else remove_member
    outcome = change(
        settings.server_url, token, known[args.server_project], args.username, settings.ca_file
    ).run()
    if isinstance(outcome, SignInFailure):
        if outcome.code in ("unreachable", "certificate", "bad_ca", "internal", "cancelled"):
            raise Failed(outcome.message)
        raise Refused(outcome.message)
    return outcome.model_dump(exclude={"v", "re", "type"})


MEMBER_ACTIONS = {"member": cmd_member}
