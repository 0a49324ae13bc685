"""Turning catalog values into the short text an artist reads: sizes, durations, frame ranges, metadata.

Pure functions over plain records (no Qt), so the delegate, the inspector and the jobs panel agree.
Metadata keys come from the media probes; each kind lists the keys it knows in the order an artist
scans them, and the probes' other scalar keys follow under their own names, so nothing is hidden.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.catalog.records import AssetRecord

KIND_LABELS = {
    "image": "Image",
    "sequence": "Sequence",
    "video": "Video",
    "audio": "Audio",
    "geometry": "Geometry",
    "document": "Document",
    "other": "Other",
}
KIND_PLURALS = {
    "image": "Images",
    "sequence": "Sequences",
    "video": "Videos",
    "audio": "Audio",
    "geometry": "Geometry",
    "document": "Documents",
    "other": "Other",
}


def human_size(size_bytes: int | float | None) -> str:
    if size_bytes is None:
        return "–"
    value = float(size_bytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def human_duration(seconds: float | None) -> str:
    """``0:07``, ``12:30``, ``1:02:03``; under ten seconds with a decimal (``4.2s``) for short jobs."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def first_value(metadata: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = metadata.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def video_duration(metadata: dict[str, Any]) -> float | None:
    value = first_value(metadata, "duration_s", "duration", "seconds")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def frame_range(record: AssetRecord) -> str | None:
    if record.frame_first is None or record.frame_last is None:
        return None
    return f"{record.frame_first}–{record.frame_last}"


def format_label(record: AssetRecord) -> str:
    """The short badge on a tile: the file format (``EXR``, ``MP4``), else the kind."""
    fmt = record.metadata.get("format")
    suffix = Path(record.path.replace("#", "0")).suffix.lstrip(".").lower()
    if isinstance(fmt, str) and fmt and fmt.upper() != "UNKNOWN":
        # FFmpeg names a demuxer by every format it reads ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"):
        # the file's own suffix says which one this is; without one the first name stands for them all.
        names = [name for name in fmt.lower().split(",") if name]
        chosen = names[0] if len(names) == 1 or not suffix else suffix
        return chosen.upper()[:5]
    return (suffix or record.kind).upper()[:5]


def _resolution(metadata: dict[str, Any]) -> str | None:
    width, height = metadata.get("width"), metadata.get("height")
    if isinstance(width, int) and isinstance(height, int):
        return f"{width} × {height}"
    return None


def _fps(value: Any) -> str:
    try:
        return f"{float(value):.3f}".rstrip("0").rstrip(".") + " fps"
    except (TypeError, ValueError):
        return str(value)


def _bbox(value: Any) -> str:
    """Bounding box as its size (what an artist wants: how big is it) when given as min/max corners."""
    try:
        low, high = value
        size = [float(h) - float(lo) for lo, h in zip(low, high, strict=True)]
        return " × ".join(f"{s:.3g}" for s in size)
    except (TypeError, ValueError):
        return str(value)


def _yes_no(value: Any) -> str:
    return "yes" if value else "no"


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _bit_rate(value: Any) -> str:
    rate = float(value)
    return f"{rate / 1e6:.1f} Mb/s" if rate >= 1e6 else f"{rate / 1e3:.0f} kb/s"


_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "MP4 / QuickTime", "matroska,webm": "Matroska / WebM"}


def _container(value: Any) -> str:
    """FFmpeg names demuxers by family ("mov,mp4,m4a,…"); artists know the family by its common name."""
    text = str(value)
    return _CONTAINERS.get(text, text.split(",")[0].upper())


def _audio(value: Any) -> str:
    return _yes_no(value) if isinstance(value, bool) else str(value)


def _scene_cuts(value: Any) -> str:
    cuts = [int(c) for c in value]
    shown = ", ".join(str(c) for c in cuts[:6]) + (" …" if len(cuts) > 6 else "")
    return f"{len(cuts)} (frames {shown})"


Field = tuple[str, tuple[str, ...], Callable[[Any], str]]

_IMAGE_FIELDS: list[Field] = [
    ("Format", ("format",), str),
    ("Channels", ("mode",), str),
    ("Bit depth", ("bit_depth",), lambda v: f"{v}-bit"),
    ("Colour space", ("color_space", "colour_space"), str),
    ("Alpha", ("has_alpha",), _yes_no),
    ("Compression", ("compression",), str),
    ("Layers / parts", ("parts", "frames"), _count),
]
_VIDEO_FIELDS: list[Field] = [
    ("Codec", ("codec", "video_codec", "codec_name"), str),
    ("Frame rate", ("fps", "frame_rate", "rate"), _fps),
    ("Duration", ("duration_s", "duration"), lambda v: human_duration(float(v))),
    ("Frames", ("frames", "frame_count", "nb_frames"), _count),
    ("Pixel format", ("pix_fmt", "pixel_format"), str),
    ("Bit rate", ("bit_rate",), _bit_rate),
    ("Audio", ("audio_codec", "audio"), _audio),
    ("Container", ("format",), _container),
    ("Scene cuts", ("scene_cuts",), _scene_cuts),
]

_AUDIO_FIELDS: list[Field] = [
    ("Codec", ("codec",), str),
    ("Duration", ("duration_s",), lambda v: human_duration(float(v))),
    ("Sample rate", ("sample_rate",), lambda v: f"{int(v):,} Hz"),
    ("Channels", ("channels",), lambda v: f"{int(v)}"),
    ("Layout", ("channel_layout",), str),
    ("Sample format", ("sample_format",), str),
    ("Bit rate", ("bit_rate",), _bit_rate),
    ("Container", ("format",), _container),
    ("Audio streams", ("audio_streams",), _count),
]


def _missing_frames(value: Any) -> str:
    return f"{int(value):,} missing" if int(value) else "none"


_SEQUENCE_FIELDS: list[Field] = [
    *(field for field in _IMAGE_FIELDS if field[0] != "Layers / parts"),
    ("Frame rate", ("fps",), _fps),
    ("Duration", ("duration_s",), lambda v: human_duration(float(v))),
    ("Gaps", ("missing_count",), _missing_frames),
    ("Grouped because", ("grouped_because",), str),
]
_GEOMETRY_FIELDS: list[Field] = [
    ("Format", ("format",), str),
    ("Vertices", ("vertices", "vertex_count"), _count),
    ("Faces", ("faces", "face_count", "triangles"), _count),
    ("Parts", ("parts", "meshes", "geometry_count"), _count),
    ("Size (bbox)", ("bbox", "bounds"), _bbox),
    ("UVs", ("has_uv", "uv", "has_uvs"), _yes_no),
    ("Materials", ("materials",), _count),
    ("Textures", ("textures",), _count),
    ("Sidecar files", ("sidecars",), lambda v: ", ".join(str(name) for name in v)),
]
_FIELDS_BY_KIND = {
    "image": _IMAGE_FIELDS,
    "sequence": _SEQUENCE_FIELDS,
    "video": _VIDEO_FIELDS,
    "audio": _AUDIO_FIELDS,
    "geometry": _GEOMETRY_FIELDS,
}
# Shown elsewhere (title, path, size, tags) or too bulky for a form row.
_HIDDEN_KEYS = frozenset(
    {
        "width",
        "height",
        "exif",
        "channel_names",
        "tags",
        "fps_rational",
        "frames_estimated",
        "duration_estimated",
        "audio",  # a sound file's "has sound" (a video lists it as a field)
        "codec_long",
        "kind",
        "size_bytes",
        "channels",
        "path",
        "name",
        "content_hash",
        "sequence",
        # Sequence bookkeeping shown as "Frames 1001–1100 (100)" and "Gaps" instead.
        "count",
        "first",
        "last",
        "missing",
        "pattern",
        "display_name",
        "first_frame_size_bytes",
        "frames",
    }
)


def metadata_rows(record: AssetRecord) -> list[tuple[str, str]]:
    """(label, value) rows for the inspector's metadata form, kind-specific first."""
    meta = record.metadata
    rows: list[tuple[str, str]] = [("Kind", KIND_LABELS.get(record.kind, record.kind.title()))]
    resolution = _resolution(meta)
    if resolution:
        rows.append(("Resolution", resolution))
    if record.is_sequence and record.frame_first is not None:
        count = (record.frame_last or record.frame_first) - record.frame_first + 1
        rows.append(("Frames", f"{frame_range(record)}  ({count:,})"))
    rows.append(("File size", human_size(record.size_bytes)))
    used: set[str] = set(_HIDDEN_KEYS)
    for label, keys, render in _FIELDS_BY_KIND.get(record.kind, []):
        value = first_value(meta, *keys)
        used.update(keys)
        if value is None:
            continue
        try:
            rows.append((label, render(value)))
        except (TypeError, ValueError):
            rows.append((label, str(value)))
    rows.extend(
        (key.replace("_", " ").capitalize(), _scalar(value))
        for key, value in sorted(meta.items())
        if key not in used and isinstance(value, str | int | float | bool) and value != ""
    )
    return rows


def exif_rows(record: AssetRecord) -> list[tuple[str, str]]:
    exif = record.metadata.get("exif")
    if not isinstance(exif, dict):
        return []
    return [
        (str(k).replace("_", " ").capitalize(), _scalar(v)) for k, v in exif.items() if v not in ("", None)
    ]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
