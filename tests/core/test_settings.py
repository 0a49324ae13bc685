"""Settings: stored JSON, environment overrides for one run, and saves that never persist an override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.settings import Settings, env_overrides, load_settings, save_settings


def test_environment_overrides_win_for_the_run_but_are_never_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.json"
    save_settings(Settings(thumbnail_size=320, render_backend="blender"), path)
    monkeypatch.setenv("STRATOPIPE_THUMBNAIL_SIZE", "128")
    settings = load_settings(path)
    assert settings.thumbnail_size == 128
    assert env_overrides() == {"thumbnail_size": "STRATOPIPE_THUMBNAIL_SIZE"}
    settings.notify_ingest = "off"
    save_settings(settings, path)
    stored = json.loads(path.read_text())
    assert stored["thumbnail_size"] == 320  # the artist's own choice survives the override
    assert stored["notify_ingest"] == "off"
    assert stored["render_backend"] == "blender"


def test_a_broken_settings_file_falls_back_to_defaults_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    assert load_settings(path) == Settings()
    assert path.read_text() == "{not json"
    path.write_text(json.dumps({"thumbnail_size": 5}))  # out of range
    assert load_settings(path).thumbnail_size == Settings().thumbnail_size
