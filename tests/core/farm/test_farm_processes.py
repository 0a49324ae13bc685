"""Stock Dask processes started through ``stratopipe farm``: the CLI gives the same results with
``--executor dask://...`` as locally."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PIL import Image

from core.ai.models import package_dir
from core.jobs.model import JobDocument
from core.jobs.runner import run_job
from core.jobs.steps import AssetRef, CancelToken, StepContext
from core.paths import AppPaths
from core.pipeline import build_registry
from core.settings import Settings
from tests.core.farm.conftest import textured_box

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``stratopipe farm scheduler`` and two ``stratopipe farm worker`` processes on 127.0.0.1."""
    from distributed import Client

    root = tmp_path_factory.mktemp("farm-processes")
    port = _free_port()
    env = {**os.environ, "STRATOPIPE_DATA_DIR": str(root / "worker-home")}
    scheduler_args = ["--port", str(port), "--host", "127.0.0.1", "--dashboard-address", "none"]
    processes = [_start(["farm", "scheduler", *scheduler_args], root / "scheduler.log", env)]
    address = f"tcp://127.0.0.1:{port}"
    try:
        for name in ("w1", "w2"):
            worker_args = [
                f"dask://127.0.0.1:{port}",
                "--name",
                name,
                "--host",
                "127.0.0.1",
                "--no-dashboard",
            ]
            processes.append(_start(["farm", "worker", *worker_args], root / f"{name}.log", env))
        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
            workers = client.scheduler_info(n_workers=-1)["workers"].values()
            assert {w["name"] for w in workers} == {"w1", "w2"}
            assert all(w["nthreads"] == 4 and w["resources"] == {"render": 1} for w in workers)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def _cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args, "--json"],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return json.loads(done.stdout), done.stderr.decode()


def _without(result: dict[str, Any], *keys: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in out.items() if k not in keys} for out in result["results"][0]["outputs"]]


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def test_render_and_classify_on_the_farm_print_what_local_runs_print(scheduler: str, tmp_path: Path) -> None:
    model = textured_box(tmp_path / "model")
    skimage = package_dir("skimage")
    assert skimage is not None
    photo = skimage / "data" / "coffee.png"
    executor = scheduler.replace("tcp://", "dask://")

    render_here, _ = _cli(tmp_path / "local", "render", str(model), "--size", "128")
    render_there, note = _cli(
        tmp_path / "farm", "render", str(model), "--size", "128", "--executor", executor
    )
    assert "unreachable" not in note
    assert render_there["results"][0]["device"].endswith("@127.0.0.1")
    assert _without(render_there, "path", "seconds") == _without(render_here, "path", "seconds")
    here_png, there_png = (r["results"][0]["outputs"][0]["path"] for r in (render_here, render_there))
    assert there_png.startswith(str(tmp_path / "farm"))
    assert np.array_equal(_pixels(here_png), _pixels(there_png))

    # The local side as a job in this process (a second CLI run would cost another torch start).
    here = AssetRef(0, photo, "image", "x")
    ctx = StepContext(here, AppPaths.resolve().ensure(), Settings(), CancelToken(), params={})
    local = run_job(JobDocument.new("classify", ["classify", "focus_crop"]), build_registry(), ctx)
    sorted_there, _ = _cli(tmp_path / "farm", "classify", str(photo), "--executor", executor)
    outputs = sorted_there["results"][0]["outputs"]
    assert [out.pop("step") for out in outputs] == ["classify", "focus_crop"]
    assert outputs[0] == local.steps[0].output
    assert outputs[0]["categories"]
    assert outputs[1]["box"] == local.steps[1].output["box"]
    assert outputs[1]["crop"].startswith(str(tmp_path / "farm"))


def test_an_unreachable_farm_runs_locally_and_says_so_on_stderr(tmp_path: Path) -> None:
    model = textured_box(tmp_path / "model")
    started = time.perf_counter()
    result, note = _cli(
        tmp_path / "data",
        "render",
        str(model),
        "--size",
        "64",
        "--executor",
        f"dask://127.0.0.1:{_free_port()}",
        env={"STRATOPIPE_FARM_CONNECT_TIMEOUT_S": "1"},
    )
    assert "Farm unreachable — running locally" in note
    assert result["results"][0]["error"] is None
    assert "@" not in result["results"][0]["device"]  # this machine's renderer
    assert time.perf_counter() - started < 60
