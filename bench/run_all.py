"""Run every benchmark one after another (never two at once: they would skew each other).

    python bench/run_all.py [--quick]

Each benchmark prints its own table and writes JSON under bench/out/; this script keeps their output in
bench/out/summary.txt as well.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"

FULL = [
    ["bench_thumbnails.py", "--count", "200", "--videos", "20", "--rounds", "3"],
    ["bench_render.py", "--rounds", "3"],
    ["bench_video.py", "--rounds", "3"],
    ["bench_analysis.py", "--seconds", "6", "--rounds", "2"],
    ["bench_ai.py"],
    ["bench_sync.py", "--seconds", "3"],
    ["bench_catalog.py", "--assets", "1000000"],
    ["bench_ingest_memory.py"],
]
QUICK = [
    ["bench_thumbnails.py", "--count", "40", "--videos", "4", "--rounds", "1"],
    ["bench_render.py", "--rounds", "1"],
    ["bench_video.py", "--rounds", "1"],
    ["bench_analysis.py", "--seconds", "2", "--rounds", "1"],
    ["bench_ai.py", "--images", "16"],
    ["bench_sync.py", "--seconds", "1"],
    ["bench_catalog.py", "--assets", "100000"],
    ["bench_ingest_memory.py", "--obj-triangles", "500000"],
]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small corpora, one round each")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    failures = 0
    with (OUT / "summary.txt").open("w", encoding="utf-8") as summary:
        for command in QUICK if args.quick else FULL:
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, str(BENCH / command[0]), *command[1:]],
                capture_output=True,
                text=True,
                check=False,
            )
            header = (
                f"== {' '.join(command)}  ({time.perf_counter() - started:.0f} s, exit {result.returncode})"
            )
            print(header, flush=True)
            print(result.stdout, flush=True)
            summary.write(f"{header}\n{result.stdout}\n")
            if result.returncode != 0:
                failures += 1
                print(result.stderr[-4000:], file=sys.stderr)
                summary.write(result.stderr[-4000:] + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
