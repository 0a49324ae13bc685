"""Metadata for any asset: one entry point that dispatches on the asset kind.

Every result is JSON-serialisable and carries ``size_bytes``. Files over the size limit are refused
before their content is read; images are refused on their header dimensions before decoding.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from core.media.errors import (
    InvalidMediaError,
    MediaError,
    NotASequenceError,
    SoundOnlyError,
    UnsupportedMediaError,
    unreadable,
)
from core.media.kinds import AssetKind

if TYPE_CHECKING:
    from pathlib import Path

    from core.media.limits import MediaLimits
    from core.media.sequences import FrameSequence

log = logging.getLogger(__name__)

DEFAULT_SEQUENCE_FPS = 24.0
_MAX_LISTED_MISSING = 1000
_PDF_SCAN_LIMIT = 64 << 20
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def check_file_size(path: Path, limits: MediaLimits) -> int:
    """Size in bytes of a regular, non-empty file within the limit; raises otherwise."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if path.is_dir():
        raise InvalidMediaError(f"{path.name} is a folder, not a file ({path})", path)
    if stat.st_size == 0:
        raise InvalidMediaError(f"{path.name} is empty (0 bytes) ({path})", path)
    if stat.st_size > limits.max_file_size_bytes:
        raise InvalidMediaError(
            f"{path.name} is {stat.st_size / 2**20:,.0f} MB, over the "
            f"{limits.max_file_size_bytes / 2**20:,.0f} MB file size limit ({path})",
            path,
        )
    return stat.st_size


def probe(path: Path, kind: AssetKind, limits: MediaLimits) -> dict[str, Any]:
    """Metadata of ``path``; its ``kind`` entry is the kind found, which for a video container that
    holds only sound is ``audio`` (an MP4 or Matroska header cannot tell them apart; the streams can)."""
    size = check_file_size(path, limits)
    metadata: dict[str, Any]
    if kind is AssetKind.VIDEO:
        from core.media.probe_video import probe_video

        try:
            return {"kind": str(kind), "size_bytes": size, **probe_video(path)}
        except SoundOnlyError:
            kind = AssetKind.AUDIO
    if kind in (AssetKind.IMAGE, AssetKind.SEQUENCE):
        from core.media.probe_image import probe_image

        metadata = probe_image(path, limits)
    elif kind is AssetKind.AUDIO:
        from core.media.probe_audio import probe_audio

        metadata = probe_audio(path)
    elif kind is AssetKind.GEOMETRY:
        from core.media.geometry_sandbox import probe_geometry_sandboxed

        try:
            metadata = probe_geometry_sandboxed(path, limits)
        except UnsupportedMediaError as exc:
            # FBX, USD, Alembic...: valid assets we cannot inspect here; the render lane may.
            log.info("%s", exc)
            metadata = {"format": path.suffix.lower().lstrip("."), "inspected": False}
    elif kind is AssetKind.DOCUMENT:
        metadata = _probe_document(path, size)
    else:
        metadata = {"format": path.suffix.lower().lstrip(".") or None}
    return {"kind": str(kind), "size_bytes": size, **metadata}


def probe_sequence(seq: FrameSequence, limits: MediaLimits) -> dict[str, Any]:
    """The first frame's image metadata plus the range, count and gaps of the sequence."""
    first = probe(seq.paths[0], AssetKind.IMAGE, limits)
    missing = seq.missing_frames
    count = len(seq.frames)
    return {
        **first,
        "kind": str(AssetKind.SEQUENCE),
        "size_bytes": None,
        "first_frame_size_bytes": first["size_bytes"],
        "pattern": seq.pattern,
        "display_name": seq.display_name,
        "first": seq.first,
        "last": seq.last,
        "count": count,
        "missing": list(missing[:_MAX_LISTED_MISSING]),
        "missing_count": len(missing),
        "fps": DEFAULT_SEQUENCE_FPS,
        "duration_s": round((seq.last - seq.first + 1) / DEFAULT_SEQUENCE_FPS, 6),
    }


def check_sequence_frames(seq: FrameSequence, limits: MediaLimits) -> str:
    """Why ``seq`` is one sequence: its name-level reason plus the format and size all frames share.

    Raises :class:`NotASequenceError` when readable frames differ in format or size: files that only
    happen to be numbered alike. A frame whose header cannot be read (a render that died mid-write)
    does not split a sequence; the sequence's own probe and thumbnails report it.
    """
    from core.media.probe_image import read_image_header

    shapes: dict[tuple[str, int, int], list[Path]] = {}
    for frame in seq.paths:
        try:
            header = read_image_header(frame, limits)
        except MediaError:
            continue
        shapes.setdefault((header.format, header.width, header.height), []).append(frame)
    if len(shapes) > 1:
        found = "; ".join(
            f"{len(paths)} {fmt} {width}×{height}" for (fmt, width, height), paths in shapes.items()
        )
        raise NotASequenceError(
            f"{seq.display_name}: numbered alike but not one sequence ({found}); kept as separate images",
            seq.paths,
        )
    if not shapes:
        return seq.reason
    ((fmt, width, height),) = shapes
    return f"{seq.reason}; every frame {fmt} {width}×{height}"


def _probe_document(path: Path, size: int) -> dict[str, Any]:
    extension = path.suffix.lower().lstrip(".")
    result: dict[str, Any] = {"format": extension or None}
    try:
        with path.open("rb") as stream:
            is_pdf = stream.read(5) == b"%PDF-"
            if is_pdf and size <= _PDF_SCAN_LIMIT:
                stream.seek(0)
                # Counting page objects is cheap and right for most files; PDFs that hide
                # their pages in compressed object streams simply get no count.
                pages = len(_PDF_PAGE.findall(stream.read()))
                if pages:
                    result["pages"] = pages
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if is_pdf:
        result["format"] = "pdf"
    return result
