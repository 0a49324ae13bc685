"""Shot analysis (``core.video.analysis``) side by side with FFmpeg's own filters where they overlap.

    python bench/bench_analysis.py [--seconds S] [--clip PATH]... [--rounds R] [--out DIR]

Clips: the 1080p four-shot clip of ``bench_video.py`` (moving texture, grain, 3 true cuts), written once
under ``--out``, plus any real clips given with ``--clip``. For each clip:

- ours: ``analyse_clip`` on every frame at 480 px, all twelve metrics, 2 worker threads;
- ffmpeg: one process running ``blurdetect,signalstats,scdet`` at full size, metadata printed to a file.

Reported: frames/s of each (best of ``--rounds``); agreement: Spearman rank correlation of our
``sharpness`` with ``-lavfi.blur`` (blurdetect: higher is blurrier), Pearson correlation of ``luma`` with
signalstats' YAVG and of ``contrast`` with YHIGH-YLOW, and the cuts each found (scdet at threshold 10)
against the true ones. Prints a table and writes ``results.json`` in ``--out``. Not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_video import write_clip  # noqa: E402
from core.video.analysis import ClipAnalysis, analyse_clip  # noqa: E402
from core.video.frames import VideoFrameSource  # noqa: E402


def ours(path: Path) -> ClipAnalysis:
    with VideoFrameSource(path) as clip:
        measuring = analyse_clip(clip, workers=2)
        while True:
            try:
                next(measuring)
            except StopIteration as done:
                result: ClipAnalysis = done.value
                return result


def ffmpeg(path: Path, fps: float, out: Path) -> dict[str, Any]:
    """Per-frame blur, YAVG, YHIGH-YLOW and the scdet cuts."""
    meta = out / f"{path.stem}.ffmeta.txt"
    graph = f"blurdetect,signalstats,scdet=threshold=10,metadata=mode=print:file='{meta}'"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(path), "-vf", graph, "-f", "null", "-"],
        check=True,
    )
    frames: list[dict[str, float]] = []
    for line in meta.read_text().splitlines():
        if line.startswith("frame:"):
            frames.append({})
        elif "=" in line and frames:
            key, value = line.split("=", 1)
            frames[-1][key] = float(value)
    cuts = [round(f["lavfi.scd.time"] * fps) for f in frames if "lavfi.scd.time" in f]
    return {
        "blur": [f.get("lavfi.blur", 0.0) for f in frames],
        "yavg": [f["lavfi.signalstats.YAVG"] for f in frames],
        "yrange": [f["lavfi.signalstats.YHIGH"] - f["lavfi.signalstats.YLOW"] for f in frames],
        "cuts": cuts,
    }


def _pearson(a: list[float], b: list[float]) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def _spearman(a: list[float], b: list[float]) -> float:
    return _pearson(list(np.argsort(np.argsort(a))), list(np.argsort(np.argsort(b))))


def _timed(run: Any, rounds: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def bench_clip(path: Path, true_cuts: list[int] | None, rounds: int, out: Path) -> dict[str, Any]:
    ours_s, mine = _timed(lambda: ours(path), rounds)
    ff_s, theirs = _timed(lambda: ffmpeg(path, mine.fps, out), rounds)
    frames = min(mine.frame_count, len(theirs["blur"]))
    m = {name: values[:frames] for name, values in mine.metrics.items()}
    return {
        "clip": path.name,
        "frames": mine.frame_count,
        "ours_fps": round(mine.frame_count / ours_s, 1),
        "ffmpeg_fps": round(frames / ff_s, 1),
        "sharpness_vs_blurdetect_spearman": round(
            _spearman(m["sharpness"], [-b for b in theirs["blur"][:frames]]), 3
        ),
        "luma_vs_yavg_pearson": round(_pearson(m["luma"], theirs["yavg"][:frames]), 3),
        "contrast_vs_yrange_pearson": round(_pearson(m["contrast"], theirs["yrange"][:frames]), 3),
        "cuts_true": true_cuts,
        "cuts_ours": mine.cuts,
        "cuts_scdet": theirs["cuts"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--clip", type=Path, action="append", default=[], help="a real clip to add")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "analysis")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    generated = args.out / f"shots_1080p_{args.seconds:g}s.mp4"
    cuts = write_clip(generated, args.seconds, 24)
    clips: list[tuple[Path, list[int] | None]] = [(generated, cuts), *((c, None) for c in args.clip)]
    results = [bench_clip(path, true_cuts, args.rounds, args.out) for path, true_cuts in clips]
    (args.out / "results.json").write_text(json.dumps({"clips": results}, indent=2))
    print(
        "| clip | frames | ours fps (480 px, 12 metrics) | ffmpeg fps (3 filters, full size) | "
        "sharpness~blurdetect (Spearman) | luma~YAVG | contrast~YHIGH-YLOW | cuts true / ours / scdet |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['clip']} | {r['frames']} | {r['ours_fps']} | {r['ffmpeg_fps']} | "
            f"{r['sharpness_vs_blurdetect_spearman']} | {r['luma_vs_yavg_pearson']} | "
            f"{r['contrast_vs_yrange_pearson']} | {r['cuts_true']} / {r['cuts_ours']} / {r['cuts_scdet']} |"
        )
    print(f"\nresults: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
