"""Image metadata from headers only: dimensions are known (and bombs refused) before any decode.

A header says how much memory decoding the image takes (width x height x channels x bytes per
channel); that figure is checked against the limits before anything that may touch pixel data runs,
EXIF and ICC reads included.
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.media.errors import InvalidMediaError, unreadable

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image as PILImage

    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)

_HEAD = 64

# (signature, format name) checked at offset 0; TGA has no signature and is known by extension.
_FORMAT_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"v/1\x01", "EXR"),
    (b"#?RADIANCE", "HDR"),
    (b"#?RGBE", "HDR"),
    (b"8BPS", "PSD"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"SDPX", "DPX"),
    (b"XPDS", "DPX"),
    (b"\x80\x2a\x5f\xd7", "CINEON"),
)
_EXTENSION_FORMATS = {".tga": "TGA", ".icb": "TGA", ".vda": "TGA", ".vst": "TGA"}
# Formats we can catalog but not decode here: they get a placeholder thumbnail.
UNDECODABLE_FORMATS = frozenset({"DPX", "CINEON"})

_EXIF_IFD = 0x8769
_TAG_MAKE, _TAG_MODEL, _TAG_DATETIME = 0x010F, 0x0110, 0x0132
_TAG_EXPOSURE, _TAG_FNUMBER, _TAG_ISO = 0x829A, 0x829D, 0x8827
_TAG_DATETIME_ORIGINAL, _TAG_FOCAL_LENGTH, _TAG_LENS_MODEL = 0x9003, 0x920A, 0xA434
_TAG_COLOR_SPACE, _TAG_ORIENTATION = 0xA001, 0x0112


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """Memory of the decoded pixels: width x height x channels x bytes per channel."""
        # A palette image decodes to RGB(A), not to its one index per pixel.
        channels = 4 if self.details.get("mode") == "P" else self.details.get("channels")
        return decoded_size(self.width, self.height, channels, self.details.get("bit_depth"))


def decoded_size(width: int, height: int, channels: int | None, bit_depth: int | None) -> int:
    # Unknown channel counts or depths count as RGBA, 8 bits: never less than a decoder allocates.
    samples = max(int(channels or 4), 1)
    depth = max(int(bit_depth or 8), 8)
    return width * height * samples * ((depth + 7) // 8)


def sniff_image_format(path: Path, head: bytes) -> str:
    for signature, name in _FORMAT_SIGNATURES:
        if head.startswith(signature):
            return name
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    return _EXTENSION_FORMATS.get(path.suffix.lower(), "UNKNOWN")


def pillow() -> Any:
    """Import Pillow with its global pixel guard off: we enforce our own configurable limit on
    every image before decoding, and Pillow's fixed one would refuse images the user allowed
    (and warn about them mid-decode)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    return Image


def read_image_header(path: Path, limits: MediaLimits) -> ImageHeader:
    """Format and dimensions from the file's header, refusing oversized files and bombs."""
    try:
        size = path.stat().st_size
        with path.open("rb") as stream:
            head = stream.read(_HEAD)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if size == 0:
        raise InvalidMediaError(f"{path.name} is empty (0 bytes) ({path})", path)
    if size > limits.max_file_size_bytes:
        raise InvalidMediaError(
            f"{path.name} is {size / 2**20:,.0f} MB, over the {limits.max_file_size_bytes / 2**20:,.0f}"
            f" MB file size limit ({path})",
            path,
        )
    image_format = sniff_image_format(path, head)
    if image_format == "EXR":
        header = _exr_header(path)
    elif image_format == "HDR":
        header = _radiance_header(path)
    elif image_format in UNDECODABLE_FORMATS:
        header = _film_scan_header(path, image_format)
    else:
        return _pillow_header(path, image_format, limits)
    ensure_decodable(path, header, limits)
    return header


def ensure_decodable(path: Path, header: ImageHeader, limits: MediaLimits) -> None:
    """Refuse an image whose header promises more pixels, or more decoded bytes, than the limits."""
    width, height = header.width, header.height
    if width <= 0 or height <= 0:
        raise InvalidMediaError(f"{path.name} claims an empty image ({width} x {height}) ({path})")
    pixels = width * height
    if pixels > limits.max_image_pixels:
        raise InvalidMediaError(
            f"{path.name} is {width:,} x {height:,} pixels ({pixels / 1e6:,.0f} megapixels), over "
            f"the {limits.max_image_pixels / 1e6:,.0f} megapixel limit; it was not decoded (it may be "
            f"a decompression bomb) ({path})",
            path,
        )
    needed = header.decoded_bytes
    if needed > limits.max_decoded_bytes:
        channels = header.details.get("channels") or 4
        depth = header.details.get("bit_depth") or 8
        raise InvalidMediaError(
            f"{path.name} is {width:,} x {height:,} pixels with {channels} channels of {depth} bits: "
            f"{needed / 2**20:,.0f} MB once decoded, over the {limits.max_decoded_bytes / 2**20:,.0f} MB "
            f"an image may take of the {limits.decode_budget_bytes / 2**20:,.0f} MB ingest memory "
            f"budget (ingest_memory_mb); it was not decoded (it may be a decompression bomb) ({path})",
            path,
        )


def probe_image(path: Path, limits: MediaLimits) -> dict[str, Any]:
    header = read_image_header(path, limits)
    _check_not_truncated(path, header.format)
    return {"format": header.format, "width": header.width, "height": header.height, **header.details}


def _check_not_truncated(path: Path, image_format: str) -> None:
    """Cheap end-of-file checks: a cut JPEG or PNG lost its end marker."""
    if image_format not in ("JPEG", "PNG"):
        return
    try:
        with path.open("rb") as stream:
            size = stream.seek(0, 2)
            stream.seek(max(0, size - 65536))
            tail = stream.read()
    except OSError as exc:
        raise unreadable(path, exc) from exc
    marker = b"\xff\xd9" if image_format == "JPEG" else b"IEND"
    if marker not in tail:
        raise InvalidMediaError(
            f"{path.name} is truncated: the {image_format} data ends early (incomplete copy or "
            f"download?) ({path})",
            path,
        )


def _pillow_header(path: Path, image_format: str, limits: MediaLimits) -> ImageHeader:
    image_module = pillow()
    from PIL import UnidentifiedImageError

    try:
        with image_module.open(path) as image:
            name = image.format or image_format
            layout = _pillow_layout(path, image, image_format)
            # Before the details: some of Pillow's metadata reads decode the whole image.
            ensure_decodable(path, ImageHeader(name, image.width, image.height, layout), limits)
            details = {**layout, **_pillow_details(image)}
            return ImageHeader(name, image.width, image.height, details)
    except UnidentifiedImageError as exc:
        if image_format == "TIFF":
            # Pillow opens no multi-channel float TIFF (Nuke's, tifffile's); its own tags still say
            # what it is, and OpenCV decodes it.
            header = _tiff_header(path)
            ensure_decodable(path, header, limits)
            return header
        raise InvalidMediaError(
            f"{path.name} is not an image this version can read (unknown or corrupt format) ({path})",
            path,
        ) from exc
    except OSError as exc:
        if isinstance(exc, FileNotFoundError | PermissionError):
            raise unreadable(path, exc) from exc
        raise InvalidMediaError(f"{path.name} has a corrupt image header: {exc} ({path})") from exc
    except (ValueError, SyntaxError, EOFError) as exc:  # Pillow's plugins raise these on junk
        raise InvalidMediaError(f"{path.name} has a corrupt image header: {exc} ({path})") from exc


def _pillow_layout(path: Path, image: PILImage.Image, image_format: str) -> dict[str, Any]:
    """Channels and depth as the header states them (nothing here reads pixel data)."""
    bands = image.getbands()
    has_alpha = "A" in bands or "transparency" in image.info
    return {
        "channels": len(bands),
        "mode": image.mode,
        "bit_depth": _bit_depth(path, image, image_format),
        "has_alpha": has_alpha,
    }


def _pillow_details(image: PILImage.Image) -> dict[str, Any]:
    details: dict[str, Any] = {"color_space": "sRGB"}
    icc = image.info.get("icc_profile")
    if icc:
        details["color_space"] = _icc_name(icc) or "ICC profile"
    exif = _exif_subset(image)
    if exif:
        if exif.pop("_uncalibrated", False) and not icc:
            details["color_space"] = "uncalibrated"
        if exif:
            details["exif"] = exif
    frame_count = int(getattr(image, "n_frames", 1))
    if frame_count > 1:
        details["frames"] = frame_count
    return details


def _bit_depth(path: Path, image: PILImage.Image, image_format: str) -> int:
    if image_format == "PNG":
        # Pillow reports 16-bit RGB PNGs as 8-bit "RGB"; IHDR byte 24 holds the real depth.
        with path.open("rb") as stream:
            head = stream.read(26)
        if len(head) >= 25:
            return int(head[24])
    if image_format == "TIFF":
        bits = getattr(image, "tag_v2", {}).get(258)
        if isinstance(bits, tuple) and bits:
            return int(bits[0])
        if isinstance(bits, int):
            return bits
    if image.mode == "1":
        return 1
    if image.mode.startswith("I;16"):
        return 16
    if image.mode in ("I", "F"):
        return 32
    return 8


def _icc_name(icc: bytes) -> str | None:
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile)
    except (ImportError, OSError, ValueError) as exc:
        log.debug("Unreadable ICC profile: %s", exc)
        return None
    return str(description).strip() or None


def _exif_subset(image: PILImage.Image) -> dict[str, Any]:
    """Camera, lens, date, ISO and exposure where the file has them; JSON-safe values only."""
    if image.format == "PNG" and "exif" not in image.info:
        # Pillow's PNG getexif() decodes the whole image to look for an eXIf chunk after the
        # pixels; one placed there is not worth a full decode at ingest.
        return {}
    try:
        exif = image.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
    except (OSError, ValueError, SyntaxError) as exc:
        log.debug("Unreadable EXIF: %s", exc)
        return {}
    if not exif and not sub:
        return {}

    def value(tag: int) -> Any:
        found = sub.get(tag, exif.get(tag))
        if found is None:
            return None
        if isinstance(found, bytes):
            found = found.decode("utf-8", "replace")
        if isinstance(found, str):
            return found.strip("\x00 ").strip() or None
        if isinstance(found, tuple):
            found = found[0] if found else None
        try:
            return float(found) if found is not None else None
        except (TypeError, ValueError, ZeroDivisionError):
            return None

    result: dict[str, Any] = {}
    camera = " ".join(part for part in (value(_TAG_MAKE), value(_TAG_MODEL)) if part)
    if camera:
        result["camera"] = camera
    for key, tag in (("lens", _TAG_LENS_MODEL), ("focal_length_mm", _TAG_FOCAL_LENGTH)):
        if (found := value(tag)) is not None:
            result[key] = found
    date = value(_TAG_DATETIME_ORIGINAL) or value(_TAG_DATETIME)
    if date:
        result["date"] = str(date)
    iso = value(_TAG_ISO)
    if iso is not None:
        result["iso"] = int(iso)
    exposure = value(_TAG_EXPOSURE)
    if isinstance(exposure, float) and exposure > 0:
        result["exposure_s"] = exposure
        result["exposure"] = f"1/{round(1 / exposure)}" if exposure < 1 else f"{exposure:g}"
    fnumber = value(_TAG_FNUMBER)
    if isinstance(fnumber, float) and fnumber > 0:
        result["f_number"] = fnumber
    orientation = value(_TAG_ORIENTATION)
    if orientation is not None and orientation != 1.0:
        result["orientation"] = int(orientation)  # width/height above are as stored, not as shown
    if value(_TAG_COLOR_SPACE) == 65535.0:
        result["_uncalibrated"] = True
    return result


def _exr_header(path: Path) -> ImageHeader:
    import OpenEXR

    try:
        exr = OpenEXR.File(str(path), header_only=True)
        header = exr.header()
    except (RuntimeError, OSError, ValueError) as exc:
        raise InvalidMediaError(f"{path.name} is not a readable OpenEXR file: {exc} ({path})") from exc
    low, high = header["dataWindow"]
    width, height = int(high[0] - low[0] + 1), int(high[1] - low[1] + 1)
    names = [channel.name for channel in header.get("channels", [])]
    details: dict[str, Any] = {
        "channels": len(names),
        "channel_names": names,
        "mode": "".join(n for n in ("R", "G", "B", "A") if n in names) or "/".join(names[:4]),
        "bit_depth": _exr_bit_depth(path),
        "has_alpha": "A" in names,
        "color_space": "linear",
        "compression": str(header.get("compression", "")).rsplit(".", 1)[-1].lower(),
        "parts": len(exr.parts),
    }
    if "chromaticities" in header:
        details["color_space"] = "linear (custom chromaticities)"
    return ImageHeader("EXR", width, height, details)


def _exr_bit_depth(path: Path) -> int | None:
    """Deepest channel type from the raw ``chlist`` attribute (the binding does not expose the
    pixel type without reading pixels): HALF is 16 bits, UINT and FLOAT 32."""
    with path.open("rb") as stream:
        head = stream.read(65536)
    marker = head.find(b"channels\x00chlist\x00")
    if marker < 0:
        return None
    position = marker + len(b"channels\x00chlist\x00") + 4
    depths: list[int] = []
    while position < len(head) and head[position] != 0:
        name_end = head.find(b"\x00", position)
        if name_end < 0 or name_end + 5 > len(head):
            break
        (pixel_type,) = struct.unpack_from("<i", head, name_end + 1)
        depths.append(16 if pixel_type == 1 else 32)
        position = name_end + 1 + 16  # type, pLinear + 3 reserved, xSampling, ySampling
    return max(depths) if depths else None


_TIFF_TYPES = {3: ("H", 2), 4: ("I", 4)}  # SHORT, LONG: the types the size and layout tags use
_TIFF_FLOAT = 3  # SampleFormat (tag 339): IEEE floating point


def _tiff_header(path: Path) -> ImageHeader:
    """Size and layout from a classic TIFF's first directory (no pixel data is read)."""
    with path.open("rb") as stream:
        data = stream.read(_HEAD)
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8 or struct.unpack_from(f"{order}H", data, 2)[0] != 42:
        raise InvalidMediaError(f"{path.name} is a TIFF variant this version cannot read ({path})", path)
    offset = struct.unpack_from(f"{order}I", data, 4)[0]
    with path.open("rb") as stream:
        stream.seek(offset)
        count_bytes = stream.read(2)
        if len(count_bytes) < 2:
            raise InvalidMediaError(f"{path.name} has a truncated TIFF header ({path})", path)
        count = struct.unpack(f"{order}H", count_bytes)[0]
        entries = stream.read(12 * count)
    tags: dict[int, int] = {}
    for index in range(len(entries) // 12):
        tag, kind, values = struct.unpack_from(f"{order}HHI", entries, 12 * index)
        if kind in _TIFF_TYPES and values >= 1:
            code, _size = _TIFF_TYPES[kind]
            # One value sits in the entry itself; several (bits per sample) are all alike in practice,
            # and the first of them sits at the entry only when it fits: read the first value stated.
            if values == 1 or _size * values <= 4:
                tags[tag] = struct.unpack_from(f"{order}{code}", entries, 12 * index + 8)[0]
            else:
                pointer = struct.unpack_from(f"{order}I", entries, 12 * index + 8)[0]
                with path.open("rb") as stream:
                    stream.seek(pointer)
                    tags[tag] = struct.unpack(f"{order}{code}", stream.read(_size))[0]
    if 256 not in tags or 257 not in tags:
        raise InvalidMediaError(f"{path.name} has a TIFF header without a size ({path})", path)
    channels = tags.get(277, 1)
    floating = tags.get(339) == _TIFF_FLOAT
    details = {
        "channels": channels,
        "mode": f"{'float' if floating else 'int'}{tags.get(258, 8)}x{channels}",
        "bit_depth": tags.get(258, 8),
        "has_alpha": channels == 4,
        "color_space": "linear" if floating else "sRGB",
    }
    return ImageHeader("TIFF", tags[256], tags[257], details)


def _film_scan_header(path: Path, image_format: str) -> ImageHeader:
    """DPX and Cineon state their size at fixed offsets (DPX in either byte order)."""
    with path.open("rb") as stream:
        head = stream.read(1024)
    if image_format == "DPX":
        order = ">" if head.startswith(b"SDPX") else "<"
        offset = 772
    else:
        order, offset = ">", 200
    if len(head) < offset + 8:
        raise InvalidMediaError(f"{path.name} has a truncated {image_format} header ({path})", path)
    width, height = struct.unpack_from(f"{order}II", head, offset)
    details = {"channels": 3, "mode": "RGB", "bit_depth": 10, "has_alpha": False}
    return ImageHeader(image_format, int(width), int(height), {**details, "color_space": "log"})


def _radiance_header(path: Path) -> ImageHeader:
    """Radiance .hdr: text lines, a blank line, then the resolution line (``-Y 480 +X 640``)."""
    with path.open("rb") as stream:
        head = stream.read(8192)
    try:
        _, _, rest = head.partition(b"\n\n")
        resolution = rest.split(b"\n", 1)[0].decode("ascii").split()
        axes = {resolution[0][1]: int(resolution[1]), resolution[2][1]: int(resolution[3])}
        width, height = axes["X"], axes["Y"]
    except (IndexError, KeyError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidMediaError(f"{path.name} has a corrupt Radiance HDR header ({path})") from exc
    details = {
        "channels": 3,
        "mode": "RGB",
        "bit_depth": 32,
        "has_alpha": False,
        "color_space": "linear",
    }
    return ImageHeader("HDR", width, height, details)
