"""Sound-file metadata through PyAV: container headers first, packet timestamps when they say nothing.

Nothing is decoded. A file whose header gives no duration (raw streams, some Ogg and MP3 files) is
measured by demuxing its packets, which reads the file once but decodes no sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.media._av import decode_error, open_container
from core.media.errors import InvalidMediaError

if TYPE_CHECKING:
    from pathlib import Path

SOUND = "sound file"


def probe_audio(path: Path) -> dict[str, Any]:
    """Format, codec, sample rate, channels, duration and bit rate of ``path``'s first audio stream."""
    import av

    container = open_container(path, SOUND)
    try:
        if not container.streams.audio:
            raise InvalidMediaError(f"{path.name} has no audio stream ({path})", path)
        stream = container.streams.audio[0]
        codec = audio_codec(stream, path)
        duration_s = header_duration(container, stream)
        duration_estimated = False
        if not duration_s:
            duration_s, duration_estimated = _packet_duration(container, stream), True
        rate = int(codec.sample_rate or stream.rate or 0)
        if rate <= 0:
            raise InvalidMediaError(f"{path.name} has no readable sample rate ({path})", path)
        bit_rate = stream.bit_rate or container.bit_rate or None
        layout = codec.layout.name if codec.layout is not None else None
        return {
            "format": container.format.name,
            "codec": codec.name,
            "codec_long": codec.codec.long_name,
            "sample_rate": rate,
            "channels": int(codec.channels or 0),
            "channel_layout": layout,
            "sample_format": codec.format.name if codec.format is not None else None,
            "duration_s": round(duration_s, 6) if duration_s else None,
            "duration_estimated": duration_estimated,
            "bit_rate": int(bit_rate) if bit_rate else None,
            "audio": True,
            "audio_streams": len(container.streams.audio),
        }
    except av.FFmpegError as exc:
        raise decode_error(path, exc, SOUND) from exc
    finally:
        container.close()


def audio_codec(stream: Any, path: Path) -> Any:
    """The stream's decoder context; a clear error when FFmpeg has no decoder for it."""
    codec = stream.codec_context
    if codec is None:
        raise InvalidMediaError(
            f"{path.name} uses a sound encoding that cannot be decoded here ({path})", path
        )
    return codec


def header_duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    return None


def _packet_duration(container: Any, stream: Any) -> float | None:
    """End of the last packet on the stream's clock, minus the first packet's start."""
    if not stream.time_base:
        return None
    first: int | None = None
    end: int | None = None
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        first = packet.pts if first is None else min(first, packet.pts)
        stop = packet.pts + (packet.duration or 0)
        end = stop if end is None else max(end, stop)
    if first is None or end is None or end <= first:
        return None
    return float((end - first) * stream.time_base)
