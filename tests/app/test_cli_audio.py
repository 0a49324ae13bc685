"""``stratopipe ingest`` on sound files: real recordings shipped with the interpreter and SciPy are
cataloged as audio with their duration and a waveform thumbnail; an empty one fails on its own."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import cv2
import numpy as np

from core.media.audio import sidecar_audio
from tests.app.test_cli import stratopipe
from tests.core.media.sound_clips import installed_sound, transcode

if TYPE_CHECKING:
    from pathlib import Path


def test_ingest_catalogs_sound_files_with_a_waveform_thumbnail(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    sine = shutil.copy(installed_sound("Sine-1000Hz-300ms.aif"), drop)
    pluck = shutil.copy(installed_sound("pluck-pcm16.wav"), drop)
    transcode(installed_sound("pluck-pcm24.wav"), drop / "pluck.flac", "flac")
    transcode(installed_sound("pluck-pcm24.wav"), drop / "pluck.mp3", "libmp3lame")
    (drop / "empty.wav").write_bytes(b"")
    result = stratopipe(tmp_path / "data", "ingest", str(drop), "--project", "Sound", "--json", check=False)
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr  # four of five succeeded
    assert report["ingested"] == 4
    assert [f["path"] for f in report["failed"]] == [str(drop / "empty.wav")]
    assert "empty (0 bytes)" in report["failed"][0]["error"]
    assets = {asset["name"]: asset for asset in report["assets"]}
    assert set(assets) == {"Sine-1000Hz-300ms.aif", "pluck-pcm16.wav", "pluck.flac", "pluck.mp3"}
    for asset in assets.values():
        assert asset["kind"] == "audio"
        assert asset["status"] == "ready"
        assert asset["metadata"]["duration_s"] > 0.29
        assert asset["metadata"]["sample_rate"] > 0
    assert assets["Sine-1000Hz-300ms.aif"]["path"] == str(sine)
    assert assets["pluck-pcm16.wav"]["path"] == str(pluck)

    # The thumbnail is the waveform: a constant tone fills every column, the pluck dies away.
    def ink(name: str) -> np.ndarray:
        bgr = cv2.imread(assets[name]["thumbnail"])
        assert bgr is not None
        assert bgr.shape[:2] == (128, 256)
        return np.asarray(((bgr[:, :, 0] > 150) & (bgr[:, :, 2] < 200)).sum(axis=0))

    assert ink("Sine-1000Hz-300ms.aif")[4:-4].min() > 100
    for name in ("pluck-pcm16.wav", "pluck.flac", "pluck.mp3"):
        heights = ink(name)
        assert heights[:32].mean() > 3 * heights[-32:].mean(), name


def test_a_sequence_keeps_its_sidecar_sound_which_is_also_an_asset(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for frame in range(1001, 1005):
        cv2.imwrite(str(drop / f"shot.{frame}.png"), np.full((24, 32, 3), frame % 255, np.uint8))
    shutil.copy(installed_sound("pluck-pcm16.wav"), drop / "shot.wav")
    report = json.loads(
        stratopipe(tmp_path / "data", "ingest", str(drop), "--project", "Seq", "--json").stdout
    )
    kinds = sorted((asset["kind"], asset["name"]) for asset in report["assets"])
    assert [kind for kind, _ in kinds] == ["audio", "sequence"]
    assert kinds[0][1] == "shot.wav"
    assert report["failed"] == []
    assert sidecar_audio(drop / "shot.1001.png") == drop / "shot.wav"  # the player still finds it
