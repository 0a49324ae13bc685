"""Jobs through the local lanes vs a two-worker Dask cluster on this machine (core/farm).

    .venv/bin/python bench/bench_farm.py [--renders 60] [--classifications 500] [--trivial 200]
                                         [--json bench/out/bench_farm.json]

Both sides run the same job documents through the same runner (core/jobs/runner.py) on lane thread
pools, warm: the local side as the app's lanes are (one render lane with its warm render child, four
inference jobs in flight over one batched engine); the farm side as the app runs with ``execution:
dask`` (16 jobs in flight per lane, each waiting on a ``LocalCluster(n_workers=2, processes=True)``
whose workers are what ``stratopipe farm worker`` starts: the preload, 4 threads, one render slot,
its environment; every file is sent as bytes since no path mapping is set). Start-up (cluster, render
children, model loading) is excluded on both sides by warm-up jobs. Dask starts workers with
OMP_NUM_THREADS=1: ``--local-torch-threads 1`` gives the local side the same torch threading.
``--local-keep-freed-memory`` gives the local side the malloc thresholds every farm worker sets
(core/farm/worker_state.py), which the app does not. Reported: wall time of 60 thumbnail renders
(256 px, 20k-face models) and of 500 classifications, farm / local ratios (target: overhead under
15 %), how many Dask tasks the classifications took (small steps of jobs submitted together share
one task: core/farm/coalesce.py), and the farm path's own cost per job, from a trivial step run one
at a time (latency), 16 at a time (throughput), and 16 at a time coalesced as classifications are.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.cli_farm import WORKER_ENV, WORKER_THREADS  # noqa: E402
from core.farm.executor import COALESCED_STEPS, RENDER_RESOURCE, FarmExecutor  # noqa: E402
from core.farm.worker_state import keep_freed_memory  # noqa: E402
from core.jobs.model import JobDocument, JobState, Lane  # noqa: E402
from core.jobs.runner import run_job  # noqa: E402
from core.jobs.steps import (  # noqa: E402
    AssetRef,
    CancelToken,
    Progress,
    StepContext,
    StepOutput,
    StepRegistry,
)
from core.lane_resources import LaneResources  # noqa: E402
from core.paths import AppPaths  # noqa: E402
from core.pipeline import build_registry  # noqa: E402
from core.settings import Settings  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

FARM_JOBS_IN_FLIGHT = 16  # as app/gui.py's lanes with a farm
LOCAL_INFERENCE_IN_FLIGHT = 4  # as workers/lanes.py
TRIVIAL_SOURCE = ("bench_farm", "trivial_step")


def trivial_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    yield Progress(0.5, "half way")
    return {"value": ctx.params.get("value")}


def make_models(folder: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(3)
    base = trimesh.creation.icosphere(subdivisions=5)  # 20,480 faces
    models = []
    for index in range(count):
        mesh = base.copy()
        mesh.vertices *= rng.uniform(0.6, 1.4, size=3)
        mesh.vertices += rng.normal(scale=0.01, size=mesh.vertices.shape)
        path = folder / f"model{index:03d}.obj"
        mesh.export(path, include_texture=False)
        models.append(path)
    return models


def photos(count: int) -> list[Path]:
    from core.ai.models import package_dir

    skimage = package_dir("skimage")
    assert skimage is not None, "scikit-image is not installed (installers/bootstrap.sh)"
    names = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
             "hubble_deep_field.jpg", "retina.jpg", "color.png", "logo.png"]  # fmt: skip
    found = [skimage / "data" / name for name in names if (skimage / "data" / name).is_file()]
    return [found[index % len(found)] for index in range(count)]


class Batch:
    """Job documents of one kind, run through a runner on a lane pool, timed."""

    def __init__(self, kind: str, steps: list[str], assets: list[AssetRef], params: dict[str, Any]) -> None:
        self.kind, self.steps, self.assets, self.params = kind, steps, assets, params

    def run(
        self, registry: StepRegistry, paths: AppPaths, threads: int, lane_params: dict[str, Any]
    ) -> float:
        def one(asset: AssetRef) -> JobDocument:
            ctx = StepContext(asset, paths, Settings(), CancelToken(), params={**self.params, **lane_params})
            return run_job(JobDocument.new(self.kind, list(self.steps)), registry, ctx, backoff_s=(0.1,))

        started = time.perf_counter()
        with ThreadPoolExecutor(threads, thread_name_prefix=self.kind) as lane:
            docs = list(lane.map(one, self.assets))
        seconds = time.perf_counter() - started
        failed = [doc.error for doc in docs if doc.state != JobState.COMPLETED]
        if failed:
            raise RuntimeError(f"{len(failed)} {self.kind} jobs failed, e.g. {failed[0]}")
        return seconds


def assets_for(paths: list[Path], kind: str, tag: str) -> list[AssetRef]:
    return [AssetRef(index + 1, path, kind, f"{tag}{index:05d}") for index, path in enumerate(paths)]


def per_job(
    registry: StepRegistry, paths: AppPaths, count: int, threads: int, step: str = "trivial"
) -> float:
    def one(value: int) -> JobDocument:
        ctx = StepContext(None, paths, Settings(), CancelToken(), params={"value": value})
        return run_job(JobDocument.new("render", [step]), registry, ctx)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as lane:
        docs = list(lane.map(one, range(count)))
    assert all(doc.state == JobState.COMPLETED for doc in docs)
    return (time.perf_counter() - started) / count


def _batches_of(sizes: list[int], jobs: int) -> int:
    """How many of the last ``sizes`` add up to ``jobs``."""
    total = 0
    for count, size in enumerate(reversed(sizes), start=1):
        total += size
        if total >= jobs:
            return count
    return len(sizes)


def run_side(
    name: str,
    registry: StepRegistry,
    paths: AppPaths,
    renders: Batch,
    classifications: Batch,
    threads: tuple[int, int],
    lane_params: Callable[[Lane], dict[str, Any]],
) -> dict[str, float]:
    warm_r = Batch(renders.kind, renders.steps, renders.assets[:4], renders.params)
    warm_c = Batch(classifications.kind, classifications.steps, classifications.assets[:8], {})
    warm_r.run(registry, paths, threads[0], lane_params(Lane.RENDER))
    warm_c.run(registry, paths, threads[1], lane_params(Lane.INFERENCE))
    result = {
        "renders_s": renders.run(registry, paths, threads[0], lane_params(Lane.RENDER)),
        "classifications_s": classifications.run(registry, paths, threads[1], lane_params(Lane.INFERENCE)),
    }
    print(f"{name}: {result}", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--renders", type=int, default=60)
    parser.add_argument("--classifications", type=int, default=500)
    parser.add_argument("--trivial", type=int, default=200)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "bench_farm.json")
    parser.add_argument(
        "--local-torch-threads",
        type=int,
        default=0,
        help="torch threads of the local side (0: torch's default; Dask workers run with 1)",
    )
    parser.add_argument(
        "--local-keep-freed-memory",
        action="store_true",
        help="give the local side the malloc thresholds farm workers run with (like for like)",
    )
    parser.add_argument(
        "--no-coalesce", action="store_true", help="one Dask task per classification (as before)"
    )
    args = parser.parse_args()
    if args.local_keep_freed_memory and not keep_freed_memory():
        parser.error("--local-keep-freed-memory needs glibc")
    if args.local_torch_threads:
        import torch

        torch.set_num_threads(args.local_torch_threads)
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

    import dask
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory(prefix="bench-farm-") as scratch:
        root = Path(scratch)
        (root / "models").mkdir()
        models = make_models(root / "models", args.renders)
        renders = Batch("render", ["render_thumbnail"], assets_for(models, "geometry", "m"), {"size": 256})
        images = assets_for(photos(args.classifications), "image", "p")
        classifications = Batch("classify", ["classify"], images, {})
        local_paths = AppPaths.resolve(root / "local").ensure()
        farm_paths = AppPaths.resolve(root / "farm").ensure()

        resources = LaneResources(local_paths, Settings())
        try:
            local = run_side("local lanes", build_registry(), local_paths, renders, classifications,
                             (1, LOCAL_INFERENCE_IN_FLIGHT), resources.params)  # fmt: skip
        finally:
            resources.close()

        local_trivial = StepRegistry()
        local_trivial.register("trivial", trivial_step)
        local_per_job = per_job(local_trivial, local_paths, args.trivial, 1)

        # Workers as `stratopipe farm worker` starts them (app/cli_farm.py: WORKER_ENV).
        env = {
            "STRATOPIPE_DATA_DIR": str(root / "worker"),
            "PYOPENGL_PLATFORM": os.environ["PYOPENGL_PLATFORM"],
            **WORKER_ENV,
        }
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": 0}),
            LocalCluster(
                n_workers=2,
                threads_per_worker=WORKER_THREADS,
                resources={RENDER_RESOURCE: 1},
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",  # a free port: 8787 may be taken (and that warns)
                preload=["core.farm.preload"],
                env=env,
            ) as cluster,  # fmt: skip
        ):
            coalesced = frozenset() if args.no_coalesce else COALESCED_STEPS
            farm = FarmExecutor(cluster.scheduler_address, coalesced_steps=coalesced)
            try:
                remote = run_side("dask, 2 workers", build_registry(executor=farm), farm_paths, renders,
                                  classifications, (FARM_JOBS_IN_FLIGHT, FARM_JOBS_IN_FLIGHT),
                                  lambda _lane: {})  # fmt: skip
                # The last batches are the timed classifications' (the warm-up's 8 jobs came before).
                batches = farm.coalescer.batch_sizes
                classify_batches = batches[len(batches) - _batches_of(batches, args.classifications) :]
                farm_trivial = StepRegistry()
                farm_trivial.register(
                    "trivial", farm.wrap("trivial", trivial_step, Lane.RENDER, TRIVIAL_SOURCE)
                )
                farm_trivial.register(
                    "coalesced",
                    farm.wrap("coalesced", trivial_step, Lane.RENDER, TRIVIAL_SOURCE, coalesce=True),
                )
                per_job(farm_trivial, farm_paths, 20, 4)  # warm: the workers import this module once
                farm_latency = per_job(farm_trivial, farm_paths, args.trivial, 1)
                farm_throughput = per_job(farm_trivial, farm_paths, args.trivial, FARM_JOBS_IN_FLIGHT)
                farm_coalesced = per_job(
                    farm_trivial, farm_paths, args.trivial, FARM_JOBS_IN_FLIGHT, step="coalesced"
                )
            finally:
                farm.close()

    report = {
        "renders": args.renders,
        "classifications": args.classifications,
        "local": local,
        "dask": remote,
        "render_ratio": remote["renders_s"] / local["renders_s"],
        "classify_ratio": remote["classifications_s"] / local["classifications_s"],
        "trivial_local_ms": local_per_job * 1000,
        "trivial_dask_one_at_a_time_ms": farm_latency * 1000,
        "trivial_dask_16_in_flight_ms": farm_throughput * 1000,
        "trivial_dask_16_in_flight_coalesced_ms": farm_coalesced * 1000,
        "classify_tasks": len(classify_batches),
        "classify_mean_batch": statistics.mean(classify_batches) if classify_batches else 0.0,
        "local_torch_threads": args.local_torch_threads or "default",
        "local_keep_freed_memory": args.local_keep_freed_memory,
        "coalesce": not args.no_coalesce,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    rows = [
        (f"{args.renders} renders (256 px, 20k faces)", local["renders_s"], remote["renders_s"]),
        (f"{args.classifications} classifications", local["classifications_s"], remote["classifications_s"]),
    ]
    print(f"{'what':40} {'local lanes':>12} {'dask 2 workers':>15} {'ratio':>7}")
    for what, here, there in rows:
        print(f"{what:40} {here:11.2f}s {there:14.2f}s {there / here:7.2f}")
    print(
        f"per job, trivial step: local {report['trivial_local_ms']:.2f} ms; dask one at a time "
        f"{report['trivial_dask_one_at_a_time_ms']:.1f} ms; dask {FARM_JOBS_IN_FLIGHT} in flight "
        f"{report['trivial_dask_16_in_flight_ms']:.1f} ms/job, coalesced "
        f"{report['trivial_dask_16_in_flight_coalesced_ms']:.1f} ms/job"
    )
    print(
        f"{args.classifications} classifications went as {report['classify_tasks']} Dask tasks "
        f"(mean batch {report['classify_mean_batch']:.1f} jobs)"
    )
    load = statistics.mean(report["load_average"])
    print(f"load average at the end of the run: {load:.1f} on {os.cpu_count()} cores")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
