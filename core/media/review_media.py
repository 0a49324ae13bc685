"""Review media: what a teammate who lacks an asset's file needs to review it, made from that file.

- an image: a full-resolution 8-bit picture (a JPEG or PNG is already one and goes as it is; an EXR,
  TIFF, PSD... is decoded through the thumbnail path, float tone-mapped, and written as a quality-95
  JPEG, or a PNG when it has alpha);
- a video or an image sequence: an H.264 proxy (PyAV), at most ``MAX_PROXY_WIDTH`` wide, constant
  quality (CRF), *every* source frame in order at the source's rate, so a note on frame N of the
  proxy is a note on frame N of the original; the sound is kept (AAC);
- geometry: a GLB (trimesh export, in a sandboxed child: ``core.media.review_glb``) and whatever
  renders the catalog has of it (preview, turntable).

Products are written under ``out_dir`` atomically and reused while their info file says they were
made from this source by this recipe: a publication cut half way must send the same bytes again, and
an encoder is not guaranteed to produce identical bytes twice.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.media.kinds import AssetKind

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)

MAX_PROXY_WIDTH = 1920
PROXY_CRF = 20
PROXY_PRESET = "fast"
SEQUENCE_FPS = 24
JPEG_QUALITY = 95
# Bumped whenever a product would come out differently: older products are then made again.
RECIPE = 1
_PASS_THROUGH_IMAGES = frozenset({".jpg", ".jpeg", ".png"})


class ReviewRole(StrEnum):
    REVIEW = "review"  # what the viewer opens
    ORIGINAL = "original"  # the source file itself, when asked for
    PREVIEW = "preview"  # a geometry still render (a catalog artifact kind)
    TURNTABLE = "turntable"  # a geometry turntable video (a catalog artifact kind)


@dataclass(frozen=True)
class ReviewFile:
    path: Path
    role: ReviewRole


@dataclass(frozen=True)
class ReviewMedia:
    kind: AssetKind  # how the review file is viewed: image, video or geometry
    files: tuple[ReviewFile, ...]
    # width, height; for clips frames, fps ("num/den"), audio; how it was made.
    info: dict[str, Any] = field(default_factory=dict)


def make_review_media(
    source: Path,
    kind: AssetKind,
    out_dir: Path,
    limits: MediaLimits,
    *,
    frames: Sequence[Path] = (),
    renders: Mapping[str, Path] | None = None,
    include_original: bool = False,
    on_progress: Callable[[float], None] | None = None,
) -> ReviewMedia:
    """The review media of one asset (``frames`` for a sequence, ``renders`` for geometry)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if kind == AssetKind.IMAGE:
        review, info, view_kind = _image_preview(source, out_dir, limits), {}, AssetKind.IMAGE
    elif kind in (AssetKind.VIDEO, AssetKind.SEQUENCE):
        target = out_dir / f"{source.stem}_proxy.mp4"
        info = _cached_info(target, source) or _write_proxy(
            source, tuple(frames), target, limits, on_progress
        )
        review, view_kind = target, AssetKind.VIDEO
    elif kind == AssetKind.GEOMETRY:
        review, info, view_kind = _glb(source, out_dir, limits), {}, AssetKind.GEOMETRY
    else:
        raise ValueError(f"{source.name}: no review media for {kind} files; publish the original")
    files = [ReviewFile(review, ReviewRole.REVIEW)]
    for role in (ReviewRole.PREVIEW, ReviewRole.TURNTABLE):
        render = (renders or {}).get(role.value)
        if render is not None and render.is_file():
            files.append(ReviewFile(render, role))
    if include_original:
        originals = list(frames) if kind == AssetKind.SEQUENCE else [source]
        files += [ReviewFile(p, ReviewRole.ORIGINAL) for p in originals if p != review]
    return ReviewMedia(view_kind, tuple(files), info)


# -- images ----------------------------------------------------------------------------------------


def _image_preview(source: Path, out_dir: Path, limits: MediaLimits) -> Path:
    if source.suffix.lower() in _PASS_THROUGH_IMAGES:
        return source  # already full-resolution 8-bit: re-encoding would only lose quality
    from PIL import Image

    from core.media.decode import load_image_rgba

    pixels = load_image_rgba(source, limits)
    alpha = pixels.ndim == 3 and pixels.shape[2] == 4
    target = out_dir / f"{source.stem}_preview.{'png' if alpha else 'jpg'}"
    if _cached_info(target, source) is not None:
        return target
    image = Image.fromarray(np.ascontiguousarray(pixels), "RGBA" if alpha else "RGB")
    partial = target.with_name(target.name + ".part")
    if alpha:
        image.save(partial, format="PNG", compress_level=6)
    else:
        image.save(partial, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    os.replace(partial, target)
    _write_info(target, source, {"width": image.width, "height": image.height})
    return target


# -- clips -----------------------------------------------------------------------------------------


def proxy_size(width: int, height: int, max_width: int = MAX_PROXY_WIDTH) -> tuple[int, int]:
    """The proxy's size: the source's, at most ``max_width`` wide, aspect kept, both even (yuv420p)."""
    scale = min(1.0, max_width / width)
    return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))


def _write_proxy(
    source: Path,
    frames: tuple[Path, ...],
    target: Path,
    limits: MediaLimits,
    on_progress: Callable[[float], None] | None,
) -> dict[str, Any]:
    import av

    partial = target.with_name(target.name + ".part")
    with av.open(str(partial), mode="w", format="mp4", options={"movflags": "+faststart"}) as output:
        if frames:
            info = _encode_sequence(frames, output, limits, on_progress)
        else:
            with av.open(str(source)) as container:
                info = _encode_video(container, output, on_progress)
    os.replace(partial, target)
    _write_info(target, source, info)
    log.info("event=review_proxy source=%s frames=%d size=%dx%d", source.name, info["frames"],
             info["width"], info["height"])  # fmt: skip
    return info


def _video_stream(output: Any, rate: Fraction, width: int, height: int) -> Any:
    from core.render.encoding import pick_video_codec

    codec = pick_video_codec()
    stream = output.add_stream(codec, rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = Fraction(rate.denominator, rate.numerator)
    if codec == "libx264":
        stream.options = {"crf": str(PROXY_CRF), "preset": PROXY_PRESET}
    else:
        stream.bit_rate = max(2_000_000, width * height * 6)
    return stream


def _encode_video(container: Any, output: Any, on_progress: Callable[[float], None] | None) -> dict[str, Any]:
    from core.media._av import first_video_stream

    video = first_video_stream(container, Path(container.name))
    video.thread_type = "AUTO"
    rate = Fraction(video.average_rate or video.guessed_rate or SEQUENCE_FPS).limit_denominator(1001)
    width, height = proxy_size(video.codec_context.width, video.codec_context.height)
    out_video = _video_stream(output, rate, width, height)
    tick = Fraction(rate.denominator, rate.numerator)
    audio = container.streams.audio[0] if container.streams.audio else None
    out_audio = None
    if audio is not None:
        out_audio = output.add_stream("aac", rate=audio.rate or 48_000, layout="stereo")
        out_audio.time_base = Fraction(1, out_audio.rate)
    expected = max(1, int(video.frames or 0))
    written = samples = 0
    for packet in container.demux(*(s for s in (video, audio) if s is not None)):
        for frame in packet.decode():
            if packet.stream is video:
                picture = frame.reformat(width=width, height=height, format="yuv420p")
                picture.pts = written  # one tick per source frame: frame N stays frame N
                picture.time_base = tick
                output.mux(out_video.encode(picture))
                written += 1
                if on_progress is not None and written % 12 == 0:
                    on_progress(min(0.99, written / expected))
            elif out_audio is not None:
                frame.pts, frame.time_base = samples, Fraction(1, frame.sample_rate)
                samples += frame.samples
                output.mux(out_audio.encode(frame))
    output.mux(out_video.encode(None))
    if out_audio is not None:
        output.mux(out_audio.encode(None))
    return {
        "width": width,
        "height": height,
        "frames": written,
        "fps": f"{rate.numerator}/{rate.denominator}",
        "audio": out_audio is not None,
        "codec": out_video.codec_context.name,
    }


def _encode_sequence(
    frames: tuple[Path, ...], output: Any, limits: MediaLimits, on_progress: Callable[[float], None] | None
) -> dict[str, Any]:
    import av
    import cv2

    from core.media.decode import composite_on_checkerboard, load_image_rgba

    stream = None
    width = height = 0
    for index, path in enumerate(frames):
        pixels = load_image_rgba(path, limits)
        if pixels.shape[2] == 4:
            pixels = composite_on_checkerboard(pixels)
        if stream is None:
            width, height = proxy_size(pixels.shape[1], pixels.shape[0])
            stream = _video_stream(output, Fraction(SEQUENCE_FPS), width, height)
        if pixels.shape[:2] != (height, width):
            pixels = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels[:, :, :3]), format="rgb24")
        picture.pts = index
        output.mux(stream.encode(picture))
        if on_progress is not None:
            on_progress((index + 1) / len(frames))
    if stream is None:
        raise ValueError("a sequence without frames has no proxy")
    output.mux(stream.encode(None))
    return {"width": width, "height": height, "frames": len(frames), "fps": f"{SEQUENCE_FPS}/1",
            "audio": False, "codec": stream.codec_context.name}  # fmt: skip


# -- geometry --------------------------------------------------------------------------------------


def _glb(source: Path, out_dir: Path, limits: MediaLimits) -> Path:
    if source.suffix.lower() == ".glb":
        return source
    target = out_dir / f"{source.stem}.glb"
    if _cached_info(target, source) is not None:
        return target
    from core.media.review_glb import export_glb_sandboxed

    partial = target.with_name(target.name + ".part")
    faces = export_glb_sandboxed(source, partial, limits)
    os.replace(partial, target)
    _write_info(target, source, {"faces": faces})
    return target


# -- reuse -----------------------------------------------------------------------------------------


def _stamp(source: Path) -> dict[str, Any]:
    info = source.stat()
    return {"recipe": RECIPE, "source": str(source), "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _info_file(product: Path) -> Path:
    return product.with_name(product.name + ".json")


def _cached_info(product: Path, source: Path) -> dict[str, Any] | None:
    """The info of a product made from this very source by this recipe, or None."""
    try:
        stored = json.loads(_info_file(product).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("stamp") != _stamp(source) or not product.is_file():
        return None
    info = stored.get("info")
    return info if isinstance(info, dict) else None


def _write_info(product: Path, source: Path, info: dict[str, Any]) -> None:
    _info_file(product).write_text(json.dumps({"stamp": _stamp(source), "info": info}), encoding="utf-8")
