"""Video metadata through PyAV (container headers only; nothing is decoded)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.media._av import first_video_stream, open_container

if TYPE_CHECKING:
    from fractions import Fraction
    from pathlib import Path


def probe_video(path: Path) -> dict[str, Any]:
    import av

    container = open_container(path)
    try:
        stream = first_video_stream(container, path)
        codec = stream.codec_context
        rate: Fraction | None = stream.average_rate or stream.base_rate or stream.guessed_rate
        fps = float(rate) if rate else 0.0
        duration_s = _duration_seconds(container, stream)
        frames = int(stream.frames or 0)
        frames_estimated = False
        if frames <= 0 and duration_s and fps:
            frames, frames_estimated = round(duration_s * fps), True
        pix_fmt = codec.format.name if codec.format is not None else None
        bit_rate = stream.bit_rate or container.bit_rate or None
        return {
            "format": container.format.name,
            "codec": codec.name,
            "codec_long": codec.codec.long_name,
            "profile": codec.profile,
            "fps": round(fps, 6),
            "fps_rational": f"{rate.numerator}/{rate.denominator}" if rate else None,
            "duration_s": round(duration_s, 6) if duration_s else None,
            "frames": frames,
            "frames_estimated": frames_estimated,
            "width": int(codec.width),
            "height": int(codec.height),
            "pix_fmt": pix_fmt,
            "bit_rate": int(bit_rate) if bit_rate else None,
            "audio": bool(container.streams.audio),
            "video_streams": len(container.streams.video),
        }
    except av.FFmpegError as exc:
        from core.media._av import decode_error

        raise decode_error(path, exc) from exc
    finally:
        container.close()


def _duration_seconds(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    return None
