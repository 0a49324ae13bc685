"""``stratopipe render|classify|enhance|analyze``: run media jobs on catalog assets or loose files, and wait.

An ASSET_ID runs as a persisted job (its products recorded in the catalog, visible in the Jobs panel);
a PATH runs the same steps on the file without registering it. Both print the same per-input results.
Each input succeeds or fails on its own (a missing, empty or broken file is one failed result); the exit
code is 3 only when every input failed.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli_output import batch_exit_code
from app.runtime import HeadlessLanes, headless_scheduler
from core.jobs.model import JobDocument, JobState, Lane
from core.jobs.runner import run_job
from core.jobs.steps import AssetRef, CancelToken, StepContext
from core.lane_resources import LaneResources
from core.media.errors import MediaError
from core.media.kinds import AssetKind

if TYPE_CHECKING:
    import argparse

    from app.runtime import Runtime
    from core.jobs.scheduler import JobScheduler

log = logging.getLogger(__name__)


class InputError(Exception):
    """An argument is neither a catalog asset id nor an existing file."""


def add_parsers(commands: Any) -> None:
    render = commands.add_parser("render", help="render 3D models (thumbnail, preview, turntable)")
    render.add_argument("inputs", nargs="+", help="asset ids or model files")
    render.add_argument("--backend", choices=["pyrender", "blender"], default=None)
    render.add_argument("--size", type=int, default=512, help="image size in pixels (longest side)")
    render.add_argument("--preview", action="store_true", help="also render a 2048 px preview")
    render.add_argument("--turntable", action="store_true", help="also render a turntable MP4")
    render.add_argument("--frames", type=int, default=36, help="turntable frames")
    render.add_argument("--json", action="store_true")
    classify = commands.add_parser("classify", help="categorise images (AI model or classical fallback)")
    classify.add_argument("inputs", nargs="+", help="asset ids or image files")
    classify.add_argument("--json", action="store_true")
    enhance = commands.add_parser("enhance", help="make enhanced previews (the original is never changed)")
    enhance.add_argument("inputs", nargs="+", help="asset ids or image files")
    enhance.add_argument(
        "--scale", type=int, choices=(2, 4), default=2, help="upscale factor (x4 is far slower on a CPU)"
    )
    enhance.add_argument("--json", action="store_true")
    for command in (render, classify, enhance):
        command.add_argument(
            "--executor",
            default=None,
            metavar="local|dask://HOST:PORT",
            help="run on this Dask scheduler (or locally), whatever the settings say",
        )
    analyze = commands.add_parser("analyze", help="per-frame shot analysis of videos and image sequences")
    analyze.add_argument("inputs", nargs="+", help="asset ids or video files")
    analyze.add_argument(
        "--csv", type=Path, default=None, help="export per-frame metrics (a folder when several inputs)"
    )
    analyze.add_argument("--json", action="store_true")


def _steps_for(command: str, args: argparse.Namespace) -> list[tuple[str, list[str], dict[str, Any]]]:
    """(job kind, steps, params) jobs to run per input."""
    if command == "render":
        params: dict[str, Any] = {"size": args.size, "no_follow_up": True}
        if args.backend:
            params["backend"] = args.backend
        jobs = [("render", ["render_thumbnail"], params)]
        if args.preview:
            jobs.append(("render", ["render_preview"], {**params, "size": 2048}))
        if args.turntable:
            jobs.append(("turntable", ["render_turntable"], {**params, "frames": args.frames}))
        return jobs
    if command == "classify":
        return [("classify", ["classify", "focus_crop"], {"no_follow_up": True})]
    if command == "analyze":
        return [("analysis", ["analysis"], {"no_follow_up": True})]
    return [("enhance", ["enhance"], {"scale": args.scale, "no_follow_up": True})]


def _resolve(runtime: Runtime, raw: str) -> tuple[AssetRef, bool]:
    """An AssetRef for an id (True: in the catalog) or a loose file (False)."""
    from core.ingest import sequence_frames
    from core.media.hashing import content_hash
    from core.media.kinds import detect_kind

    if raw.isdigit():
        record = runtime.catalog.get_asset(int(raw))
        if record is None:
            raise InputError(f"no asset with id {raw}")
        frames = sequence_frames(record.metadata) if record.is_sequence else ()
        return (
            AssetRef(record.id, Path(record.path), record.kind, record.content_hash, record.metadata, frames),
            True,
        )
    path = Path(raw).expanduser()
    if not path.is_file():
        raise InputError(f"{raw} is not a file or an asset id")
    return AssetRef(0, path, str(detect_kind(path)), content_hash(path)), False


def run_media_command(runtime: Runtime, command: str, args: argparse.Namespace) -> int:
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    resources = LaneResources(runtime.paths, runtime.settings)
    # On a reachable farm the render and AI steps run there: no local render child or model for them.
    on_farm = runtime.farm is not None and command != "analyze" and runtime.farm.connect()
    lanes = HeadlessLanes(1)
    scheduler = headless_scheduler(runtime, lanes, resources=None if on_farm else resources)
    cancel.on_cancel(scheduler.cancel_all)
    lane = {"render": Lane.RENDER, "analyze": Lane.MEDIA}.get(command, Lane.INFERENCE)
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        for raw in args.inputs:
            try:
                lane_params = {} if on_farm else resources.params(lane)
                item = _run_input(runtime, scheduler, command, args, raw, lane_params, cancel)
            except Exception as exc:
                # One input's surprise must not cost the others their results: it is that input's error.
                log.exception("stratopipe %s: %s failed", command, raw)
                item = {"input": raw, "outputs": [], "error": f"unexpected error: {exc}", "device": None}
                item["seconds"] = 0.0
            results.append(item)
            if cancel.cancelled:
                break
    finally:
        scheduler.shutdown()
        lanes.shutdown()
        resources.close()
        signal.signal(signal.SIGINT, previous)
    seconds = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps({"results": results, "seconds": seconds}, indent=2), file=args.out)
    else:
        for item in results:
            if item["error"]:
                print(f"FAILED {item['input']}: {item['error']}", file=args.out)
                continue
            for out in item["outputs"]:
                detail = _describe_output(out)
                where = f"{item['device'] or '-'}, {item['seconds']:.2f} s"
                print(f"{item['input']}: {out['step']} -> {detail} [{where}]", file=args.out)
    failed = sum(1 for item in results if item["error"])
    return batch_exit_code(len(results) - failed, failed)


def _run_input(
    runtime: Runtime,
    scheduler: JobScheduler,
    command: str,
    args: argparse.Namespace,
    raw: str,
    lane_params: dict[str, Any],
    cancel: CancelToken,
) -> dict[str, Any]:
    item: dict[str, Any] = {"input": raw, "outputs": [], "error": None, "device": None, "seconds": 0.0}
    started = time.perf_counter()
    try:
        asset, in_catalog = _resolve(runtime, raw)
    except (InputError, MediaError, OSError, ValueError) as exc:
        item["error"] = str(exc)
        return item
    item["asset_id"] = asset.id if in_catalog else None
    item["kind"] = asset.kind
    if command == "render" and asset.kind != AssetKind.GEOMETRY:
        item["error"] = f"{asset.path.name} is {asset.kind}, not a 3D model"
        return item
    if command == "analyze" and asset.kind not in (AssetKind.VIDEO, AssetKind.SEQUENCE):
        item["error"] = f"{asset.path.name} is {asset.kind}, not a video or an image sequence"
        return item
    for kind, steps, params in _steps_for(command, args):
        doc = JobDocument.new(kind, steps, asset_id=asset.id if in_catalog else None, params=params)
        if in_catalog:
            # A catalog asset runs as any job does: persisted, its products recorded, in the Jobs panel.
            scheduler.submit([doc])
            while not scheduler.wait_idle(timeout=0.25):
                pass
            assert doc.id is not None
            doc = runtime.catalog.jobs.get(doc.id) or doc
        else:
            context = StepContext(
                asset=asset,
                paths=runtime.paths,
                settings=runtime.settings,
                cancel=cancel,
                params={**params, **lane_params},
            )
            run_job(doc, runtime.registry, context)
        item["device"] = doc.device or item["device"]
        if doc.state != JobState.COMPLETED:
            item["error"] = doc.error or str(doc.state)
            break
        for step in doc.steps:
            item["outputs"].append({"step": step.name, **step.output})
    if command == "analyze" and args.csv is not None and not item["error"]:
        item["outputs"][-1]["csv"] = str(_export_csv(item["outputs"][-1], args.csv, raw, len(args.inputs)))
    item["seconds"] = round(time.perf_counter() - started, 3)
    return item


def _export_csv(output: dict[str, Any], target: Path, raw: str, inputs: int) -> Path:
    """Write an analysis's per-frame CSV: to ``target``, or into it (a folder) when several inputs."""
    from core.video.analysis import read_json, write_csv

    path = target if inputs == 1 else target / f"{Path(raw).name}.analysis.csv"
    write_csv(path, read_json(Path(output["path"])))
    return path


def _describe_output(out: dict[str, Any]) -> str:
    if "categories" in out:
        found = ", ".join(f"{c['name']} {c['confidence']:.2f}" for c in out["categories"])
        return f"{found} ({out.get('path')})"
    if "box" in out:
        return f"focus box {out['box']} ({out.get('method')})"
    if "complexity" in out:
        shots = ", ".join(f"{s['start']}-{s['end'] - 1}: {s['complexity']}" for s in out["shots"])
        return f"complexity {out['complexity']} (shots {shots}) ({out['path']})"
    return str(out.get("path"))
