"""Test clips with sound whose pictures and sound both say where they are.

Pictures carry their frame number (``tests.core.video.clips.numbered_frame``); the sound is quiet
except for a 1 kHz beep of ``BEEP_SECONDS`` at the start of every second of media time, so a decoder
that is off by even a few milliseconds puts the beep's onset in the wrong place.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from tests.core.video.clips import numbered_frame

if TYPE_CHECKING:
    from pathlib import Path

RATE = 48_000
BEEP_SECONDS = 0.05
BEEP_HZ = 1000


def beeps(seconds: float, rate: int = RATE) -> np.ndarray:
    """Mono float samples: a beep at every whole second, silence between."""
    t = np.arange(round(seconds * rate)) / rate
    signal = 0.5 * np.sin(2 * np.pi * BEEP_HZ * t)
    signal[(t % 1.0) >= BEEP_SECONDS] = 0.0
    return signal.astype(np.float32)


def write_clip_with_sound(
    path: Path,
    *,
    seconds: float = 3.0,
    fps: int = 24,
    size: tuple[int, int] = (64, 48),
    audio_delay: float = 0.0,
    audio_codec: str = "aac",
) -> Path:
    """An H.264 (or MPEG-4) clip with beeps; ``audio_delay`` starts the sound that late on the
    container clock (as camera files do), with the beeps still at whole seconds of *picture* time."""
    import av

    frames = round(seconds * fps)
    video_codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    width, height = size
    mono = beeps(seconds)[round(audio_delay * RATE) :]
    with av.open(str(path), mode="w") as container:
        video = container.add_stream(video_codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = Fraction(1, fps)
        audio = container.add_stream(audio_codec, rate=RATE, layout="stereo")
        audio.time_base = Fraction(1, RATE)
        delay_samples = round(audio_delay * RATE)
        block = 1024
        next_video = 0
        for start in range(0, len(mono), block):
            samples = mono[start : start + block]
            frame = av.AudioFrame.from_ndarray(np.stack([samples, samples]), format="fltp", layout="stereo")
            frame.sample_rate = RATE
            frame.pts = delay_samples + start
            for packet in audio.encode(frame):
                container.mux(packet)
            # Interleave pictures with the sound as a muxer expects.
            while next_video < frames and next_video / fps <= (delay_samples + start) / RATE:
                picture = av.VideoFrame.from_ndarray(
                    numbered_frame(next_video, width, height), format="rgb24"
                )
                picture.pts = next_video
                for packet in video.encode(picture):
                    container.mux(packet)
                next_video += 1
        for packet in audio.encode(None):
            container.mux(packet)
        for index in range(next_video, frames):
            picture = av.VideoFrame.from_ndarray(numbered_frame(index, width, height), format="rgb24")
            picture.pts = index
            for packet in video.encode(picture):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
    return path


def onsets(pcm: bytes, rate: int = RATE, threshold: int = 4000) -> list[float]:
    """Seconds at which beeps start in s16 stereo PCM (first loud sample after >= 0.5 s of quiet)."""
    left = np.frombuffer(pcm, "<i2")[0::2].astype(np.int32)
    loud = np.flatnonzero(np.abs(left) > threshold)
    if loud.size == 0:
        return []
    starts = [int(loud[0])]
    starts += [int(b) for a, b in itertools.pairwise(loud) if b - a > rate // 2]
    return [s / rate for s in starts]
