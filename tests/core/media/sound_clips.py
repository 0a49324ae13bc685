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


# ---- sound files nobody on the team wrote ---------------------------------------------------------
# Shipped inside the installed interpreter and packages: CPython's own audio test data (its ``test``
# package, which some distributions strip) and SciPy's WAV reader tests. Tests that need one skip
# when it is not installed here.


def _stdlib_test_dir() -> Path:
    import sysconfig
    from pathlib import Path

    return Path(sysconfig.get_path("stdlib")) / "test"


def _scipy_wav_dir() -> Path | None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("scipy")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "io" / "tests" / "data"


def installed_sound(name: str) -> Path:
    """A real sound file by name, or skip the test.

    ``Sine-1000Hz-300ms.aif``: CPython's 1 kHz sine, 0.3 s, 48 kHz stereo, constant amplitude 0.708.
    ``pluck-pcm16.wav`` (and ``-pcm8/24/32``, ``.aiff``, ``.au``, ``-ulaw.aifc``): CPython's plucked
    string, 0.3 s at 11,025 Hz stereo, loud at the start and dying away.
    ``test-44100Hz-le-1ch-4bytes.wav`` and friends: SciPy's WAV reader test files.
    """
    import pytest

    stdlib = _stdlib_test_dir()
    scipy_dir = _scipy_wav_dir()
    for folder in (stdlib, stdlib / "audiodata", scipy_dir):
        if folder is not None and (folder / name).is_file():
            return folder / name
    pytest.skip(f"{name} is not installed here (CPython's test package or SciPy's test data)")
    raise AssertionError  # pytest.skip raises


def transcode(source: Path, target: Path, codec: str, *, rate: int | None = None) -> Path:
    """``source``'s sound re-encoded with ``codec`` into ``target`` (container from its suffix): the
    real recordings as MP3, FLAC or Ogg, which no installed package ships."""
    import av

    with av.open(str(source)) as inp, av.open(str(target), mode="w") as out:
        in_stream = inp.streams.audio[0]
        out_rate = rate or in_stream.rate
        stream = out.add_stream(codec, rate=out_rate, layout="stereo")
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout="stereo", rate=out_rate)
        for frame in inp.decode(in_stream):
            frame.pts = None
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Mono float samples (-1..1) as a 16-bit WAV (through the standard library's ``wave``)."""
    import wave

    with wave.open(str(path), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(2)
        stream.setframerate(rate)
        stream.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path
