"""Errors raised by the media layer.

``str(exc)`` is written for the artist: it says what is wrong and with which file. The ingest pipeline
maps :class:`InvalidMediaError` to a failed asset that is never retried, and
:class:`UnreadableMediaError` to a retry (the file may be busy, on a slow share, or fixed later).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


class MediaError(Exception):
    """Base class for every media failure; carries the file it is about."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class InvalidMediaError(MediaError):
    """Truncated, empty, too large, a decompression bomb, corrupt or unsupported. Never retried."""


class UnsupportedMediaError(InvalidMediaError):
    """A valid file we have no decoder for (e.g. DPX): catalogued with a placeholder thumbnail."""


class SoundOnlyError(InvalidMediaError):
    """A video container (MP4, MOV, Matroska...) that holds sound and no moving picture: an audio
    asset. Only cover art, if anything, is there to look at."""


class NotASequenceError(MediaError):
    """Files named like frames whose headers disagree (size, format): ingest takes them one by one."""

    def __init__(self, message: str, frames: tuple[Path, ...]) -> None:
        super().__init__(message, frames[0])
        self.frames = frames


class UnreadableMediaError(MediaError):
    """Permission denied, vanished, or an I/O error: the file may be fine later."""


def unreadable(path: Path, exc: OSError) -> UnreadableMediaError:
    """Turn an ``OSError`` into a message that names the file and the reason in plain words."""
    if isinstance(exc, FileNotFoundError):
        reason = "it no longer exists (moved or deleted?)"
    elif isinstance(exc, PermissionError):
        reason = "permission denied"
    elif isinstance(exc, IsADirectoryError):
        reason = "it is a folder, not a file"
    else:
        reason = exc.strerror or str(exc)
    return UnreadableMediaError(f"Cannot read {path.name}: {reason} ({path})", path)
