"""The headless commands as scripts and benchmarks call them: real child processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np


def stratopipe(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STRATOPIPE_DATA_DIR"}
    result = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_ingest_json_lists_assets_duplicates_and_failures(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for i in range(3):
        cv2.imwrite(str(drop / f"still_{'abc'[i]}.png"), np.full((40, 60, 3), 60 * i, np.uint8))
    (drop / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    data = tmp_path / "data"
    result = json.loads(
        stratopipe(data, "ingest", str(drop), "--project", "Show", "--json", "--thumbnails-only").stdout
    )
    assert result["project"] == "Show"
    assert result["ingested"] == 3
    assert [Path(f["path"]).name for f in result["failed"]] == ["truncated.jpg"]
    assert all(
        Path(a["thumbnail"]).is_file() and a["kind"] == "image" and a["hash"] for a in result["assets"]
    )
    assert result["seconds"] > 0

    again = json.loads(
        stratopipe(data, "ingest", str(drop / "still_a.png"), "--project", "Show", "--json").stdout
    )
    assert again["ingested"] == 0
    assert len(again["duplicates"]) == 1

    projects = json.loads(stratopipe(data, "projects", "--json").stdout)
    assert projects == [{"id": 1, "name": "Show", "description": "", "assets": 3}]
    found = json.loads(
        stratopipe(data, "assets", "--project", "Show", "--search", "still_b", "--json").stdout
    )
    assert [a["name"] for a in found] == ["still_b.png"]
    jobs = json.loads(stratopipe(data, "jobs", "--json").stdout)
    assert {j["state"] for j in jobs} == {"completed"}


def test_usage_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    missing = stratopipe(tmp_path, "ingest", str(tmp_path / "nope"), "--project", "X", check=False)
    assert missing.returncode == 2
    assert "not found" in missing.stderr
    unknown = stratopipe(tmp_path, "assets", "--project", "Nope", check=False)
    assert unknown.returncode == 2
    assert "no project named" in unknown.stderr


def test_render_and_classify_commands_on_catalog_assets_and_loose_files(tmp_path: Path) -> None:
    import trimesh

    model = tmp_path / "crate.stl"
    trimesh.creation.box((1.0, 1.0, 2.0)).export(model)
    photo = tmp_path / "plate.png"
    cv2.imwrite(str(photo), (np.random.default_rng(3).random((96, 128, 3)) * 255).astype(np.uint8))
    data = tmp_path / "data"
    # The full pipeline: placeholder thumbnail, then a render, then AI categories from the render.
    ingested = json.loads(stratopipe(data, "ingest", str(model), "--project", "Show", "--json").stdout)
    (asset,) = ingested["assets"]
    assert asset["thumbnail"].endswith(".png")  # the render replaced the placeholder
    assert "3d-model/render" in {t["name"] for t in asset["tags"]}
    asset_id = ingested["assets"][0]["id"]

    rendered = json.loads(
        stratopipe(data, "render", str(asset_id), str(photo), "--size", "128", "--json").stdout
    )
    by_input = {r["input"]: r for r in rendered["results"]}
    ok = by_input[str(asset_id)]
    assert ok["error"] is None
    assert ok["device"].startswith("pyrender/")
    (thumbnail,) = ok["outputs"]
    image = cv2.imread(thumbnail["path"])
    assert image is not None, "the render wrote a readable image"
    assert image.shape[:2] == (128, 128)
    assert "not a 3D model" in by_input[str(photo)]["error"]
    # The render became the asset's thumbnail in the catalog.
    assets = json.loads(stratopipe(data, "assets", "--project", "Show", "--json").stdout)
    assert assets[0]["thumbnail"] == thumbnail["path"]

    classified = json.loads(stratopipe(data, "classify", str(photo), "--json").stdout)
    (result,) = classified["results"]
    output = result["outputs"][0]
    # Random noise is nothing an artist files: every guess stays below its bar, shown as hidden.
    assert output["categories"] == []
    assert output["hidden"]
    assert all(0 < c["confidence"] <= 1 for c in output["hidden"])


def test_json_stays_parseable_when_c_code_prints_to_stdout(tmp_path: Path) -> None:
    # A real child: libc's printf writes to descriptor 1 while the command works, as OpenEXR does.
    script = (
        "import ctypes, sys\n"
        "from app import cli\n"
        "listing = cli.cmd_projects\n"
        "def noisy(runtime, args):\n"
        "    ctypes.CDLL(None).printf(b'OpenEXR-style warning from C\\n')\n"
        "    return listing(runtime, args)\n"
        "cli.cmd_projects = noisy\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "--data-dir", str(tmp_path), "projects", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert "OpenEXR-style warning from C" in result.stderr


def test_batch_commands_report_each_input_and_fail_only_when_all_fail(tmp_path: Path) -> None:
    import trimesh

    model = tmp_path / "crate.stl"
    trimesh.creation.box().export(model)
    empty = tmp_path / "empty.obj"
    empty.write_bytes(b"")
    data = tmp_path / "data"
    mixed = stratopipe(data, "render", str(empty), str(model), "--size", "64", "--json", check=False)
    assert mixed.returncode == 0, mixed.stderr
    by_input = {r["input"]: r for r in json.loads(mixed.stdout)["results"]}
    assert by_input[str(empty)]["error"]
    assert by_input[str(model)]["error"] is None
    for command in ("render", "classify", "enhance"):
        failed = stratopipe(data, command, str(empty), str(tmp_path / "nope.png"), "--json", check=False)
        assert failed.returncode == 3, (command, failed.stderr)
        assert [bool(r["error"]) for r in json.loads(failed.stdout)["results"]] == [True, True]


def test_relative_paths_are_stored_absolute_and_relink_follows_a_move(tmp_path: Path) -> None:
    show = tmp_path / "show"
    show.mkdir()
    cv2.imwrite(str(show / "bg.png"), np.full((20, 30, 3), 90, np.uint8))
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "STRATOPIPE_DATA_DIR"}
    ingested = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data), "ingest", "bg.png", "--project", "P",
         "--json", "--thumbnails-only"],
        cwd=show, capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    (asset,) = json.loads(ingested.stdout)["assets"]
    assert asset["path"] == str(show / "bg.png")

    moved = tmp_path / "moved"
    not_there = stratopipe(data, "relink", str(show), str(moved), "--dry-run", "--json", check=False)
    assert not_there.returncode == 3  # no file found at the new place: nothing could be relinked
    dry = json.loads(not_there.stdout)
    assert dry["relinked"] == []
    assert [m["to"] for m in dry["missing"]] == [str(moved / "bg.png")]
    show.rename(moved)
    done = json.loads(stratopipe(data, "relink", str(show), str(moved), "--project", "P", "--json").stdout)
    assert [m["to"] for m in done["relinked"]] == [str(moved / "bg.png")]
    (listed,) = json.loads(stratopipe(data, "assets", "--project", "P", "--json").stdout)
    assert listed["path"] == str(moved / "bg.png")
