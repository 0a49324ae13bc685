"""Sound files as assets: kind, probe, streaming waveform envelope and the waveform thumbnail, with
real recordings shipped inside installed packages (CPython's and SciPy's audio test data) and those
recordings re-encoded to MP3, FLAC and Ogg by FFmpeg's encoders."""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time
import tracemalloc
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from core.ingest import IngestCandidate, examine
from core.media.errors import InvalidMediaError
from core.media.kinds import AssetKind, detect_kind
from core.media.limits import MediaLimits
from core.media.probe import probe
from core.media.probe_audio import probe_audio
from core.media.sequences import group_sequences
from core.media.thumbnails import make_thumbnail
from core.media.waveform import WaveformFrameSource, envelope
from tests.core.media.sound_clips import installed_sound, transcode, write_wav

if TYPE_CHECKING:
    from pathlib import Path

LIMITS = MediaLimits(max_file_size_bytes=1 << 30, max_image_pixels=50_000_000)
SINE = "Sine-1000Hz-300ms.aif"
PLUCK = "pluck-pcm16.wav"


def ink_heights(path: Path) -> np.ndarray:
    """Per column of a waveform thumbnail: how many pixels are waveform ink (bright blue)."""
    bgr = cv2.imread(str(path))
    assert bgr is not None
    ink = (bgr[:, :, 0] > 150) & (bgr[:, :, 2] < 200)  # the accent blue, not the grey background
    return np.asarray(ink.sum(axis=0))


@pytest.mark.parametrize(
    "name",
    [SINE, PLUCK, "pluck-pcm24.aiff", "pluck-pcm16.au", "pluck-ulaw.aifc", "test-44100Hz-le-1ch-4bytes.wav"],
)
def test_real_sound_files_are_audio_with_their_header_facts(name: str) -> None:
    path = installed_sound(name)
    assert detect_kind(path) is AssetKind.AUDIO
    meta = probe(path, AssetKind.AUDIO, LIMITS)
    assert meta["kind"] == "audio"
    assert meta["audio"] is True
    assert meta["sample_rate"] in (11_025, 44_100, 48_000)
    assert meta["channels"] in (1, 2)
    assert meta["duration_s"] == pytest.approx(
        0.3 if name in (SINE, PLUCK) or "pluck" in name else 0.1, abs=0.01
    )
    assert meta["codec"].startswith("pcm_")
    assert meta["bit_rate"] > 0


def test_the_sine_probes_as_48khz_stereo_16_bit(tmp_path: Path) -> None:
    meta = probe_audio(installed_sound(SINE))
    assert (meta["sample_rate"], meta["channels"], meta["codec"], meta["format"]) == (
        48_000,
        2,
        "pcm_s16be",
        "aiff",
    )
    assert meta["duration_s"] == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("suffix", "codec", "rate"),
    [(".mp3", "libmp3lame", None), (".flac", "flac", None), (".ogg", "libopus", 48_000),
     (".opus", "libopus", 48_000), (".m4a", "aac", None)],
)  # fmt: skip
def test_compressed_copies_of_a_real_recording_are_audio(
    tmp_path: Path, suffix: str, codec: str, rate: int | None
) -> None:
    import av

    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg has no {codec} encoder")
    encoded = transcode(installed_sound(PLUCK), tmp_path / f"pluck{suffix}", codec, rate=rate)
    renamed = encoded.rename(tmp_path / "no_extension")  # the content decides, not the name
    assert detect_kind(renamed) is AssetKind.AUDIO
    meta = probe_audio(renamed)
    assert meta["duration_s"] == pytest.approx(0.3, abs=0.1)
    env = envelope(renamed, 8, duration_s=meta["duration_s"])
    # The pluck dies away whatever the codec: loud first eighth, quiet last one.
    assert env.high[0] > 3 * env.high[-1]


@pytest.mark.parametrize(("name", "codec"), [("voice.mp4", "aac"), ("voice.mkv", "libopus")])
def test_a_video_container_holding_only_sound_is_audio(tmp_path: Path, name: str, codec: str) -> None:
    import av

    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg has no {codec} encoder")
    encoded = transcode(
        installed_sound(PLUCK), tmp_path / name, codec, rate=48_000 if codec == "libopus" else None
    )
    assert detect_kind(encoded) is AssetKind.VIDEO  # its header cannot say; its streams do
    examined = examine(IngestCandidate(encoded), LIMITS)
    assert examined.kind is AssetKind.AUDIO
    assert examined.metadata["kind"] == "audio"
    assert examined.metadata["duration_s"] == pytest.approx(0.3, abs=0.1)


def test_cover_art_does_not_make_a_song_a_video(tmp_path: Path) -> None:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("no ffmpeg program to attach cover art with")
    cover = tmp_path / "cover.png"
    cv2.imwrite(str(cover), np.full((64, 64, 3), 200, np.uint8))
    song = tmp_path / "song.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(installed_sound(PLUCK)), "-i", str(cover), "-map", "0", "-map", "1",
         "-c:a", "aac", "-c:v", "png", "-disposition:v:0", "attached_pic", str(song)],
        check=True, timeout=60,
    )  # fmt: skip
    examined = examine(IngestCandidate(song), LIMITS)
    assert examined.kind is AssetKind.AUDIO


def test_the_sine_envelope_is_a_flat_band_at_its_amplitude() -> None:
    env = envelope(installed_sound(SINE), 100)
    assert env.duration_s == pytest.approx(0.3, abs=0.001)
    assert env.low.shape == env.high.shape == (100,)
    assert np.allclose(env.high, 0.708, atol=0.01)
    assert np.allclose(env.low, -0.708, atol=0.01)


def test_the_pluck_envelope_decays() -> None:
    env = envelope(installed_sound(PLUCK), 30)
    tops = env.high
    assert tops[:3].max() > 0.95
    assert tops[-3:].max() < 0.2
    # Broadly falling: every tenth at most as loud as the tenth before it (plus a little ripple).
    tenths = tops.reshape(10, 3).max(axis=1)
    assert all(b <= a * 1.1 for a, b in itertools.pairwise(tenths))


def test_more_columns_than_blocks_stretch_a_short_file() -> None:
    env = envelope(installed_sound("test-8000Hz-le-1ch-1byte-ulaw.wav"), 64)
    assert env.high.shape == (64,)
    assert env.peak > 0.5


def test_a_long_file_streams_through_in_bounded_memory(tmp_path: Path) -> None:
    rate, minutes = 8_000, 20
    seconds = np.arange(rate * 60 * minutes, dtype=np.float32) / rate
    loudness = np.where(seconds < 60 * minutes / 2, 0.8, 0.2).astype(np.float32)  # loud half, quiet half
    long_wav = write_wav(tmp_path / "long.wav", loudness * np.sin(2 * np.pi * 440 * seconds), rate)
    del seconds, loudness
    whole = rate * 60 * minutes * 4  # the sound as float32: what loading it whole would cost
    tracemalloc.start()
    try:
        env = envelope(long_wav, 256, duration_s=60.0 * minutes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < whole / 10, f"{peak:,} bytes at peak for a {whole:,}-byte sound"
    assert env.duration_s == pytest.approx(60 * minutes, abs=0.01)
    assert np.allclose(env.high[:120], 0.8, atol=0.01)
    assert np.allclose(env.high[136:], 0.2, atol=0.01)


def test_the_thumbnail_draws_the_waveform(tmp_path: Path) -> None:
    sine = make_thumbnail(installed_sound(SINE), AssetKind.AUDIO, tmp_path, "sine", 256, LIMITS)
    pluck = make_thumbnail(installed_sound(PLUCK), AssetKind.AUDIO, tmp_path, "pluck", 256, LIMITS)
    for result in (sine, pluck):
        assert (result.width, result.height) == (256, 128)
        assert result.source == "audio-waveform"
        assert not result.placeholder
    flat = ink_heights(sine.path)[4:-4]
    assert flat.min() >= 0.85 * 128  # a constant tone fills every column, scaled to the height
    assert flat.max() - flat.min() <= 6
    decay = ink_heights(pluck.path)
    assert decay[:32].mean() > 90
    assert decay[-32:].mean() < 0.3 * decay[:32].mean()


def test_empty_and_corrupt_sound_files_fail_clearly_and_fast(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InvalidMediaError, match=r"empty \(0 bytes\)"):
        probe(empty, AssetKind.AUDIO, LIMITS)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(range(256)) * 64)
    truncated = tmp_path / "truncated.flac"
    truncated.write_bytes(b"fLaC" + b"\x00" * 37)
    for bad in (garbage, truncated):
        started = time.monotonic()
        with pytest.raises(InvalidMediaError, match=bad.name):
            probe_audio(bad)
        with pytest.raises(InvalidMediaError, match=bad.name):
            envelope(bad, 16)
        assert time.monotonic() - started < 5


def test_an_encoding_ffmpeg_cannot_decode_is_named() -> None:
    odd = installed_sound("test-8000Hz-le-3ch-5S-36bit.wav")
    with pytest.raises(InvalidMediaError, match="cannot be decoded"):
        probe_audio(odd)


def test_numbered_sound_files_are_never_a_sequence(tmp_path: Path) -> None:
    takes = [tmp_path / f"take{n}.wav" for n in (1, 2, 3)] + [tmp_path / f"vo.{n:04d}.wav" for n in (1, 2)]
    sequences, singles = group_sequences(takes)
    assert sequences == []
    assert sorted(singles) == sorted(takes)


def test_the_waveform_source_moves_its_playhead() -> None:
    with WaveformFrameSource(installed_sound(PLUCK), fps=25) as source:
        assert source.frame_count == 8  # 0.3 s at 25 frames a second, rounded up
        first, last = source.frame_at(0), source.frame_at(7)
        assert first.shape == (source.height, source.width, 3)
        heads = [
            int(np.flatnonzero((frame == (255, 196, 64)).all(axis=2).all(axis=0))[0])
            for frame in (first, last)
        ]
        assert heads[0] == 0
        assert heads[1] > 0.85 * source.width
        assert source.frame_at(3, max_side=320).shape[1] == 320
        with pytest.raises(IndexError):
            source.frame_at(8)


def test_the_thumbnail_step_makes_a_waveform_and_stops_on_cancel(media_dir: Path) -> None:
    from core.jobs.steps import AssetRef, JobCancelledError
    from core.media.thumbnails import thumbnail_step
    from tests.core.media.test_thumbnail_step import _context, run_step

    pluck = installed_sound(PLUCK)
    ctx = _context(AssetRef(id=1, path=pluck, kind="audio", content_hash="a0" * 16), thumbnail_size=200)
    _, output = run_step(thumbnail_step(ctx))
    assert (output["width"], output["height"], output["source"]) == (200, 100, "audio-waveform")

    # Cancelled once the step is under way: the decode itself stops.
    ctx = _context(AssetRef(id=2, path=pluck, kind="audio", content_hash="a1" * 16))
    steps = thumbnail_step(ctx)
    next(steps)  # "Making thumbnail for ..."
    ctx.cancel.cancel()
    with pytest.raises(JobCancelledError):
        next(steps)
    assert not (ctx.paths.thumbnail_dir / "a1").exists()


def test_a_long_decode_stops_as_soon_as_it_is_cancelled(tmp_path: Path) -> None:
    long_wav = write_wav(tmp_path / "long.wav", np.zeros(8_000 * 600, np.float32), 8_000)
    calls = 0

    class Stop(Exception):
        pass

    def cancel_after_three() -> None:
        nonlocal calls
        calls += 1
        if calls > 3:
            raise Stop

    with pytest.raises(Stop):
        envelope(long_wav, 64, check_cancel=cancel_after_three)
    assert calls == 4


def test_a_sound_gets_a_thumbnail_and_nothing_after_it() -> None:
    from core.jobs.model import JobState
    from core.pipeline import JobKind, build_registry, jobs_after, jobs_after_ingest

    registry = build_registry()
    [thumbnail] = jobs_after_ingest(3, 1, AssetKind.AUDIO, registry)
    assert thumbnail.kind == JobKind.THUMBNAIL
    thumbnail.state = JobState.COMPLETED
    assert jobs_after(thumbnail, AssetKind.AUDIO, registry) == []  # no classify or video steps
