"""``stratopipe sync password|profile|logout``: the signed-in user's own account from a terminal.

Each connects once with the stored token (keyring, ``--token-file`` or ``STRATOPIPE_TOKEN``), makes its
request and disconnects (``core.sync.account``). Registered by ``app.cli_sync``, whose exit codes apply:
a wrong old password or a token the server no longer accepts is 3, an unreachable server 1.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from app.cli_output import UsageError
from app.cli_tokens import Failed, Refused, signed_in_token, stored_token

if TYPE_CHECKING:
    import argparse

    from app.runtime import Runtime
    from core.sync.account import AccountChanged, AccountRequest
    from core.sync.local_store import LocalStore


def add_parsers(actions: Any) -> None:
    actions.add_parser(
        "logout", help="sign out: the server revokes the token, then it is forgotten here (local work stays)"
    )
    actions.add_parser(
        "password",
        help="change your password: reads the current and the new password, one a line, from stdin; "
        "your other sign-ins are revoked",
    )
    profile = actions.add_parser("profile", help="change your display name or email (no option: show them)")
    profile.add_argument("--name", help="display name")
    profile.add_argument("--email", help="email address ('' for none)")


def _outcome(request: AccountRequest) -> AccountChanged:
    """Run ``request``; a failure raises the CLI's ``Failed`` (network, certificate) or ``Refused``."""
    from core.sync.sign_in import SignInFailure

    outcome = request.run()
    if isinstance(outcome, SignInFailure):
        if outcome.code in ("unreachable", "certificate", "bad_ca", "internal", "cancelled"):
            raise Failed(outcome.message)
        raise Refused(outcome.message)
    return outcome


def _profile_json(changed: AccountChanged) -> dict[str, Any]:
    user = changed.user
    return {"user": user.name, "display_name": user.display_name, "email": user.email, "role": user.role}


def cmd_password(runtime: Runtime, _store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.account import change_password

    token = signed_in_token(runtime, args)
    old = sys.stdin.readline().rstrip("\r\n")
    new = sys.stdin.readline().rstrip("\r\n")
    if not new:
        raise UsageError("give the current password and the new one on standard input, one a line")
    settings = runtime.settings
    changed = _outcome(change_password(settings.server_url, token, old, new, settings.ca_file))
    return {"user": changed.user.name, "password_changed": True, "message": changed.message}


def cmd_profile(runtime: Runtime, store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.sync.account import update_profile

    token = signed_in_token(runtime, args)
    settings = runtime.settings
    try:
        request = update_profile(settings.server_url, token, args.name, args.email, settings.ca_file)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    changed = _outcome(request)
    if args.name is not None or args.email is not None:
        # Names shown by `comment list` and the app come from the local store: it takes the record now.
        store.save_session(changed.user, changed.projects, settings.server_url, changed.server_id)
    return _profile_json(changed)


def cmd_logout(runtime: Runtime, _store: LocalStore, args: argparse.Namespace) -> dict[str, Any]:
    from core.settings import save_settings
    from core.sync.account import sign_out, sign_out_result
    from core.sync.credentials import TokenStore

    settings = runtime.settings
    found = stored_token(runtime, args)
    revoked, message = False, "No sign-in was stored here."
    if found is not None and settings.server_url:
        # Revoked first: once forgotten here, nothing could end the sign-in but its expiry.
        request = sign_out(settings.server_url, found[0], settings.ca_file)
        revoked, message = sign_out_result(request.run())
        if not revoked:
            print(f"warning: {message}", file=sys.stderr)
    if settings.server_url and settings.username:
        TokenStore().delete(settings.server_url, settings.username)
    if args.token_file is not None:
        args.token_file.unlink(missing_ok=True)
    user, settings.username = settings.username, ""
    save_settings(settings, runtime.paths.settings_file)
    return {"signed_out": user, "server": settings.server_url, "token_revoked": revoked, "message": message}


ACCOUNT_ACTIONS = {"logout": cmd_logout, "password": cmd_password, "profile": cmd_profile}
