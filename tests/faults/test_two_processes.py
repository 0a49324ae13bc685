"""Several real ``stratopipe`` processes on one data dir: the first migration, one folder ingested
twice at once, and the jobs a killed ingest leaves behind."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .hostile import ROOT, run_cli, start_cli, write_small_png


def _folder(root: Path, count: int) -> Path:
    root.mkdir()
    for index in range(count):
        write_small_png(root / f"plate_{chr(ord('a') + index)}.png", seed=index)  # no digits: not a sequence
    return root


def _jobs(data_dir: Path) -> list[dict[str, object]]:
    listed = run_cli(["jobs", "--json", "--limit", "1000"], data_dir)
    assert listed.returncode == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    assert isinstance(jobs, list)
    return jobs


def _assets(data_dir: Path) -> list[dict[str, object]]:
    listed = run_cli(["assets", "--project", "Show", "--json"], data_dir)
    assert listed.returncode == 0, listed.stderr
    assets = json.loads(listed.stdout)
    assert isinstance(assets, list)
    return assets


@pytest.mark.slow
def test_processes_opening_a_fresh_data_dir_together_all_migrate_it(tmp_path: Path) -> None:
    for attempt in range(3):
        data_dir = tmp_path / f"fresh{attempt}"
        starts = [start_cli(["projects", "--json"], data_dir) for _ in range(4)]
        for process in starts:
            stdout, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr.decode()
            assert json.loads(stdout) == []


@pytest.mark.slow
def test_two_ingests_of_one_folder_register_and_process_each_file_once(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "plates", 16)
    data_dir = tmp_path / "data"
    args = ["ingest", str(folder), "--project", "Show", "--json", "--thumbnails-only"]
    processes = [start_cli(args, data_dir) for _ in range(2)]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr.decode()
        results.append(json.loads(stdout))

    reported = [{a["id"] for a in r["assets"]} for r in results]
    assert not reported[0] & reported[1], "both processes claimed the same assets"
    assert len(reported[0] | reported[1]) == 16
    duplicates = [d["asset_id"] for r in results for d in r["duplicates"]]
    assert sorted(duplicates) == sorted(reported[0] | reported[1])  # the other's, each named once
    thumbnail_jobs = [j for j in _jobs(data_dir) if j["kind"] == "thumbnail"]
    assert sorted(j["asset_id"] for j in thumbnail_jobs) == sorted(reported[0] | reported[1])
    assert {j["state"] for j in thumbnail_jobs} == {"completed"}


@pytest.mark.slow
def test_jobs_of_a_killed_ingest_are_recovered_by_the_next_cli_run_never_while_it_lives(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path / "plates", 6)
    data_dir = tmp_path / "data"
    interrupted = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.interrupted_ingest", str(data_dir), str(folder)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert interrupted.stdout is not None
    assert interrupted.stdout.readline().strip() == "queued 6"

    # While the first process lives, it owns its jobs: another CLI run must not run them.
    other = tmp_path / "other"
    other.mkdir()
    write_small_png(other / "other.png", seed=99)
    run = run_cli(["ingest", other, "--project", "Show", "--json", "--thumbnails-only"], data_dir)
    assert run.returncode == 0, run.stderr
    held = [j for j in _jobs(data_dir) if j["asset_id"] != run.json()["assets"][0]["id"]]
    assert [j["state"] for j in held] == ["queued"] * 6

    interrupted.send_signal(signal.SIGKILL)
    interrupted.communicate(timeout=60)

    # Killed: the next entry point takes its jobs over and finishes them.
    again = run_cli(["ingest", folder, "--project", "Show", "--json", "--thumbnails-only"], data_dir)
    assert again.returncode == 0, again.stderr
    assert len(again.json()["duplicates"]) == 6
    jobs = _jobs(data_dir)
    assert len([j for j in jobs if j["kind"] == "thumbnail"]) == 7  # each run once, none twice
    assert {j["state"] for j in jobs} == {"completed"}  # their follow-ups (classify) included
    assert {a["status"] for a in _assets(data_dir)} == {"ready"}
