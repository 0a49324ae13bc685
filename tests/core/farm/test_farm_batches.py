"""Small steps of several jobs share one Dask task on a real two-process cluster: fewer tasks than jobs,
the local lane's results, and each job's own failure, cancel and result."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from core.ai.models import package_dir
from core.farm.coalesce import StepCoalescer
from core.farm.executor import FarmExecutor
from core.jobs.model import JobDocument, JobState, Lane
from core.jobs.runner import run_job
from core.jobs.steps import AssetRef, CancelToken, JobCancelledError, StepContext, StepRegistry
from core.lane_resources import LaneResources
from core.paths import AppPaths
from core.pipeline import build_registry
from core.settings import Settings
from tests.core.farm.farm_steps import SLOW_SOURCE, slow_step

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from distributed import LocalCluster

PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png", "color.png")


def _farm(cluster: LocalCluster, window_s: float) -> FarmExecutor:
    """Its own coalescer, with a window wide enough that jobs started together meet on a busy machine."""
    farm = FarmExecutor(cluster.scheduler_address, coalescer=StepCoalescer(window_s=window_s))
    assert farm.connect()
    return farm


@pytest.fixture
def wide_farm(cluster: LocalCluster) -> Iterator[FarmExecutor]:
    farm = _farm(cluster, window_s=0.5)
    yield farm
    farm.close()


def _paths(root: Path) -> AppPaths:
    return AppPaths(root / "data", root / "cache", root / "config", root / "logs").ensure()


def _photos() -> list[Path]:
    skimage = package_dir("skimage")
    assert skimage is not None
    return [skimage / "data" / name for name in PHOTOS]


def _classify(registry: StepRegistry, path: Path, paths: AppPaths, **params: Any) -> JobDocument:
    asset = AssetRef(id=1, path=path, kind="image", content_hash=f"hash-{path.stem}")
    ctx = StepContext(asset, paths, Settings(), CancelToken(), params=params)
    return run_job(JobDocument.new("classify", ["classify"], asset_id=1), registry, ctx, backoff_s=(0.1,))


def _together(count: int, job: Callable[[int], JobDocument]) -> list[JobDocument]:
    with ThreadPoolExecutor(count, thread_name_prefix="farm-lane") as lane:
        return list(lane.map(job, range(count)))


def _tags(output: dict[str, Any]) -> list[tuple[str, str]]:
    return [(tag["name"], tag["kind"]) for tag in output["categories"]]


def _same_classification(here: dict[str, Any], there: dict[str, Any]) -> None:
    """The same tags, models and notes; confidences to float noise (a batch of 8 and a batch of 3
    add up in another order)."""
    assert _tags(there) == _tags(here)
    for mine, theirs in zip(here["categories"], there["categories"], strict=True):
        assert theirs["confidence"] == pytest.approx(mine["confidence"], abs=2e-4)
    plain = ("path", "model", "device", "note", "subject_model", "subject_note", "frames")
    assert {k: there[k] for k in plain} == {k: here[k] for k in plain}


def _task_keys(cluster: LocalCluster, run: Callable[[], object]) -> list[str]:
    """The keys of the tasks the scheduler ran meanwhile."""
    from distributed import Client, get_task_stream

    with Client(cluster.scheduler_address, set_as_default=False) as observer:
        with get_task_stream(client=observer) as stream:
            run()
        return [str(record["key"]) for record in stream.data]


def test_classifications_started_together_go_as_one_task_with_the_local_lanes_results(
    cluster: LocalCluster, wide_farm: FarmExecutor, tmp_path: Path
) -> None:
    photos = _photos()
    local_paths = _paths(tmp_path / "local")
    resources = LaneResources(local_paths, Settings())  # the app's inference lane: batched too
    try:
        lane = resources.params(Lane.INFERENCE)
        local = _together(len(photos), lambda i: _classify(build_registry(), photos[i], local_paths, **lane))
    finally:
        resources.close()
    remote_paths = _paths(tmp_path / "remote")
    registry = build_registry(executor=wide_farm)
    found: list[JobDocument] = []

    def remote() -> None:
        found.extend(_together(len(photos), lambda i: _classify(registry, photos[i], remote_paths)))

    keys = _task_keys(cluster, remote)

    assert all(doc.state == JobState.COMPLETED for doc in local + found), [doc.error for doc in found]
    batches = [key for key in keys if key.startswith("stratopipe-batch-")]
    assert len(batches) == 1, keys
    assert not [key for key in keys if key.startswith("stratopipe-classify-")], "no job went alone"
    assert wide_farm.coalescer.batch_sizes == [len(photos)]
    for here, there in zip(local, found, strict=True):
        _same_classification(here.steps[0].output, there.steps[0].output)
        assert there.device == f"{here.device}@127.0.0.1"  # each job records where it ran
    assert found[0].steps[0].output["categories"], "a cat photo gets confident tags"


def test_a_corrupt_image_fails_only_its_own_job(wide_farm: FarmExecutor, tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4000))
    files = [*_photos()[:3], broken]
    registry = build_registry(executor=wide_farm)
    paths = _paths(tmp_path)

    docs = _together(len(files), lambda i: _classify(registry, files[i], paths))

    assert wide_farm.coalescer.batch_sizes == [len(files)], "they went together"
    assert [doc.state for doc in docs] == [JobState.COMPLETED] * 3 + [JobState.FAILED]
    assert all(doc.steps[0].output["model"] for doc in docs[:3])
    assert docs[0].steps[0].output["categories"], "the cat photo is sorted as before"
    assert docs[3].steps[0].attempts == 1, "invalid input: never retried"
    assert "broken.png" in (docs[3].error or "")


def test_one_cancelled_job_of_a_batch_stops_at_once_and_the_others_finish(
    wide_farm: FarmExecutor, tmp_path: Path
) -> None:
    registry = StepRegistry()
    registry.register("slow", wide_farm.wrap("slow", slow_step, Lane.INFERENCE, SLOW_SOURCE, coalesce=True))
    paths = AppPaths.resolve().ensure()
    tokens = [CancelToken() for _ in range(4)]
    ended: dict[int, float] = {}
    started_on_worker = threading.Event()

    def job(index: int) -> JobDocument:
        params = {"seconds": 3.0, "value": index, "done_dir": str(tmp_path)}
        ctx = StepContext(None, paths, Settings(), tokens[index], params=params)
        doc = JobDocument.new("classify", ["slow"], params={"value": index})

        def seen(_doc: JobDocument) -> None:
            if _doc.message.startswith("Started on "):
                started_on_worker.set()

        done = run_job(doc, registry, ctx, on_update=seen)
        ended[index] = time.monotonic()
        return done

    with ThreadPoolExecutor(4) as lane:
        futures = [lane.submit(job, index) for index in range(4)]
        assert started_on_worker.wait(60), "the batch never started"
        time.sleep(0.3)
        cancelled_at = time.monotonic()
        tokens[0].cancel()
        docs = [future.result(timeout=60) for future in futures]

    assert wide_farm.coalescer.batch_sizes == [4]
    assert docs[0].state == JobState.CANCELLED
    # As quickly as a job of its own (a worker's cancel poll is 0.5 s), not after its batch's 3 s.
    assert ended[0] - cancelled_at < 1.5
    assert [doc.state for doc in docs[1:]] == [JobState.COMPLETED] * 3
    assert [doc.steps[0].output["value"] for doc in docs[1:]] == [1, 2, 3]
    assert len({doc.steps[0].output["pid"] for doc in docs[1:]}) == 1, "one task on one worker"
    assert all(ended[i] > ended[0] + 1.0 for i in (1, 2, 3))
    # It stopped on the worker too (it would have left its mark after the others' 3 s).
    assert sorted(path.name for path in tmp_path.glob("*.done")) == ["1.done", "2.done", "3.done"]


def test_a_job_cancelled_before_its_batch_leaves_is_never_sent(cluster: LocalCluster) -> None:
    farm = _farm(cluster, window_s=5.0)
    registry = StepRegistry()
    registry.register("slow", farm.wrap("slow", slow_step, Lane.INFERENCE, SLOW_SOURCE, coalesce=True))
    ctx = StepContext(None, AppPaths.resolve().ensure(), Settings(), CancelToken(), params={"seconds": 0.1})
    threading.Timer(0.3, ctx.cancel.cancel).start()
    try:
        started = time.monotonic()
        doc = run_job(JobDocument.new("classify", ["slow"]), registry, ctx)
        took = time.monotonic() - started
    finally:
        farm.close()
    assert doc.state == JobState.CANCELLED
    assert took < 2.0
    assert farm.coalescer.batch_sizes == []


def test_jobs_one_at_a_time_go_alone_without_waiting_for_company(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    farm = _farm(cluster, window_s=0.005)  # the default
    photos = _photos()[:3]
    local = [_classify(build_registry(), photo, _paths(tmp_path / "local")) for photo in photos]
    registry = build_registry(executor=farm)
    try:
        found = [_classify(registry, photo, _paths(tmp_path / "remote")) for photo in photos]
    finally:
        farm.close()
    assert farm.coalescer.batch_sizes == [1, 1, 1]
    for here, there in zip(local, found, strict=True):
        assert there.state == JobState.COMPLETED, there.error
        _same_classification(here.steps[0].output, there.steps[0].output)


def test_a_cancelled_job_hears_from_its_worker_before_its_batch_ends(
    wide_farm: FarmExecutor, tmp_path: Path
) -> None:
    """Driven as a lane thread sees it, without the runner's own stop: the job ends when the worker
    says it stopped that job, not when the batch (3 s) is done."""

    step = wide_farm.wrap("slow", slow_step, Lane.INFERENCE, SLOW_SOURCE, coalesce=True)
    paths = AppPaths.resolve().ensure()
    params = [{"seconds": 3.0, "value": index, "done_dir": str(tmp_path)} for index in range(2)]
    contexts = [StepContext(None, paths, Settings(), CancelToken(), params=p) for p in params]
    with ThreadPoolExecutor(1) as other:
        companion = other.submit(lambda: list(step(contexts[1])))
        generator = step(contexts[0])
        for progress in generator:
            if progress.message.startswith("Started on "):
                break
        cancelled_at = time.monotonic()
        contexts[0].cancel.cancel()
        with pytest.raises(JobCancelledError):
            for _progress in generator:
                pass
        stopped_after = time.monotonic() - cancelled_at
        companion.result(timeout=60)
    assert wide_farm.coalescer.batch_sizes == [2]
    assert stopped_after < 1.5
    assert [path.name for path in tmp_path.glob("*.done")] == ["1.done"]


def test_a_lost_worker_fails_each_job_of_its_batch_and_each_is_retried(
    cluster: LocalCluster, wide_farm: FarmExecutor
) -> None:
    """Last in this module: it kills a worker (its nanny starts a new one)."""
    from distributed import Client

    registry = StepRegistry()
    registry.register("slow", wide_farm.wrap("slow", slow_step, Lane.INFERENCE, SLOW_SOURCE, coalesce=True))
    paths = AppPaths.resolve().ensure()

    def job(index: int) -> JobDocument:
        ctx = StepContext(None, paths, Settings(), CancelToken(), params={"seconds": 2.0, "value": index})
        return run_job(JobDocument.new("classify", ["slow"]), registry, ctx, backoff_s=(0.1,))

    with Client(cluster.scheduler_address, set_as_default=False) as observer, ThreadPoolExecutor(3) as lane:
        futures = [lane.submit(job, index) for index in range(3)]
        victim = ""
        deadline = time.monotonic() + 60
        while not victim and time.monotonic() < deadline:
            for address, keys in observer.processing().items():
                if any(str(key).startswith("stratopipe-batch-") for key in keys):
                    victim = address
            time.sleep(0.05)
        assert victim, "the batch never started on a worker"
        time.sleep(0.5)  # mid-step
        pid = observer.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        docs = [future.result(timeout=120) for future in futures]

    assert [doc.state for doc in docs] == [JobState.COMPLETED] * 3, [doc.error for doc in docs]
    assert [doc.steps[0].attempts for doc in docs] == [2, 2, 2], "each job's retry, in its own document"
    assert [doc.steps[0].output["value"] for doc in docs] == [0, 1, 2]
