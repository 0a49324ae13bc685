"""``stratopipe farm scheduler|worker``: thin wrappers over the stock ``dask scheduler``/``dask worker``.

A studio can run the stock commands itself (``dask worker ADDRESS --preload core.farm.preload``);
these add StratoPipe's defaults: the preload module, four threads per worker process with one render
slot (``--resources render=1``: one warm render child renders one job at a time, while classifications
batch across the threads), a scheduler that does not retry a task whose worker died (retries are the
job runner's, counted in the job document), and workers that keep glibc's malloc trim threshold (see
``WORKER_ENV``). For any other Dask option, run the stock command with ``--preload core.farm.preload``
(and those two environment variables).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from core.child_process import python_command
from core.farm.executor import RENDER_RESOURCE

if TYPE_CHECKING:
    import argparse

    from core.farm.executor import FarmStatus

PRELOAD_MODULE = "core.farm.preload"
# As the app's inference lane: jobs side by side, so that the worker's batcher batches them.
WORKER_THREADS = 4
DEFAULT_SCHEDULER_PORT = 8786
# Dask re-runs a task whose worker died up to 3 times by default, unseen by the job document; at 0 the
# loss reaches our runner (a RecoverableError), which retries it and records the attempt.
SCHEDULER_ENV = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
# Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 (memory back to the OS sooner); torch's
# allocations then fault pages in all the time: classification ran ~2x slower on a worker than in the
# app (bench/bench_farm.py). The nanny lets the environment override it; this is glibc's default.
WORKER_ENV = {"MALLOC_TRIM_THRESHOLD_": str(128 * 2**20)}


def add_parsers(commands: Any) -> None:
    farm = commands.add_parser("farm", help="run a Dask scheduler or worker for renders and AI jobs")
    roles = farm.add_subparsers(dest="farm_role", metavar="ROLE", required=True)
    scheduler = roles.add_parser("scheduler", help="start a Dask scheduler (dask scheduler)")
    scheduler.add_argument("--port", type=int, default=DEFAULT_SCHEDULER_PORT)
    scheduler.add_argument("--host", default=None, help="address to listen on (default: all)")
    scheduler.add_argument(
        "--dashboard-address", default=None, help="Dask's dashboard (default :8787; 'none' for none)"
    )
    worker = roles.add_parser("worker", help="start a Dask worker with StratoPipe's preload")
    worker.add_argument("address", help="the scheduler, e.g. tcp://farm:8786 or dask://farm:8786")
    worker.add_argument("--resources", default=None, help='e.g. "GPU=1" on a machine with a GPU')
    worker.add_argument(
        "--nthreads", type=int, default=WORKER_THREADS, help="jobs at once per worker process (renders: 1)"
    )
    worker.add_argument("--nworkers", type=int, default=1, help="worker processes on this machine")
    worker.add_argument("--name", default=None)
    worker.add_argument("--host", default=None, help="address to listen on")
    worker.add_argument("--memory-limit", default=None, help="per worker process, e.g. 8GB")
    worker.add_argument("--local-directory", default=None, help="the worker's scratch folder")
    worker.add_argument("--no-dashboard", action="store_true", help="no dashboard per worker")


def farm_command(args: argparse.Namespace) -> list[str]:
    """The stock Dask command line these options stand for."""
    if args.farm_role == "scheduler":
        argv = python_command("distributed.cli.dask_scheduler", "--port", str(args.port))
        if args.host:
            argv += ["--host", args.host]
        if args.dashboard_address == "none":
            argv += ["--no-dashboard"]
        elif args.dashboard_address:
            argv += ["--dashboard-address", args.dashboard_address]
        return argv
    address = str(args.address).replace("dask://", "tcp://", 1)
    argv = python_command("distributed.cli.dask_worker", address, "--nthreads", str(args.nthreads))
    argv += ["--nworkers", str(args.nworkers), "--preload", PRELOAD_MODULE]
    resources = [f"{RENDER_RESOURCE}=1", *(args.resources.split(",") if args.resources else [])]
    argv += ["--resources", ",".join(resources)]
    for option in ("name", "host", "memory_limit", "local_directory"):
        value = getattr(args, option)
        if value:
            argv += [f"--{option.replace('_', '-')}", str(value)]
    if args.no_dashboard:
        argv += ["--no-dashboard"]
    return argv


def run_farm_command(args: argparse.Namespace) -> int:
    argv = farm_command(args)
    env = {**os.environ, **(SCHEDULER_ENV if args.farm_role == "scheduler" else WORKER_ENV)}
    print(f"stratopipe farm: {' '.join(argv[1:])}", file=sys.stderr)
    if os.name == "posix":
        os.execve(argv[0], argv, env)  # the Dask process takes this one's place (and its pid)
    return subprocess.call(argv, env=env)  # pragma: no cover - Windows


def farm_note(status: FarmStatus) -> None:
    """The CLI's word on the farm: only when it could not be reached (stdout stays the result)."""
    if not status.connected:
        print(f"stratopipe: {status.message}", file=sys.stderr)
