"""One app per data dir: a second launch hands its files to the running app, and a crashed app's socket
does not block the next start. Real processes on the offscreen platform, as a user's launcher runs them."""

from __future__ import annotations

import configparser
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from app.runtime import open_runtime
from app.single_instance import server_name

START_DEADLINE_S = 60  # a cold start on a loaded machine; polled, so usually a second or two
HANDOVER_DEADLINE_S = 30


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "STRATOPIPE_DATA_DIR"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _start(data: Path, *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(data), *arguments],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _poll(process: subprocess.Popen[str], done: object, what: str) -> None:
    assert callable(done)
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited early ({process.returncode}): {process.communicate()[1]}")
        if done():
            return
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {START_DEADLINE_S} s")


def _logged(data: Path, text: str, times: int = 1) -> bool:
    log_file = data / "logs" / "stratopipe.log"
    return log_file.exists() and log_file.read_text(encoding="utf-8").count(text) >= times


def _cataloged(data: Path, path: Path) -> bool:
    with sqlite3.connect(data / "catalog.sqlite3") as db:
        return db.execute("SELECT 1 FROM asset WHERE path = ?", (str(path),)).fetchone() is not None


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=HANDOVER_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def test_a_second_launch_hands_its_file_to_the_running_app(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runtime = open_runtime(str(data))  # a project to ingest into, so the running app does not ask
    runtime.catalog.ensure_project("Shots")
    runtime.close()
    picture = tmp_path / "plate.png"
    Image.new("RGB", (32, 24), "orange").save(picture)
    first = _start(data)
    try:
        _poll(first, lambda: _logged(data, "Listening for other launches"), "the first app listening")
        second = subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(data), "plate.png"],
            cwd=tmp_path,  # a relative path: the running app resolves it against the launcher's folder
            env=_env(),
            capture_output=True,
            text=True,
            timeout=HANDOVER_DEADLINE_S,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout
        _poll(first, lambda: _cataloged(data, picture), "the handed-over file cataloged")
        assert first.poll() is None, "the running app keeps running"
    finally:
        _stop(first)
    assert first.returncode == 0


def test_a_socket_left_by_a_killed_app_does_not_block_the_next_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    crashed = _start(data)
    try:
        _poll(crashed, lambda: _logged(data, "Listening for other launches"), "the first app listening")
    finally:
        crashed.kill()  # no clean quit: the socket file stays behind
        crashed.communicate()
    socket_file = Path(os.environ.get("TMPDIR") or "/tmp") / server_name(data)
    if sys.platform != "win32":
        assert socket_file.exists(), "the killed app left its socket file"
    restarted = _start(data)
    try:
        _poll(
            restarted, lambda: _logged(data, "Listening for other launches", times=2), "the new app listening"
        )
        handed = subprocess.run(
            [sys.executable, "-m", "app", "--data-dir", str(data), "stratopipe://asset/999"],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=HANDOVER_DEADLINE_S,
            check=False,
        )
        assert handed.returncode == 0, "the restarted app took the socket over and answers"
        _poll(restarted, lambda: _logged(data, "handed over 0 path(s), 1 asset link(s)"), "the handover")
    finally:
        _stop(restarted)
    assert restarted.returncode == 0


def test_the_desktop_entry_launches_the_app_with_uris_and_installs_per_user(tmp_path: Path) -> None:
    """What a file manager reads: ``%U`` hands over file:// URIs and stratopipe:// links (core/links.py)."""
    root = Path(__file__).resolve().parents[2]
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment, method-assign]  # desktop keys are case-sensitive
    entry.read(root / "installers/linux/stratopipe.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"] == "stratopipe %U"
    assert desktop["Icon"] == "stratopipe"
    mime_types = desktop["MimeType"].rstrip(";").split(";")
    for wanted in ("x-scheme-handler/stratopipe", "image/x-exr", "video/mp4", "model/gltf-binary"):
        assert wanted in mime_types
    program = tmp_path / "bin" / "stratopipe"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    data_home = tmp_path / "share"
    subprocess.run(
        ["bash", str(root / "installers/install-desktop-entry.sh"), str(program)],
        env={**_env(), "XDG_DATA_HOME": str(data_home)},
        check=True,
        capture_output=True,
    )
    installed = (data_home / "applications/stratopipe.desktop").read_text(encoding="utf-8")
    assert f"Exec={program} %U" in installed, "an absolute Exec: a venv is not on the session's PATH"
    assert (data_home / "icons/hicolor/scalable/apps/stratopipe.svg").read_text().startswith("<svg")
