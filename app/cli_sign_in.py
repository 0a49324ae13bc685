"""Signing in from the command line: where to (``--server``, ``--ca-file``) and keeping the token the
server gave (``--token-file`` or the keyring), for ``sync login`` and the one-time-code sign-ins of
``sync redeem`` and ``sync reset-password``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_output import UsageError
from app.cli_tokens import Failed, Refused

if TYPE_CHECKING:
    import argparse

    from app.runtime import Runtime
    from core.sync.local_store import LocalStore


def sign_in_target(runtime: Runtime, args: argparse.Namespace) -> tuple[str, str]:
    """(server URL, CA file) of ``--server`` and ``--ca-file``, once it is sure the token can be kept."""
    from core.sync.credentials import TokenStore
    from core.sync.sign_in import normalise_server_url
    from core.sync.tls import insecure_connection_warning

    try:
        url = normalise_server_url(args.server)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    keyring = TokenStore().keyring_status()
    if args.token_file is None and not keyring.persistent:
        # Checked before the password is sent: a token kept for this process only would be lost at exit.
        raise Failed(
            f"no system keyring is available here ({keyring.backend}), so the sign-in cannot be kept: "
            "pass --token-file FILE (created readable by you only), or set STRATOPIPE_TOKEN"
        )
    warning = insecure_connection_warning(url)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return url, str(Path(args.ca_file).resolve()) if args.ca_file else runtime.settings.ca_file


def keep_sign_in(
    runtime: Runtime, store: LocalStore, args: argparse.Namespace, url: str, ca_file: str, outcome: Any
) -> dict[str, Any]:
    """Keep a sign-in's token (``--token-file`` or the keyring) and who it is, as ``sync login`` does;
    also used by ``sync redeem`` and ``sync reset-password``, which sign in with a one-time code."""
    from core.settings import save_settings
    from core.sync.credentials import TokenStore, write_token_file
    from core.sync.sign_in import SignInFailure

    if isinstance(outcome, SignInFailure):
        if outcome.code == "bad_ca":
            raise UsageError(outcome.message)
        if outcome.code in ("unreachable", "certificate", "internal", "cancelled"):
            raise Failed(outcome.message)
        raise Refused(outcome.message)
    tokens = TokenStore()
    keyring = tokens.keyring_status()
    if args.token_file is not None:
        write_token_file(args.token_file, outcome.token)
        kept = f"file {args.token_file}"
    else:
        tokens.save(url, outcome.user.name, outcome.token)
        kept = f"keyring {keyring.backend}"
    settings = runtime.settings
    settings.server_url, settings.username, settings.ca_file = url, outcome.user.name, ca_file
    save_settings(settings, runtime.paths.settings_file)
    held = store.save_session(outcome.user, outcome.projects, url, outcome.server_id)
    return {
        "server": url,
        "user": outcome.user.name,
        "role": outcome.user.role,
        "projects": [p.name for p in outcome.projects],
        "token": kept,
        "held": held.count,
    }
