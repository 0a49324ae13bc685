"""``stratopipe watch`` and processing profiles, as a studio runs them: a real ``watch run`` child on a
real folder, files dropped into it, SIGTERM to stop it. The watcher's timings are shortened through the
environment; deadlines are generous and only turn a hang into a failure."""

from __future__ import annotations

import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from tests.app.test_cli import stratopipe

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

DEADLINE_S = 60.0
# Far longer than the pauses between the chunks and frames the tests write, so that only a starved
# test process (not a slow machine running the watcher) could make a half-written file look settled.
FAST_WATCH = {
    "STRATOPIPE_WATCH_POLL_S": "0.05",
    "STRATOPIPE_WATCH_SETTLE_S": "1.5",
    "STRATOPIPE_WATCH_SEQUENCE_QUIET_S": "3",
}


def png_bytes(shade: int, size: tuple[int, int] = (64, 48)) -> bytes:
    pixels = np.random.default_rng(shade).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


class WatchRun:
    """A ``stratopipe watch run --json`` child whose events are read on a thread."""

    def __init__(self, data: Path) -> None:
        # Its log goes to a file: a pipe nobody reads would block the child once full.
        self._log = data.parent / f"watch-{time.monotonic_ns()}.log"
        env = {k: v for k, v in os.environ.items() if k != "STRATOPIPE_DATA_DIR"} | FAST_WATCH
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", "--data-dir", str(data), "watch", "run", "--json"],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            try:
                event = json.loads(self._lines.get(timeout=0.5))
            except queue.Empty:
                assert self.process.poll() is None, self.stop_output()
                continue
            self.events.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"no such event; got {self.events}")

    def ingested(self) -> int:
        return sum(len(e["ingested"]) for e in self.events if is_settled(e))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=DEADLINE_S)
        self._reader.join(timeout=DEADLINE_S)
        assert self.process.stdout is not None
        self.process.stdout.close()
        assert code == 0, self.stop_output()

    def stop_output(self) -> str:
        return self._log.read_text(encoding="utf-8", errors="replace")


def assets(data: Path) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(
        stratopipe(data, "assets", "--project", "Show", "--json").stdout
    )
    return sorted(listed, key=lambda a: a["name"])


def watch(data: Path, folder: Path) -> None:
    # Renders and AI would only slow these tests: the watch uses a profile without them.
    stratopipe(data, "profile", "copy", "default", "light", "--set", "ai=false", "--set", "render=false")
    stratopipe(data, "watch", "add", str(folder), "--project", "Show", "--profile", "light")


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def is_settled(event: dict[str, Any]) -> bool:
    return event["event"] == "settled"


def test_watch_run_ingests_settled_files_once_and_stops_on_sigterm(tmp_path: Path) -> None:
    data, drop = tmp_path / "data", tmp_path / "drop"
    drop.mkdir()
    watch(data, drop)
    run = WatchRun(data)
    try:
        run.wait_for(lambda e: e["event"] == "watching")
        (drop / "still.png").write_bytes(png_bytes(1))
        # A large file arriving in chunks, then a render writing frames one after the other.
        big = png_bytes(2, (640, 480))
        with (drop / "growing.png").open("wb") as out:
            for start in range(0, len(big), len(big) // 5 + 1):
                out.write(big[start : start + len(big) // 5 + 1])
                out.flush()
                time.sleep(0.1)
        for frame in range(1, 5):
            (drop / f"shot.{frame:04d}.png").write_bytes(png_bytes(10 + frame))
            time.sleep(0.3)
        run.wait_for(lambda _: run.ingested() >= 3)
        wait_until(lambda: all(a["status"] == "ready" for a in assets(data)))
    finally:
        run.stop()
    found = assets(data)
    assert [(a["name"], a["kind"], a["status"]) for a in found] == [
        ("growing.png", "image", "ready"),
        ("shot.[0001-0004].png", "sequence", "ready"),
        ("still.png", "image", "ready"),
    ]
    settled = [e for e in run.events if is_settled(e)]
    assert sum(len(e["ingested"]) for e in settled) == 3
    assert all(not e["failed"] and not e["duplicates"] for e in settled)
    jobs = json.loads(stratopipe(data, "jobs", "--json").stdout)
    assert {j["kind"] for j in jobs} == {"thumbnail", "video"}  # the watch's profile: no AI


def test_watch_resumes_after_a_restart_and_after_its_folder_vanished(tmp_path: Path) -> None:
    data, drop = tmp_path / "data", tmp_path / "drop"
    drop.mkdir()
    watch(data, drop)
    (drop / "before.png").write_bytes(png_bytes(1))  # there before the first run
    run = WatchRun(data)
    try:
        run.wait_for(lambda _: run.ingested() >= 1)
    finally:
        run.stop()
    (drop / "while_stopped.png").write_bytes(png_bytes(2))
    run = WatchRun(data)
    try:
        event = run.wait_for(is_settled)
        # Only the new file: what the first run ingested is not handed to ingest again.
        assert event["ingested"]
        assert not event["duplicates"]
        shutil.rmtree(drop)
        run.wait_for(lambda e: e["event"] == "missing")
        drop.mkdir()
        (drop / "after_return.png").write_bytes(png_bytes(3))
        run.wait_for(lambda e: e["event"] == "resumed")
        run.wait_for(is_settled)
    finally:
        run.stop()
    names = [a["name"] for a in assets(data)]
    assert names == ["after_return.png", "before.png", "while_stopped.png"]


def test_ingest_profile_and_set_choose_the_follow_ups(tmp_path: Path) -> None:
    data, still = tmp_path / "data", tmp_path / "still.png"
    still.write_bytes(png_bytes(1))
    stratopipe(data, "ingest", str(still), "--project", "Show", "--set", "ai=false", "--json")
    assert [j["kind"] for j in json.loads(stratopipe(data, "jobs", "--json").stdout)] == ["thumbnail"]

    refused = stratopipe(data, "ingest", str(still), "--project", "Show", "--set", "ai=maybe", check=False)
    assert refused.returncode == 2
    assert "ai='maybe': Input should be a valid boolean" in refused.stderr
    assert refused.stdout == ""
    unknown = stratopipe(data, "ingest", str(still), "--project", "Show", "--profile", "fast", check=False)
    assert unknown.returncode == 2
    assert "no profile named 'fast'" in unknown.stderr


def test_watch_add_list_remove(tmp_path: Path) -> None:
    data, drop = tmp_path / "data", tmp_path / "drop"
    drop.mkdir()
    missing = stratopipe(data, "watch", "add", str(tmp_path / "nope"), "--project", "Show", check=False)
    assert missing.returncode == 2
    assert "is not a folder" in missing.stderr
    stratopipe(data, "watch", "add", str(drop), "--project", "Show", "--poll")
    again = stratopipe(data, "watch", "add", str(drop), "--project", "Show", check=False)
    assert again.returncode == 2
    assert "watched already" in again.stderr
    listed = json.loads(stratopipe(data, "watch", "list", "--json").stdout)
    assert listed == [{"path": str(drop), "project": "Show", "profile": None, "polling": True}]
    stratopipe(data, "watch", "remove", str(drop))
    assert json.loads(stratopipe(data, "watch", "list", "--json").stdout) == []
