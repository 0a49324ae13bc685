"""Steps on a real two-process Dask cluster: the same products as locally, cancel, a lost worker,
many jobs at once, and the local fallback when the scheduler cannot be reached."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import psutil
import pytest
from PIL import Image

from core.ai.models import package_dir
from core.farm.executor import FarmExecutor, FarmStatus
from core.farm.paths import PathMapping
from core.jobs.model import JobDocument, JobState, Lane
from core.jobs.runner import run_job
from core.jobs.steps import AssetRef, CancelToken, JobCancelledError, StepContext, StepRegistry
from core.paths import AppPaths
from core.pipeline import build_registry
from core.settings import Settings
from tests.core.farm.conftest import textured_box
from tests.core.farm.farm_steps import TRIVIAL_SOURCE, trivial_step

if TYPE_CHECKING:
    from collections.abc import Iterator

    from distributed import LocalCluster

    from core.jobs.steps import StepFunction


@pytest.fixture(scope="module")
def farm(cluster: LocalCluster) -> Iterator[FarmExecutor]:
    executor = FarmExecutor(cluster.scheduler_address)
    assert executor.connect()
    yield executor
    executor.close()


def _paths(root: Path) -> AppPaths:
    return AppPaths(root / "data", root / "cache", root / "config", root / "logs").ensure()


def _ctx(asset_path: Path, kind: str, paths: AppPaths, **params: Any) -> StepContext:
    asset = AssetRef(id=1, path=asset_path, kind=kind, content_hash=f"hash{asset_path.stem}")
    return StepContext(asset, paths, Settings(), CancelToken(), params=dict(params))


def _job(registry: StepRegistry, ctx: StepContext, kind: str, steps: list[str]) -> JobDocument:
    return run_job(JobDocument.new(kind, steps, asset_id=1), registry, ctx, backoff_s=(0.1,))


def _pixels(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def test_a_render_on_the_farm_is_the_local_render(farm: FarmExecutor, tmp_path: Path) -> None:
    model = textured_box(tmp_path / "model")
    local = _job(build_registry(), _ctx(model, "geometry", _paths(tmp_path / "local"), size=128),
                 "render", ["render_thumbnail"])  # fmt: skip
    remote_paths = _paths(tmp_path / "remote")
    remote = _job(build_registry(executor=farm), _ctx(model, "geometry", remote_paths, size=128),
                  "render", ["render_thumbnail"])  # fmt: skip

    assert local.state == remote.state == JobState.COMPLETED, remote.error
    local_out, remote_out = local.steps[0].output, remote.steps[0].output
    # The product came back into this machine's cache, pixel for pixel the local one (texture included:
    # the OBJ's material and image travelled with it).
    assert Path(remote_out["path"]).parent.is_relative_to(remote_paths.artifact_dir)
    assert np.array_equal(_pixels(local_out["path"]), _pixels(remote_out["path"]))
    assert {k: v for k, v in remote_out.items() if k not in ("path", "seconds")} == {
        k: v for k, v in local_out.items() if k not in ("path", "seconds")
    }
    assert remote.device == f"{local.device}@127.0.0.1"


def test_a_classification_on_the_farm_is_the_local_one(farm: FarmExecutor, tmp_path: Path) -> None:
    skimage = package_dir("skimage")
    assert skimage is not None
    photo = skimage / "data" / "chelsea.png"
    local = _job(build_registry(), _ctx(photo, "image", _paths(tmp_path / "local")),
                 "classify", ["classify", "focus_crop"])  # fmt: skip
    remote = _job(build_registry(executor=farm), _ctx(photo, "image", _paths(tmp_path / "remote")),
                  "classify", ["classify", "focus_crop"])  # fmt: skip

    assert local.state == remote.state == JobState.COMPLETED, remote.error
    classified_here, classified_there = local.steps[0].output, remote.steps[0].output
    assert classified_there["categories"], "a cat photo gets confident tags"
    assert classified_there == classified_here
    crop_here, crop_there = local.steps[1].output, remote.steps[1].output
    assert crop_there["box"] == crop_here["box"]
    assert Path(crop_there["crop"]).is_relative_to(tmp_path / "remote" / "cache")
    assert np.array_equal(_pixels(crop_here["crop"]), _pixels(crop_there["crop"]))


def test_a_file_over_the_size_cap_fails_at_once_with_what_to_do(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    small = FarmExecutor(cluster.scheduler_address, ship_max_bytes=100)
    try:
        doc = _job(build_registry(executor=small), _ctx(textured_box(tmp_path / "m"), "geometry",
                   _paths(tmp_path)), "render", ["render_thumbnail"])  # fmt: skip
    finally:
        small.close()
    assert doc.state == JobState.FAILED
    assert doc.steps[0].attempts == 1  # invalid input: never retried
    assert "farm_ship_max_mb" in (doc.error or "")
    assert "path mapping" in (doc.error or "")


def test_mapped_paths_are_read_and_written_in_place(cluster: LocalCluster, tmp_path: Path) -> None:
    """The worker reaches the model and the cache through its own name for them (here a symlink, as
    a mount would be): nothing is sent as bytes, which a one-byte cap proves."""
    model = textured_box(tmp_path / "project" / "model")
    paths = _paths(tmp_path / "profile")
    (tmp_path / "mnt").mkdir()
    (tmp_path / "mnt" / "proj").symlink_to(tmp_path / "project")
    (tmp_path / "mnt" / "cache").symlink_to(paths.cache_dir)
    mapping = PathMapping([
        {"local": str(tmp_path / "project"), "remote": str(tmp_path / "mnt" / "proj")},
        {"local": str(paths.cache_dir), "remote": str(tmp_path / "mnt" / "cache")},
    ])  # fmt: skip
    mapped = FarmExecutor(cluster.scheduler_address, mapping=mapping, ship_max_bytes=1)
    try:
        doc = _job(build_registry(executor=mapped), _ctx(model, "geometry", paths, size=64),
                   "render", ["render_thumbnail"])  # fmt: skip
    finally:
        mapped.close()
    assert doc.state == JobState.COMPLETED, doc.error
    product = Path(doc.steps[0].output["path"])
    assert product.is_relative_to(paths.artifact_dir)
    assert product.is_file()


def _render_children(pid: int) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(pid).children(recursive=True)
        if "core.render.worker_main" in " ".join(child.cmdline())
    ]


def test_a_cancel_kills_the_render_child_on_its_worker(
    farm: FarmExecutor, cluster: LocalCluster, tmp_path: Path
) -> None:
    from distributed import Client

    model = textured_box(tmp_path / "model")
    ctx = _ctx(model, "geometry", _paths(tmp_path), size=256, frames=400)
    step: StepFunction = build_registry(executor=farm).get("render_turntable")
    generator = step(ctx)
    worker_address = ""
    child: psutil.Process | None = None
    with Client(cluster.scheduler_address, set_as_default=False) as observer:
        worker_pids: dict[str, int] = observer.run(os.getpid)
        for progress in generator:
            if progress.message.startswith("Started on "):
                worker_address = progress.message.removeprefix("Started on ")
            if progress.fraction > 0.02 and worker_address:
                children = _render_children(worker_pids[worker_address])
                if children:
                    child = children[0]
                    break
        assert child is not None, "the turntable must be rendering on a worker"
        cancelled_at = time.monotonic()
        ctx.cancel.cancel()
        with pytest.raises(JobCancelledError):
            for _progress in generator:
                pass
        assert time.monotonic() - cancelled_at < 5.0
        # The child's whole process group was killed on the worker (and reaped there).
        gone, _alive = psutil.wait_procs([child], timeout=5.0)
        assert gone, f"render child {child.pid} still runs after the cancel"


def test_many_remote_jobs_leave_the_submitting_thread_free(farm: FarmExecutor) -> None:
    registry = StepRegistry()
    registry.register("trivial", farm.wrap("trivial", trivial_step, Lane.RENDER, TRIVIAL_SOURCE))
    lane = ThreadPoolExecutor(16, thread_name_prefix="farm-lane")
    docs = [JobDocument.new("render", ["trivial"], params={"value": n}) for n in range(100)]
    paths = AppPaths.resolve().ensure()

    def run(doc: JobDocument) -> JobDocument:
        ctx = StepContext(None, paths, Settings(), CancelToken(), params={"value": doc.params["value"]})
        return run_job(doc, registry, ctx)

    ticks: list[float] = []
    try:
        submitted_at = time.perf_counter()
        futures = [lane.submit(run, doc) for doc in docs]
        submit_s = time.perf_counter() - submitted_at
        # The "UI thread" keeps ticking every 10 ms while the jobs run remotely.
        while not all(f.done() for f in futures):
            ticks.append(time.perf_counter())
            time.sleep(0.01)
        finished = [f.result() for f in futures]
    finally:
        lane.shutdown(wait=True)
    assert submit_s < 0.5
    assert all(doc.state == JobState.COMPLETED for doc in finished)
    assert [doc.steps[0].output["value"] for doc in finished] == list(range(100))
    assert {doc.steps[0].output["pid"] for doc in finished} - {os.getpid()}, "they ran on the workers"
    gaps = np.diff(ticks) if len(ticks) > 1 else np.array([0.0])
    assert float(gaps.max()) < 0.5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_scheduler_means_local_lanes_and_a_note() -> None:
    seen: list[FarmStatus] = []
    address = f"tcp://127.0.0.1:{_free_port()}"
    farm = FarmExecutor(address, connect_timeout_s=1.0, on_status=seen.append)
    registry = StepRegistry()
    registry.register("trivial", farm.wrap("trivial", trivial_step, Lane.RENDER, TRIVIAL_SOURCE))
    paths = AppPaths.resolve().ensure()
    try:
        for _ in range(2):
            ctx = StepContext(None, paths, Settings(), CancelToken(), params={"value": 1})
            started = time.perf_counter()
            doc = run_job(JobDocument.new("render", ["trivial"]), registry, ctx)
            assert doc.state == JobState.COMPLETED
            assert doc.steps[0].output["pid"] == os.getpid()  # it ran here
        assert time.perf_counter() - started < 0.5, "the second job does not wait for the farm again"
    finally:
        farm.close()
    assert seen == [FarmStatus(False, f"Farm unreachable — running locally ({address})")]


def test_a_scheduler_without_workers_means_local_lanes_too() -> None:
    from distributed import LocalCluster

    seen: list[FarmStatus] = []
    with LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=":0") as empty:
        farm = FarmExecutor(empty.scheduler_address, on_status=seen.append)
        registry = StepRegistry()
        registry.register("trivial", farm.wrap("trivial", trivial_step, Lane.RENDER, TRIVIAL_SOURCE))
        ctx = StepContext(None, AppPaths.resolve().ensure(), Settings(), CancelToken(), params={"value": 2})
        try:
            doc = run_job(JobDocument.new("render", ["trivial"]), registry, ctx)
        finally:
            farm.close()
    assert doc.state == JobState.COMPLETED
    assert doc.steps[0].output["pid"] == os.getpid()
    assert [status.message for status in seen] == [
        f"Farm has no workers — running locally ({empty.scheduler_address})"
    ]


def test_a_lost_worker_means_a_retry_elsewhere_that_completes(
    farm: FarmExecutor, cluster: LocalCluster, tmp_path: Path
) -> None:
    from distributed import Client

    model = textured_box(tmp_path / "model")
    ctx = _ctx(model, "geometry", _paths(tmp_path), size=256, frames=240)
    registry = build_registry(executor=farm)
    result: dict[str, JobDocument] = {}
    runner = threading.Thread(
        target=lambda: result.update(doc=_job(registry, ctx, "turntable", ["render_turntable"]))
    )
    with Client(cluster.scheduler_address, set_as_default=False) as observer:
        runner.start()
        victim = ""
        deadline = time.monotonic() + 60
        while not victim and time.monotonic() < deadline:
            for address, keys in observer.processing().items():
                if any(str(key).startswith("stratopipe-render_turntable") for key in keys):
                    victim = address
            time.sleep(0.05)
        assert victim, "the turntable never started on a worker"
        time.sleep(0.5)  # mid-render (the whole turntable takes seconds)
        pid = observer.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        runner.join(timeout=120)
    doc = result["doc"]
    assert doc.state == JobState.COMPLETED, doc.error
    assert doc.steps[0].attempts == 2  # the retry was ours, recorded in the job document
    assert Path(doc.steps[0].output["path"]).is_file()
