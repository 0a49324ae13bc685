"""Geometry render benchmark: warm RenderService batch vs a cold render vs f3d vs Blender Cycles.

    .venv/bin/python bench/bench_render.py [--size 512] [--blender-files 3] [--json out.json]

Generates ten meshes of varied formats (several over 100k faces), then times:
- warm: one RenderService, a batch of thumbnails (start-up excluded, reported separately);
- cold: a new RenderService for a single render (what `stratopipe render one.glb` pays);
- f3d: ``xvfb-run -a f3d --output x.png --resolution S,S file`` per file, when installed;
- blender: Cycles, 16 samples, per file through the Blender backend, when installed.
Targets: warm >= 3x faster per file than f3d; cold single render < 2 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from PIL import Image

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
        per_file = []
        for path in paths:
            begin = time.perf_counter()
            service.render(RenderRequest(path, out / f"warm_{path.name}.png", size, "thumbnail"))
            per_file.append(time.perf_counter() - begin)
    return {
        "startup_s": startup,
        "per_file_s": per_file,
        "mean_s": statistics.mean(per_file),
        "gl_platform": ready.get("gl_platform"),
        "gl_renderer": ready.get("gl_renderer"),
    }


def time_cold_single(path: Path, out: Path, size: int, repeats: int = 3) -> dict[str, Any]:
    runs = []
    for index in range(repeats):
        begin = time.perf_counter()
        with RenderService(timeout_s=120, memory_mb=4096) as service:
            service.render(RenderRequest(path, out / f"cold_{index}.png", size, "thumbnail"))
            runs.append(time.perf_counter() - begin)
    return {"runs_s": runs, "median_s": statistics.median(runs), "file": path.name}


def time_f3d(paths: list[Path], out: Path, size: int) -> dict[str, Any] | None:
    f3d = shutil.which("f3d")
    if f3d is None:
        return None
    prefix = ["xvfb-run", "-a"] if shutil.which("xvfb-run") else []
    per_file: list[float] = []
    failures: list[str] = []
    for path in paths:
        target = out / f"f3d_{path.name}.png"
        command = [*prefix, f3d, "--output", str(target), "--resolution", f"{size},{size}", str(path)]
        begin = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, timeout=300, check=False)
        elapsed = time.perf_counter() - begin
        if completed.returncode == 0 and target.is_file():
            per_file.append(elapsed)
        else:
            failures.append(f"{path.name}: exit {completed.returncode}")
    return {
        "per_file_s": per_file,
        "mean_s": statistics.mean(per_file) if per_file else None,
        "failures": failures,
    }


def time_blender(paths: list[Path], out: Path, size: int) -> dict[str, Any] | None:
    if shutil.which("blender") is None or not paths:
        return None
    per_file = []
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--blender-files", type=int, default=3)
    parser.add_argument("--no-f3d", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_render_") as tmp:
        folder = Path(tmp)
        out = folder / "out"
        out.mkdir()
        paths = generate_meshes(folder)
        faces = {p.name: len(trimesh.load(p, force="mesh", process=False).faces) for p in paths}
        warm = time_warm_batch(paths, out, args.size)
        cold = time_cold_single(paths[0], out, args.size)
        f3d = None if args.no_f3d else time_f3d(paths, out, args.size)
        blender = time_blender(paths[: args.blender_files], out, args.size)
    report: dict[str, Any] = {
        "size": args.size,
        "files": faces,
        "warm": warm,
        "cold": cold,
        "f3d": f3d,
        "blender_cycles16": blender,
    }
    print(f"{len(paths)} files at {args.size} px on {warm['gl_platform']} ({warm['gl_renderer']})")
    print(f"warm batch:  {warm['mean_s'] * 1000:7.0f} ms/file (child start-up {warm['startup_s']:.2f} s)")
    print(f"cold single: {cold['median_s']:7.2f} s   (target < 2 s)")
    if f3d and f3d["mean_s"]:
        ratio = f3d["mean_s"] / warm["mean_s"]
        report["f3d_over_warm"] = ratio
        print(
            f"f3d:         {f3d['mean_s'] * 1000:7.0f} ms/file -> warm is {ratio:.1f}x faster (target >= 3x)"
        )
        if f3d["failures"]:
            print(f"             f3d failed on: {', '.join(f3d['failures'])}")
    if blender:
        ratio = blender["mean_s"] / warm["mean_s"]
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
