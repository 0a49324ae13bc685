"""What a launch asks the desktop app to do: its arguments read as files to ingest and assets to open.

Arguments come from a terminal (``stratopipe shot.exr``), a file manager's "open with" or a drop on the
launcher (``file://`` URIs: the ``.desktop`` file passes ``%U``), or a ``stratopipe://`` link in a chat or
a review note: ``stratopipe://asset/<id>`` opens a cataloged asset, ``stratopipe://open?path=<path>``
ingests a file. Qt-free so the CLI and tests read links exactly as the app does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterable

SCHEME = "stratopipe"


class LinkError(ValueError):
    """A ``stratopipe://`` link the app cannot follow; the message says why."""


@dataclass(frozen=True)
class LaunchRequest:
    """Files and folders to ingest and asset ids to open, in the order given; ``errors`` for the rest."""

    paths: tuple[Path, ...] = ()
    asset_ids: tuple[int, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.paths or self.asset_ids or self.errors)


def parse_link(link: str) -> Path | int:
    """A ``stratopipe://`` link: an asset id to open, or a path to ingest."""
    parts = urlsplit(link)
    if parts.scheme.lower() != SCHEME:
        raise LinkError(f"not a {SCHEME}:// link: {link}")
    action = parts.netloc.lower()
    if action == "asset":
        number = parts.path.strip("/")
        if not number.isdigit() or int(number) <= 0:
            raise LinkError(f"{link}: an asset link is {SCHEME}://asset/<id> with a positive number")
        return int(number)
    if action == "open":
        # parse_qs decodes percent-escapes once; a path with '&' or '#' must be percent-encoded.
        paths = parse_qs(parts.query).get("path", [])
        if len(paths) != 1 or not paths[0]:
            raise LinkError(f"{link}: an open link is {SCHEME}://open?path=<file or folder>")
        return Path(paths[0]).expanduser()
    raise LinkError(f"{link}: unknown action {action!r} (expected asset or open)")


def parse_launch_arguments(arguments: Iterable[str], cwd: Path) -> LaunchRequest:
    """Read a launch's arguments; relative paths are resolved against the launching process's folder,
    since the app that ingests them (maybe an instance started elsewhere) has another one."""
    paths: list[Path] = []
    asset_ids: list[int] = []
    errors: list[str] = []
    for argument in arguments:
        scheme = urlsplit(argument).scheme.lower()
        try:
            if scheme == SCHEME:
                target = parse_link(argument)
            elif scheme == "file":
                target = Path(unquote(urlsplit(argument).path))
            else:
                target = Path(argument).expanduser()
        except LinkError as exc:
            errors.append(str(exc))
            continue
        if isinstance(target, int):
            asset_ids.append(target)
        else:
            paths.append(target if target.is_absolute() else cwd / target)
    return LaunchRequest(tuple(paths), tuple(asset_ids), tuple(errors))
