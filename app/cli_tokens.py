"""What the sync commands share: how they end when the server says no or cannot be reached, and
where the token of this machine's sign-in comes from (environment, token file, keyring)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from app.runtime import Runtime


class Refused(Exception):
    """Not signed in, or the server (or the user's role) said no: exit 3 with the message."""


class Failed(Exception):
    """The command could not do its work (network, certificate, time-out): exit 1 with the message."""


def stored_token(runtime: Runtime, args: argparse.Namespace) -> tuple[str, str] | None:
    """(token, where it came from): ``STRATOPIPE_TOKEN``, then ``--token-file``, then the keyring."""
    from core.sync.credentials import TOKEN_ENV, TokenStore, read_token_file

    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV], "environment"
    token_file: Path | None = getattr(args, "token_file", None)
    if token_file is not None:
        token = read_token_file(token_file)
        return (token, "file") if token else None
    url, username = runtime.settings.server_url, runtime.settings.username
    if not url or not username:
        return None
    token = TokenStore().load(url, username)
    return (token, "keyring") if token else None


def signed_in_token(runtime: Runtime, args: argparse.Namespace) -> str:
    from core.sync.credentials import TokenStore

    found = stored_token(runtime, args)
    if found is not None and runtime.settings.server_url:
        return found[0]
    hint = "run `stratopipe sync login --server URL --user NAME --password-stdin`"
    status = TokenStore().keyring_status()
    if not status.persistent:
        hint += f" with --token-file, or set STRATOPIPE_TOKEN (no system keyring here: {status.backend})"
    raise Refused(f"not signed in: {hint}")
