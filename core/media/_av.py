"""Opening media with PyAV so that every failure becomes a clear :class:`MediaError`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.media.errors import InvalidMediaError, SoundOnlyError, unreadable

if TYPE_CHECKING:
    from pathlib import Path


def open_container(path: Path, what: str = "video") -> Any:
    """``path`` opened for reading; ``what`` names the file in the error ("video", "sound file")."""
    import av

    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise unreadable(path, exc) from exc
    except av.FFmpegError as exc:
        raise InvalidMediaError(
            f"{path.name} is not a playable {what} (corrupt, truncated or an unsupported format: "
            f"{_reason(exc)}) ({path})",
            path,
        ) from exc


def first_video_stream(container: Any, path: Path) -> Any:
    """The first stream of moving pictures; cover art (an "attached picture": one still that music
    and podcast files carry) does not count."""
    from av.stream import Disposition

    moving = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
    if moving:
        return moving[0]
    if container.streams.audio:
        raise SoundOnlyError(f"{path.name} holds sound and no video ({path})", path)
    raise InvalidMediaError(f"{path.name} has no video stream ({path})", path)


def decode_error(path: Path, exc: Exception, what: str = "video") -> InvalidMediaError:
    return InvalidMediaError(
        f"{path.name} could not be decoded (corrupt or truncated {what}: {_reason(exc)}) ({path})",
        path,
    )


def _reason(exc: Exception) -> str:
    message = getattr(exc, "strerror", None) or str(exc)
    return str(message).rstrip(".")
