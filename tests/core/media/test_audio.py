"""Sound for playback: PCM at the right media time, from our clips and from files nobody here wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core.media.audio import PLAYBACK_FORMAT, AudioTrack, has_audio, sidecar_audio
from core.media.audio_sink import NullPcmSink
from core.media.errors import InvalidMediaError
from tests.core.media.sound_clips import onsets, write_clip_with_sound
from tests.core.video.clips import write_numbered_clip

# Sound files shipped inside installed packages (Python's test suite, IPython, MathJax, gsutil):
# real encoders' output in several formats, rates and channel counts.
FOREIGN_SOUNDS = [
    Path("/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/IPython/lib/tests/test.wav"),
    Path("/root/.pyenv/versions/3.11.7/lib/python3.11/test/audiodata/pluck-pcm32.wav"),
    Path("/usr/share/javascript/mathjax/unpacked/extensions/a11y/invalid_keypress.ogg"),
    Path("/usr/share/javascript/mathjax/unpacked/extensions/a11y/invalid_keypress.mp3"),
    Path("/usr/lib/google-cloud-sdk/platform/gsutil/gslib/tests/test_data/test.mp3"),
]
TOLERANCE = 0.002  # seconds: far below one frame (42 ms at 24 fps)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip_with_sound(tmp_path_factory.mktemp("sound") / "beeps.mp4", seconds=4)


def pcm(track: AudioTrack, seconds: float) -> bytes:
    return b"".join(track.pcm_from(seconds))


@pytest.mark.parametrize("start", [0.0, 0.5, 1.0, 2.37])
def test_sound_from_any_time_puts_each_beep_at_its_second(clip: Path, start: float) -> None:
    with AudioTrack(clip) as track:
        heard = [start + onset for onset in onsets(pcm(track, start))]
    expected = [float(s) for s in range(4) if s >= start]
    assert heard == pytest.approx(expected, abs=TOLERANCE)


def test_sound_that_starts_after_the_picture_is_preceded_by_silence(tmp_path: Path) -> None:
    late = write_clip_with_sound(tmp_path / "late.mp4", seconds=3, audio_delay=0.3)
    with AudioTrack(late) as track:
        data = pcm(track, 0.0)
        assert onsets(data) == pytest.approx([1.0, 2.0], abs=TOLERANCE)
        silence = np.frombuffer(data[: PLAYBACK_FORMAT.bytes_of(0.25)], "<i2")
        assert not silence.any()


def test_playback_format_is_48k_stereo_s16_and_the_length_is_kept(clip: Path) -> None:
    with AudioTrack(clip) as track:
        data = pcm(track, 0.0)
    assert len(data) % PLAYBACK_FORMAT.frame_bytes == 0
    assert PLAYBACK_FORMAT.seconds_of(len(data)) == pytest.approx(4.0, abs=0.03)


@pytest.mark.parametrize("path", FOREIGN_SOUNDS, ids=lambda p: p.name)
def test_foreign_files_play_whole_and_from_a_point_sample_exactly(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} is not installed here")
    with AudioTrack(path) as track:
        whole = pcm(track, 0.0)
        duration = track.duration
        tail = pcm(track, 0.1)
    assert duration is not None
    # An MP3's duration is the header's estimate (encoder delay and padding aside): within a frame.
    slack = 0.03 if path.suffix == ".mp3" else 0.002
    assert PLAYBACK_FORMAT.seconds_of(len(whole)) == pytest.approx(duration, abs=slack)
    # From 0.1 s is the whole sound less its first 0.1 s (lossy decoders may differ by a sample).
    skipped = len(whole) - len(tail)
    assert PLAYBACK_FORMAT.seconds_of(skipped) == pytest.approx(0.1, abs=0.0011)
    if path.suffix == ".wav":
        assert tail == whole[skipped:]


def test_a_clip_without_sound_says_so(tmp_path: Path) -> None:
    silent = write_numbered_clip(tmp_path / "silent.mp4", frames=6)
    assert not has_audio(silent)
    with pytest.raises(InvalidMediaError, match="no audio stream"):
        AudioTrack(silent)


def test_a_sequence_finds_its_sidecar_sound(tmp_path: Path, clip: Path) -> None:
    first = tmp_path / "shot_010.1001.exr"
    first.touch()
    assert sidecar_audio(first) is None
    shutil.copy(clip, tmp_path / "shot_010.m4a")
    assert sidecar_audio(first) == tmp_path / "shot_010.m4a"
    assert sidecar_audio(tmp_path / "1001.exr") is None


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_null_sink_plays_in_real_time_and_stalls_when_starved() -> None:
    time = FakeTime()
    sink = NullPcmSink(buffer_seconds=0.2, clock=time)
    assert sink.free_bytes() == 0  # not started
    sink.start()
    assert sink.free_bytes() == PLAYBACK_FORMAT.bytes_of(0.2)
    assert sink.write(bytes(PLAYBACK_FORMAT.bytes_of(0.5))) == PLAYBACK_FORMAT.bytes_of(0.2)
    time.now += 0.15
    assert sink.played_seconds() == pytest.approx(0.15)
    time.now += 0.15  # only 0.05 s was left: the device ran dry and its clock stood still
    assert sink.played_seconds() == pytest.approx(0.2)
    assert sink.underruns == 1
    sink.write(bytes(PLAYBACK_FORMAT.bytes_of(0.1)))
    time.now += 0.05
    assert sink.played_seconds() == pytest.approx(0.25)
    sink.start()
    assert sink.played_seconds() == 0.0
