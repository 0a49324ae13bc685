"""``stratopipe sync redeem|reset-password|invite|reset``: accounts made and mended with one-time codes.

``redeem`` creates the account an invitation offers and signs in with it; ``reset-password`` chooses a
new password with the code an administrator issued; both read the code and the password from standard
input (one a line), never from the command line, where other users of the machine could see them.
``invite`` (admins, and supervisors for their projects) and ``reset`` (admins) print a code to pass on.
Registered by ``app.cli_sync``, whose exit codes apply (an expired or used code is 3).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.cli_output import UsageError
from app.cli_sign_in import keep_sign_in, sign_in_target
from app.cli_tokens import Failed, Refused, signed_in_token

if TYPE_CHECKING:
    import argparse

    from app.runtime import Runtime
    from core.sync.invitation_protocol import CodeIssued
    from core.sync.local_store import LocalStore
    from core.sync.sign_in import ServerExchange


def add_parsers(actions: Any) -> None:
    redeem = actions.add_parser(
        "redeem", help="create your account from an invitation: stdin gives the code, then your password"
    )
    reset = actions.add_parser(
        "reset-password", help="choose a new password with a reset code: stdin gives the code, then it"
    )
    for parser in (redeem, reset):
        parser.add_argument("--server", required=True, help="ws://host:8765 or wss://host:8765")
        parser.add_argument("--user", required=True, help="your user name (new, for an invitation)")
        parser.add_argument("--ca-file", help="the studio's CA certificate (PEM) for wss://")
    redeem.add_argument("--name", default="", help="display name")
    redeem.add_argument("--email", default="")
    invite = actions.add_parser("invite", help="invite someone (prints a one-time code to pass on)")
    invite.add_argument("--role", default="artist", choices=("admin", "supervisor", "artist", "client"))
    invite.add_argument("--server-project", help="the server project they join (supervisors must name one)")
    invite.add_argument("--days", type=float, default=7.0, help="days the code stays valid (at most 30)")
    reset_other = actions.add_parser(
        "reset", help="admins: reset someone's password (signs them out; prints a one-time code)"
    )
    reset_other.add_argument("username")


def _two_lines() -> tuple[str, str]:
    code = sys.stdin.readline().strip()
    password = sys.stdin.readline().rstrip("\r\n")
    if not code or not password:
        raise UsageError("give the code and the password on standard input, one a line")
    return code, password


def cmd_redeem(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.invitations import redeem_invitation

    url, ca_file = sign_in_target(runtime, args)
    code, password = _two_lines()
    try:
        request = redeem_invitation(url, code, args.user, password, args.name, args.email, ca_file)
    except ValidationError as exc:
        raise UsageError(f"{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    return keep_sign_in(runtime, store, args, url, ca_file, request.run())


def cmd_reset_password(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.invitations import redeem_reset

    url, ca_file = sign_in_target(runtime, args)
    code, password = _two_lines()
    try:
        request = redeem_reset(url, args.user, code, password, ca_file)
    except ValidationError as exc:
        raise UsageError(f"{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}") from exc
    return keep_sign_in(runtime, store, args, url, ca_file, request.run())


def _issued(request: ServerExchange[CodeIssued]) -> dict[str, Any]:
    from core.sync.sign_in import SignInFailure

    outcome = request.run()
    if isinstance(outcome, SignInFailure):
        if outcome.code in ("unreachable", "certificate", "bad_ca", "internal", "cancelled"):
            raise Failed(outcome.message)
        raise Refused(outcome.message)
    return outcome.model_dump(exclude={"v", "re", "type"})


def cmd_invite(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.invitations import create_invitation

    token = signed_in_token(runtime, args)
    project = None
    if args.server_project:
        known = {p.name: p.id for p in store.projects()}
        if args.server_project not in known:
            raise UsageError(f"no server project {args.server_project!r}; known: {', '.join(sorted(known))}")
        project = known[args.server_project]
    settings = runtime.settings
    try:
        request = create_invitation(
            settings.server_url, token, args.role, project, args.days, settings.ca_file
        )
    except ValidationError as exc:
        raise UsageError("invitations last more than 0 and at most 30 days") from exc
    return _issued(request)


def cmd_reset(runtime: Runtime, _store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.invitations import reset_password

    token = signed_in_token(runtime, args)
    settings = runtime.settings
    return _issued(reset_password(settings.server_url, token, args.username, settings.ca_file))


INVITATION_ACTIONS = {
    "redeem": cmd_redeem,
    "reset-password": cmd_reset_password,
    "invite": cmd_invite,
    "reset": cmd_reset,
}
