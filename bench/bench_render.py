"""Geometry render benchmark: warm RenderService batch vs a cold render vs f3d vs Blender Cycles.

    .venv/bin/python bench/bench_render.py [--size 512] [--rounds 3] [--blender-files 3]
                                           [--no-f3d] [--f3d-display persistent|xvfb-run]
                                           [--json out.json]

Generates ten meshes of varied formats (several over 100k faces), then, ``--rounds`` times (the
machine is shared and noisy; medians over rounds are reported):
- warm: one RenderService, a batch of thumbnails (start-up excluded, reported separately);
- cold: a new RenderService for a single render (what `stratopipe render one.glb` pays);
- f3d: ``f3d --output x.png --resolution S,S file`` per file, as an artist's script runs it, with
  one Xvfb server kept up for the whole run (Debian's f3d needs a display; an artist has one), or
  ``xvfb-run -a`` per file with ``--f3d-display xvfb-run`` or when Xvfb itself is not on PATH;
- blender (once): Cycles, 16 samples, per file through the Blender backend, when installed.
The f3d ratio compares the same files (ones f3d fails on are left out of both sides).
Targets: warm >= 3x faster per file than f3d; cold single render < 2 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh
from PIL import Image

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.render import RenderRequest, RenderService  # noqa: E402


def generate_meshes(folder: Path) -> list[Path]:
    """Ten files, 1k to 330k faces, across the formats users drop on the app."""
    rng = np.random.default_rng(7)
    sphere_hi = trimesh.creation.icosphere(subdivisions=7)  # 327,680 faces
    sphere_mid = trimesh.creation.icosphere(subdivisions=6)  # 81,920 faces
    torus = trimesh.creation.torus(major_radius=1.0, minor_radius=0.3, major_sections=400,
                                   minor_sections=200)  # fmt: skip  # 160,000 faces
    noisy = sphere_mid.copy()
    noisy.vertices += rng.normal(scale=0.01, size=noisy.vertices.shape)
    colored = sphere_hi.copy()
    colored.visual.vertex_colors = (rng.random((len(colored.vertices), 4)) * 255).astype(np.uint8)
    textured = trimesh.creation.box()
    textured.visual = trimesh.visual.TextureVisuals(
        uv=rng.random((len(textured.vertices), 2)),
        image=Image.fromarray((rng.random((512, 512, 3)) * 255).astype(np.uint8)),
    )
    scene = trimesh.Scene()
    for index in range(20):
        box = trimesh.creation.box(extents=rng.random(3) + 0.2)
        offset = trimesh.transformations.translation_matrix(rng.normal(scale=3.0, size=3))
        scene.add_geometry(box, node_name=f"part{index}", transform=offset)
    files = {
        "sphere_327k.glb": sphere_hi,
        "sphere_327k.stl": sphere_hi,
        "torus_160k.ply": torus,
        "colored_327k.ply": colored,
        "noisy_82k.obj": noisy,
        "torus_160k.off": torus,
        "capsule.3mf": trimesh.creation.capsule(height=2.0, radius=0.5, count=(64, 64)),
        "cylinder.stl": trimesh.creation.cylinder(radius=0.5, height=2.0, sections=256),
        "parts20.glb": scene,
    }
    paths = []
    for name, mesh in files.items():
        path = folder / name
        mesh.export(path)
        paths.append(path)
    textured_dir = folder / "textured"
    textured_dir.mkdir()
    textured.export(textured_dir / "textured.obj")
    paths.append(textured_dir / "textured.obj")
    return paths


def time_warm_batch(paths: list[Path], out: Path, size: int) -> dict[str, Any]:
    with RenderService(timeout_s=120, memory_mb=4096) as service:
        started = time.perf_counter()
        ready = service.start()
        startup = time.perf_counter() - started
        per_file: dict[str, float] = {}
        drawn: dict[str, int] = {}
        for path in paths:
            begin = time.perf_counter()
            result = service.render(RenderRequest(path, out / f"warm_{path.name}.png", size, "thumbnail"))
            per_file[path.name] = time.perf_counter() - begin
            drawn[path.name] = getattr(result, "faces_drawn", 0)
    return {
        "startup_s": startup,
        "per_file_s": per_file,
        "mean_s": statistics.mean(per_file.values()),
        "faces_drawn": drawn,
        "gl_platform": ready.get("gl_platform"),
        "gl_renderer": ready.get("gl_renderer"),
    }


def time_cold_single(path: Path, out: Path, size: int, index: int) -> float:
    begin = time.perf_counter()
    with RenderService(timeout_s=120, memory_mb=4096) as service:
        service.render(RenderRequest(path, out / f"cold_{index}.png", size, "thumbnail"))
        return time.perf_counter() - begin


@contextlib.contextmanager
def display_for_f3d(mode: str) -> Iterator[tuple[list[str], dict[str, str]]]:
    """(command prefix, environment) to run f3d with a display, kept up for the whole run."""
    env = dict(os.environ)
    xvfb = shutil.which("Xvfb")
    if xvfb is None or mode == "xvfb-run":
        yield (["xvfb-run", "-a"] if shutil.which("xvfb-run") else []), env
        return
    number = 90 + os.getpid() % 500
    server = subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket = Path(f"/tmp/.X11-unix/X{number}")
        deadline = time.monotonic() + 10
        while not socket.exists() and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.05)
        env["DISPLAY"] = f":{number}"
        yield [], env
    finally:
        server.terminate()
        server.wait(timeout=10)


def time_f3d(paths: list[Path], out: Path, size: int, display: str) -> dict[str, Any] | None:
    f3d = shutil.which("f3d")
    if f3d is None:
        return None
    per_file: dict[str, float] = {}
    failures: list[str] = []
    with display_for_f3d(display) as (prefix, env):
        for path in paths:
            target = out / f"f3d_{path.name}.png"
            target.unlink(missing_ok=True)
            command = [*prefix, f3d, "--output", str(target), "--resolution", f"{size},{size}", str(path)]
            begin = time.perf_counter()
            completed = subprocess.run(command, capture_output=True, timeout=300, check=False, env=env)
            elapsed = time.perf_counter() - begin
            if completed.returncode == 0 and target.is_file():
                per_file[path.name] = elapsed
            else:
                failures.append(f"{path.name}: exit {completed.returncode}")
    return {
        "per_file_s": per_file,
        "mean_s": statistics.mean(per_file.values()) if per_file else None,
        "failures": failures,
    }


def time_blender(paths: list[Path], out: Path, size: int) -> dict[str, Any] | None:
    if shutil.which("blender") is None or not paths:
        return None
    per_file: list[float] = []
    device = None
    with RenderService(timeout_s=600, memory_mb=8192, backend="blender") as service:
        for path in paths:
            request = RenderRequest(
                path, out / f"blender_{path.name}.png", size, "thumbnail", backend="blender",
                blender_engine="cycles", samples=16,
            )  # fmt: skip
            begin = time.perf_counter()
            result = service.render(request)
            per_file.append(time.perf_counter() - begin)
            device = result.gl_platform
    return {"per_file_s": per_file, "mean_s": statistics.mean(per_file), "device": device}


def run_round(paths: list[Path], out: Path, args: argparse.Namespace, index: int) -> dict[str, Any]:
    warm = time_warm_batch(paths, out, args.size)
    cold = time_cold_single(paths[0], out, args.size, index)
    f3d = None if args.no_f3d else time_f3d(paths, out, args.size, args.f3d_display)
    result: dict[str, Any] = {"warm": warm, "cold_s": cold, "f3d": f3d}
    if f3d and f3d["per_file_s"]:
        common = list(f3d["per_file_s"])
        warm_common = statistics.mean(warm["per_file_s"][name] for name in common)
        result["warm_common_mean_s"] = warm_common
        result["f3d_over_warm"] = f3d["mean_s"] / warm_common
    return result


def _median(rounds: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(values) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blender-files", type=int, default=3)
    parser.add_argument("--no-f3d", action="store_true")
    parser.add_argument(
        "--f3d-display",
        choices=("persistent", "xvfb-run"),
        default="persistent",
        help="one Xvfb for all f3d runs (default, fair), or xvfb-run per file (adds its start-up)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_render_") as tmp:
        folder = Path(tmp)
        out = folder / "out"
        out.mkdir()
        paths = generate_meshes(folder)
        faces = {p.name: len(trimesh.load(p, force="mesh", process=False).faces) for p in paths}
        rounds = [run_round(paths, out, args, index) for index in range(args.rounds)]
        blender = time_blender(paths[: args.blender_files], out, args.size)
    for entry in rounds:
        entry["warm_mean_s"] = entry["warm"]["mean_s"]
        entry["warm_startup_s"] = entry["warm"]["startup_s"]
        entry["f3d_mean_s"] = entry["f3d"]["mean_s"] if entry["f3d"] else None
    warm_mean = _median(rounds, "warm_mean_s")
    report: dict[str, Any] = {
        "size": args.size,
        "files": faces,
        "rounds": rounds,
        "median": {
            key: _median(rounds, key)
            for key in (
                "warm_mean_s",
                "warm_startup_s",
                "cold_s",
                "f3d_mean_s",
                "warm_common_mean_s",
                "f3d_over_warm",
            )
        },
        "blender_cycles16": blender,
    }
    median = report["median"]
    warm = rounds[0]["warm"]
    print(f"{len(paths)} files at {args.size} px on {warm['gl_platform']} ({warm['gl_renderer']}), "
          f"medians of {len(rounds)} rounds")  # fmt: skip
    print(f"warm batch:  {median['warm_mean_s'] * 1000:7.0f} ms/file "
          f"(child start-up {median['warm_startup_s']:.2f} s)")  # fmt: skip
    print(f"cold single: {median['cold_s']:7.2f} s   (target < 2 s; rounds: "
          + ", ".join(f"{r['cold_s']:.2f}" for r in rounds) + ")")  # fmt: skip
    if median["f3d_over_warm"] is not None:
        ratios = ", ".join(f"{r['f3d_over_warm']:.1f}" for r in rounds if "f3d_over_warm" in r)
        print(
            f"f3d:         {median['f3d_mean_s'] * 1000:7.0f} ms/file -> warm is "
            f"{median['f3d_over_warm']:.1f}x faster on the same files (target >= 3x; rounds: {ratios})"
        )
        failures = rounds[0]["f3d"]["failures"]
        if failures:
            print(f"             f3d failed on: {', '.join(failures)} (left out of the ratio)")
    if blender and warm_mean:
        ratio = blender["mean_s"] / warm_mean
        report["blender_over_warm"] = ratio
        print(
            f"blender:     {blender['mean_s'] * 1000:7.0f} ms/file ({blender['device']})"
            f" -> warm is {ratio:.1f}x faster"
        )
    print(json.dumps(report, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
