"""What kind of asset a file is: by its content (magic bytes) first, then by its extension.

A PNG saved as ``.jpg`` or a render exported as ``.txt`` is still an image; a text format without a
signature (OBJ, ASCII STL, TGA has none at all) is recognised by its extension, and as a last resort
by a look at its first bytes.
"""

from __future__ import annotations

import zipfile
from enum import StrEnum
from typing import TYPE_CHECKING

from core.media.errors import InvalidMediaError, unreadable

if TYPE_CHECKING:
    from pathlib import Path

HEAD_BYTES = 4096


class AssetKind(StrEnum):
    IMAGE = "image"
    SEQUENCE = "sequence"
    VIDEO = "video"
    AUDIO = "audio"
    GEOMETRY = "geometry"
    DOCUMENT = "document"
    OTHER = "other"


IMAGE_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".exr", ".hdr", ".rgbe",
        ".webp", ".bmp", ".dib", ".tga", ".icb", ".vda", ".vst", ".psd", ".gif", ".dpx", ".cin",
        ".avif", ".heic", ".heif", ".jp2", ".j2k", ".ppm", ".pgm", ".pbm", ".pnm", ".sgi",
    }
)  # fmt: skip
VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".mxf", ".ts", ".mts", ".m2ts",
        ".mpg", ".mpeg", ".m2v", ".vob", ".flv", ".wmv", ".asf", ".ogv", ".3gp", ".3g2", ".dv",
        ".y4m",
    }
)  # fmt: skip
AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".m4a",
     ".au", ".snd", ".w64", ".caf"}
)  # fmt: skip
GEOMETRY_EXTENSIONS = frozenset(
    {
        ".obj", ".stl", ".ply", ".off", ".glb", ".gltf", ".3mf", ".fbx", ".dae", ".usd", ".usda",
        ".usdc", ".usdz", ".abc", ".blend", ".3ds", ".ma", ".mb", ".c4d", ".lwo", ".x3d", ".wrl",
        ".stp", ".step", ".igs", ".iges", ".3dxml",
    }
)  # fmt: skip
DOCUMENT_EXTENSIONS = frozenset(
    {
        ".pdf", ".txt", ".md", ".rst", ".csv", ".rtf", ".doc", ".docx", ".xls", ".xlsx", ".ppt",
        ".pptx", ".odt", ".ods", ".odp", ".html", ".htm", ".epub", ".svg",
    }
)  # fmt: skip

_EXTENSION_KINDS: dict[str, AssetKind] = {
    **dict.fromkeys(IMAGE_EXTENSIONS, AssetKind.IMAGE),
    **dict.fromkeys(VIDEO_EXTENSIONS, AssetKind.VIDEO),
    **dict.fromkeys(AUDIO_EXTENSIONS, AssetKind.AUDIO),
    **dict.fromkeys(GEOMETRY_EXTENSIONS, AssetKind.GEOMETRY),
    **dict.fromkeys(DOCUMENT_EXTENSIONS, AssetKind.DOCUMENT),
}

# Signatures at offset 0 that leave no doubt.
_PREFIX_SIGNATURES: tuple[tuple[bytes, AssetKind], ...] = (
    (b"\xff\xd8\xff", AssetKind.IMAGE),  # JPEG
    (b"\x89PNG\r\n\x1a\n", AssetKind.IMAGE),
    (b"II*\x00", AssetKind.IMAGE),  # TIFF little-endian (also DNG and most camera raws)
    (b"MM\x00*", AssetKind.IMAGE),
    (b"II+\x00", AssetKind.IMAGE),  # BigTIFF
    (b"MM\x00+", AssetKind.IMAGE),
    (b"v/1\x01", AssetKind.IMAGE),  # OpenEXR
    (b"#?RADIANCE", AssetKind.IMAGE),
    (b"#?RGBE", AssetKind.IMAGE),
    (b"8BPS", AssetKind.IMAGE),  # Photoshop
    (b"GIF87a", AssetKind.IMAGE),
    (b"GIF89a", AssetKind.IMAGE),
    (b"SDPX", AssetKind.IMAGE),  # DPX big-endian
    (b"XPDS", AssetKind.IMAGE),  # DPX little-endian
    (b"\x80\x2a\x5f\xd7", AssetKind.IMAGE),  # Cineon
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", AssetKind.IMAGE),  # JPEG 2000
    (b"\x1a\x45\xdf\xa3", AssetKind.VIDEO),  # Matroska / WebM (EBML)
    (b"\x06\x0e\x2b\x34", AssetKind.VIDEO),  # MXF (SMPTE universal label)
    (b"\x00\x00\x01\xba", AssetKind.VIDEO),  # MPEG program stream
    (b"FLV\x01", AssetKind.VIDEO),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", AssetKind.VIDEO),  # ASF / WMV
    (b"YUV4MPEG2", AssetKind.VIDEO),
    (b"fLaC", AssetKind.AUDIO),
    (b"ID3", AssetKind.AUDIO),  # MP3 with an ID3v2 tag
    (b".snd", AssetKind.AUDIO),  # Sun/NeXT audio (.au)
    (b"RF64", AssetKind.AUDIO),  # WAV over 4 GB
    (b"caff", AssetKind.AUDIO),  # Apple Core Audio
    (b"glTF", AssetKind.GEOMETRY),  # binary glTF
    (b"Kaydara FBX Binary", AssetKind.GEOMETRY),
    (b"PXR-USDC", AssetKind.GEOMETRY),
    (b"#usda", AssetKind.GEOMETRY),
    (b"Ogawa", AssetKind.GEOMETRY),  # Alembic
    (b"BLENDER", AssetKind.GEOMETRY),
    (b"%PDF-", AssetKind.DOCUMENT),
    (b"{\\rtf", AssetKind.DOCUMENT),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", AssetKind.DOCUMENT),  # legacy Office (OLE2)
)

_STILL_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_SYSTEM_NAMES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store", "icon\r"})
_SYSTEM_FOLDERS = frozenset({"__macosx", "$recycle.bin", "system volume information", "@eadir", ".trashes"})


def detect_kind(path: Path) -> AssetKind:
    """Kind of ``path`` from its content, then its extension. Empty files are refused."""
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
            size = stream.seek(0, 2)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if not head:
        raise InvalidMediaError(f"{path.name} is empty (0 bytes) ({path})", path)
    extension = path.suffix.lower()
    by_content = _kind_from_magic(path, head, size)
    if by_content is not None:
        return by_content
    by_extension = _EXTENSION_KINDS.get(extension)
    if by_extension is not None:
        return by_extension
    return _kind_from_text(head)


def _kind_from_magic(path: Path, head: bytes, size: int) -> AssetKind | None:
    for signature, kind in _PREFIX_SIGNATURES:
        if head.startswith(signature):
            return kind
    box_type = head[4:8]
    if box_type == b"ftyp":  # ISO base media: MP4, MOV, 3GP... or a HEIF/AVIF still
        brand = head[8:12]
        if brand in _AUDIO_BRANDS:
            return AssetKind.AUDIO
        return AssetKind.IMAGE if brand in _STILL_IMAGE_BRANDS else AssetKind.VIDEO
    if box_type in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return AssetKind.VIDEO  # old QuickTime files start without ftyp
    if head.startswith(b"RIFF") and len(head) >= 12:
        form = head[8:12]
        if form == b"WEBP":
            return AssetKind.IMAGE
        if form in (b"AVI ", b"AVIX"):
            return AssetKind.VIDEO
        if form == b"WAVE":
            return AssetKind.AUDIO
        return None
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return AssetKind.AUDIO
    if head.startswith(b"OggS"):
        # Ogg holds sound (Vorbis, Opus, FLAC) or pictures (Theora): the first page's codec says which.
        return AssetKind.VIDEO if b"\x80theora" in head[:256] else AssetKind.AUDIO
    if _is_bmp(head):
        return AssetKind.IMAGE
    if _is_transport_stream(head):
        return AssetKind.VIDEO
    if head.startswith(b"ply\n") or head.startswith(b"ply\r\n"):
        return AssetKind.GEOMETRY
    if head.startswith(b"PK\x03\x04"):
        return _kind_of_zip(path)
    if path.suffix.lower() in ("", ".bin", ".dat") and _is_binary_stl(head, size):
        return AssetKind.GEOMETRY
    return None


def _is_bmp(head: bytes) -> bool:
    # "BM" alone is too weak (plenty of text starts with it); the DIB header size pins it down.
    return (
        head.startswith(b"BM")
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES
    )


def _is_transport_stream(head: bytes) -> bool:
    return (len(head) >= 189 * 3 and all(head[i * 188] == 0x47 for i in range(3))) or (
        # M2TS (Blu-ray / AVCHD): 4-byte timestamp before each 188-byte packet
        len(head) >= 192 * 3 and all(head[4 + i * 192] == 0x47 for i in range(3))
    )


def _is_binary_stl(head: bytes, size: int) -> bool:
    if len(head) < 84:
        return False
    faces = int.from_bytes(head[80:84], "little")
    return faces > 0 and size == 84 + 50 * faces


def _kind_of_zip(path: Path) -> AssetKind | None:
    """Zip containers: 3MF, USDZ, Office and OpenDocument files are told apart by their members."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                mimetype = archive.read("mimetype")[:100]
                if mimetype.startswith(b"application/vnd.oasis.opendocument"):
                    return AssetKind.DOCUMENT
                if mimetype.startswith(b"application/epub"):
                    return AssetKind.DOCUMENT
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    lowered = [name.lower() for name in names]
    if "3d/3dmodel.model" in lowered:
        return AssetKind.GEOMETRY
    if lowered and lowered[0].endswith((".usd", ".usda", ".usdc")):
        return AssetKind.GEOMETRY  # USDZ: the first member is the root layer
    if any(name.startswith(("word/", "xl/", "ppt/")) for name in lowered):
        return AssetKind.DOCUMENT
    return None


def _kind_from_text(head: bytes) -> AssetKind:
    """Unknown extension: a last look at text formats that carry no signature."""
    if b"\x00" in head:
        return AssetKind.OTHER
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The read may have cut a multi-byte character in half; anything else is binary.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return AssetKind.OTHER
    stripped = text.lstrip()
    lowered = stripped[:2048].lower()
    if stripped.startswith("solid") and "facet" in lowered:
        return AssetKind.GEOMETRY
    if stripped.startswith(("OFF", "COFF", "NOFF")) and "\n" in stripped:
        return AssetKind.GEOMETRY
    if "<collada" in lowered:
        return AssetKind.GEOMETRY
    if stripped.startswith("{") and '"asset"' in lowered and '"version"' in lowered:
        return AssetKind.GEOMETRY  # glTF JSON
    lines = [line.split(maxsplit=1)[0] for line in stripped.splitlines()[:200] if line.strip()]
    obj_lines = sum(1 for word in lines if word in ("v", "vt", "vn", "f", "o", "g", "mtllib"))
    if lines and obj_lines >= max(3, len(lines) // 2):
        return AssetKind.GEOMETRY
    return AssetKind.DOCUMENT


def is_hidden_or_system(path: Path) -> bool:
    """Files and folders an ingest should skip silently: dotfiles, OS clutter, macOS zip debris.

    Only the name is checked for dotfiles (a library can live under a hidden folder such as
    ``~/.local``); the well-known system folders are checked anywhere in the path.
    """
    name = path.name
    if not name:
        return False
    lowered = name.lower()
    if name.startswith(".") or name.startswith("~$") or lowered in _SYSTEM_NAMES:
        return True
    return any(part.lower() in _SYSTEM_FOLDERS for part in path.parts)
