"""Hostile files through the real ``stratopipe ingest`` process: each is refused on its own, with one
clear error, within bounded memory and time, and the rest of the batch is cataloged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .hostile import run_cli, write_obj, write_png_bomb, write_small_png

BUDGET_MB = 1024


def _failures(result: dict[str, object]) -> dict[str, str]:
    failed = result["failed"]
    assert isinstance(failed, list)
    return {Path(f["path"]).name: f["error"] for f in failed}


def _ingested_names(result: dict[str, object]) -> set[str]:
    assets = result["assets"]
    assert isinstance(assets, list)
    return {a["name"] for a in assets}


@pytest.mark.slow
def test_image_bombs_are_refused_from_their_headers_within_the_memory_budget(tmp_path: Path) -> None:
    calm = tmp_path / "calm"
    calm.mkdir()
    write_small_png(calm / "fine.png")
    env = {"STRATOPIPE_INGEST_MEMORY_MB": str(BUDGET_MB)}
    baseline = run_cli(
        ["ingest", calm, "--project", "P", "--json", "--thumbnails-only"], tmp_path / "a", env=env
    )
    assert baseline.returncode == 0, baseline.stderr

    drop = tmp_path / "drop"
    drop.mkdir()
    write_png_bomb(drop / "poster.png", 45_000, 45_000)  # 6 MB on disk, 6 GB of RGB once decoded
    write_png_bomb(drop / "normals.png", 15_000, 15_000, rgba16=True)  # under the pixel limit: 1.7 GB
    write_small_png(drop / "fine.png", seed=3)
    run = run_cli(["ingest", drop, "--project", "P", "--json", "--thumbnails-only"], tmp_path / "b", env=env)

    assert run.returncode == 0, run.stderr
    result = run.json()
    failures = _failures(result)
    assert "45,000 x 45,000 pixels" in failures["poster.png"]
    assert "4 channels of 16 bits: 1,717 MB once decoded" in failures["normals.png"]
    assert all("it was not decoded" in error for error in failures.values())
    assert _ingested_names(result) == {"fine.png"}
    # Decoding either would have taken gigabytes; refusing them costs nothing beyond a small ingest.
    assert run.peak_rss_bytes < baseline.peak_rss_bytes + BUDGET_MB * 2**20


@pytest.mark.slow
def test_a_mesh_too_big_for_the_memory_limit_fails_in_its_sandbox(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_obj(drop / "scan.obj", 1_500_000)  # ~70 MB of text, far more once parsed
    write_obj(drop / "crate.obj", 12)
    env = {"STRATOPIPE_RENDER_MEMORY_MB": "256"}
    run = run_cli(["ingest", drop, "--project", "P", "--json", "--thumbnails-only"], tmp_path / "d", env=env)

    assert run.returncode == 0, run.stderr
    result = run.json()
    assert "256 MB memory limit" in _failures(result)["scan.obj"]
    assert _ingested_names(result) == {"crate.obj"}
    # The parse ran in a child capped at 256 MB over its start-up size, not in the ingest process.
    assert run.peak_rss_bytes < 1024 * 2**20


def test_an_obj_whose_material_file_is_a_fifo_cannot_hang_ingest(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    os.mkfifo(drop / "wood.mtl")
    write_obj(drop / "table.obj", 12, mtllib="wood.mtl")
    write_small_png(drop / "fine.png")
    env = {"STRATOPIPE_RENDER_TIMEOUT_S": "5"}
    # A hang shows as this generous timeout expiring, not as a speed bound.
    run = run_cli(
        ["ingest", drop, "--project", "P", "--json", "--thumbnails-only"],
        tmp_path / "d",
        env=env,
        timeout_s=180,
    )

    assert run.returncode == 0, run.stderr
    result = run.json()
    failures = _failures(result)
    assert "took longer than 5 s (render_timeout_s) and was stopped" in failures["table.obj"]
    assert "wood.mtl is a named pipe (FIFO), not a regular file; skipped" in failures["wood.mtl"]
    assert _ingested_names(result) == {"fine.png"}


def test_names_that_are_not_utf8_are_refused_one_by_one(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    latin1 = os.path.join(os.fsencode(drop), b"caf\xe9.png")  # a name written by a Latin-1 system
    write_small_png(Path(os.fsdecode(latin1)), seed=1)
    os.mkdir(os.path.join(os.fsencode(drop), b"r\xe9sum\xe9s"))
    write_small_png(drop / "fine.png", seed=2)
    direct = os.fsencode(tmp_path) + b"/na\xefve.png"
    write_small_png(Path(os.fsdecode(direct)), seed=4)

    run = run_cli(["ingest", drop, os.fsdecode(direct), "--project", "P", "--json"], tmp_path / "d")

    assert run.returncode == 0, run.stderr
    result = run.json()
    failures = _failures(result)
    assert set(failures) == {"caf\\xe9.png", "r\\xe9sum\\xe9s", "na\\xefve.png"}
    assert all("not valid UTF-8" in error for error in failures.values())
    assert _ingested_names(result) == {"fine.png"}
    listed = run_cli(["assets", "--project", "P"], tmp_path / "d")
    assert listed.returncode == 0
    assert "fine.png" in listed.stdout


def test_links_out_of_the_folder_and_special_files_are_reported_not_followed(tmp_path: Path) -> None:
    write_small_png(tmp_path / "outside.png", seed=5)  # beside the dropped folder: not dropped
    drop = tmp_path / "drop"
    (drop / "textures").mkdir(parents=True)
    write_small_png(drop / "textures" / "wall.png", seed=6)
    os.symlink(tmp_path, drop / "textures" / "up")  # a link to the parent of the dropped folder
    os.symlink(drop, drop / "textures" / "loop")  # a loop inside the folder: safe and silent
    os.mkfifo(drop / "pipe.png")
    os.symlink("/dev/zero", drop / "zeros.exr")
    os.symlink(drop / "gone.png", drop / "dangling.png")

    run = run_cli(["ingest", drop, "--project", "P", "--json"], tmp_path / "d")

    assert run.returncode == 0, run.stderr
    result = run.json()
    failures = _failures(result)
    assert "links to a folder outside the dropped folder" in failures["up"]
    assert "a named pipe (FIFO)" in failures["pipe.png"]
    assert "zeros.exr is a device, not a regular file" in failures["zeros.exr"]
    assert "broken link" in failures["dangling.png"]
    assert "loop" not in failures
    assert _ingested_names(result) == {"wall.png"}
