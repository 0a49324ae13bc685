"""Ingest peak memory on hostile inputs, against the documented budget.

    python bench/bench_ingest_memory.py [--budget-mb 2048] [--obj-triangles 3000000] [--out bench/out]

Each case is one real ``stratopipe ingest --thumbnails-only`` process on a fresh data dir; its peak
memory is the RSS high-water mark that ``wait4`` reports for it (the process and the children it
waited for: the geometry probe child counts). The bound is what a small, harmless ingest peaks at
plus ``ingest_memory_mb``; before the fixes the PNG bomb peaked at 7.8 GB and the 16-bit RGBA one at
4.6 GB. The geometry child is capped separately by ``render_memory_mb`` (set to 1024 here).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.hostile import run_cli, write_obj, write_png_bomb, write_small_png  # noqa: E402

MB = 2**20


def _cases(work: Path, obj_triangles: int) -> dict[str, tuple[Path, str]]:
    """case -> (folder to ingest, what it holds)."""
    made: dict[str, tuple[Path, str]] = {}

    def folder(name: str, what: str) -> Path:
        path = work / name
        path.mkdir()
        made[name] = (path, what)
        return path

    calm = folder("baseline", "20 small PNGs")
    for index in range(20):
        write_small_png(calm / f"plate_{chr(ord('a') + index)}.png", seed=index)
    write_png_bomb(
        folder("png_bomb", "PNG declaring 45000 x 45000 RGB (6 MB file)") / "bomb.png", 45_000, 45_000
    )
    write_png_bomb(
        folder("rgba16_bomb", "16-bit RGBA PNG, 15000 x 15000 (under the pixel limit)") / "normals.png",
        15_000,
        15_000,
        rgba16=True,
    )
    write_png_bomb(
        folder("large_ok", "8-bit RGB PNG 12000 x 12000 (412 MB decoded: fits a third of the budget)")
        / "plate.png",
        12_000,
        12_000,
    )
    crowd = folder("parallel_large", "4 such PNGs (11700-12000 px), 4 media threads: decodes take turns")
    for index in range(4):
        write_png_bomb(crowd / f"plate_{chr(ord('a') + index)}.png", 12_000 - 100 * index, 12_000)
    scan = write_obj(work / "scan.obj", obj_triangles)
    scan.rename(folder("big_obj", f"OBJ, {scan.stat().st_size / MB:,.0f} MB of text") / "scan.obj")
    fifo_dir = folder("fifo_mtllib", "OBJ whose mtllib is a FIFO (render_timeout_s = 10)")
    os.mkfifo(fifo_dir / "wood.mtl")
    write_obj(fifo_dir / "table.obj", 12, mtllib="wood.mtl")
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--budget-mb", type=int, default=2048, help="ingest_memory_mb for every run")
    parser.add_argument("--obj-triangles", type=int, default=3_000_000, help="~200 MB of OBJ text")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    env = {
        "STRATOPIPE_INGEST_MEMORY_MB": str(args.budget_mb),
        "STRATOPIPE_RENDER_MEMORY_MB": "1024",
        "STRATOPIPE_RENDER_TIMEOUT_S": "10",
        "STRATOPIPE_MEDIA_THREADS": "4",
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-memory-") as tmp:
        work = Path(tmp)
        for name, (folder, what) in _cases(work, args.obj_triangles).items():
            run = run_cli(
                ["ingest", folder, "--project", "Bench", "--json", "--thumbnails-only"],
                work / f"data-{name}",
                env=env,
                timeout_s=600,
            )
            result = run.json() if run.returncode == 0 else {}
            rows.append(
                {
                    "case": name,
                    "input": what,
                    "peak_rss_mb": round(run.peak_rss_bytes / MB),
                    "ingested": result.get("ingested"),
                    "failed": [f["error"][:90] for f in result.get("failed", [])],
                    "seconds": result.get("seconds"),
                }
            )
    bound = rows[0]["peak_rss_mb"] + args.budget_mb
    print(f"{'case':<14} {'peak RSS':>9}  {'ok':>3}  input / outcome")
    for row in rows:
        within = "yes" if row["peak_rss_mb"] <= bound else "NO"
        outcome = f"{row['ingested']} ingested" + (f"; {row['failed'][0]}" if row["failed"] else "")
        print(f"{row['case']:<14} {row['peak_rss_mb']:>6} MB  {within:>3}  {row['input']}: {outcome}")
    print(f"bound: baseline {rows[0]['peak_rss_mb']} MB + ingest_memory_mb {args.budget_mb} MB = {bound} MB")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ingest_memory.json").write_text(
        json.dumps({"budget_mb": args.budget_mb, "bound_mb": bound, "cases": rows}, indent=2)
    )
    return 0 if all(row["peak_rss_mb"] <= bound for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
