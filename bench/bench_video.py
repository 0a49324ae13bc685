"""Frame-accurate video access against the usual script approach (one ffmpeg process per frame).

    python bench/bench_video.py [--seconds S] [--random N] [--rounds R] [--out DIR]

Writes a 1080p H.264 clip once under ``--out`` (24 fps, B-frames, a keyframe every second, four shots
with moving texture and grain; every frame shows its number as 8 big bit-blocks, so each contender's
frame accuracy is checked, not assumed) and a long-GOP variant (x264's default 250-frame keyframe
interval, as screen recordings and web exports have). Then times:

(a) random access: N random frames, ours (``VideoFrameSource.frame_at``, one open clip) vs
    ``ffmpeg -ss T -i clip -frames:v 1`` per frame (a process per frame, rgb24 to a pipe);
(b) sequential decode to RGB at 1080p: ours (``iter_frames``) vs ``ffmpeg -i clip -pix_fmt rgb24 -f null``;
(c) scene cuts: ours (``detect_scene_cuts``) vs ffmpeg's ``select='gt(scene,0.3)'`` filter, each with
    the cuts it found against the true ones;
(d) a 10-frame filmstrip: ours (``make_filmstrip``) vs 10 ``ffmpeg -ss`` processes.

Each contender runs ``--rounds`` times, interleaved; the best round is reported (median too). Prints a
table and writes ``results.json`` in ``--out``. Not a test.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.video.filmstrip import make_filmstrip  # noqa: E402
from core.video.frames import VideoFrameSource  # noqa: E402
from core.video.scene_cuts import detect_scene_cuts  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

WIDTH, HEIGHT, FPS = 1920, 1080, 24
BLOCK, GAP = 80, 100  # frame-number bit blocks: 80 px squares every 100 px along the top


def _draw_number(frame: np.ndarray, number: int) -> None:
    for bit in range(10):
        value = 255 if number >> bit & 1 else 0
        x = 20 + bit * GAP
        frame[20 : 20 + BLOCK, x : x + BLOCK] = value


def read_number(rgb: np.ndarray) -> int:
    """The number drawn by :func:`_draw_number`, from a frame at any size."""
    scale = rgb.shape[1] / WIDTH
    number = 0
    for bit in range(10):
        x0, y0 = int((20 + bit * GAP + 20) * scale), int(40 * scale)
        x1, y1 = max(x0 + 1, int((20 + bit * GAP + 60) * scale)), max(y0 + 1, int(80 * scale))
        if rgb[y0:y1, x0:x1].mean() > 128:
            number |= 1 << bit
    return number


def write_clip(path: Path, seconds: float, gop: int) -> list[int]:
    """The benchmark clip; returns the true cut frames (4 shots)."""
    import av
    import cv2

    frames = round(seconds * FPS)
    cuts = [frames * k // 4 for k in (1, 2, 3)]
    if path.exists():
        return cuts
    rng = np.random.default_rng(11)
    partial = path.with_suffix(".partial.mp4")
    with av.open(str(partial), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20", "x264-params": f"keyint={gop}:bframes=3"}
        shot_base: np.ndarray | None = None
        for index in range(frames):
            shot = sum(index >= c for c in cuts)
            if shot_base is None or index in cuts:
                small = rng.integers(0, 255, (HEIGHT // 120, WIDTH // 120, 3), dtype=np.uint8)
                shot_base = cv2.resize(small, (WIDTH * 2, HEIGHT), interpolation=cv2.INTER_CUBIC)
            start = ([0, *cuts])[shot]
            pan = (index - start) * (4 + 3 * shot)  # each shot pans at its own speed, never wrapping
            picture = shot_base[:, pan : pan + WIDTH].astype(np.int16)
            picture += rng.normal(0, 4, picture.shape).astype(np.int16)  # grain
            rgb = np.clip(picture, 0, 255).astype(np.uint8)
            _draw_number(rgb, index)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.replace(path)
    return cuts


def _measure(contenders: list[tuple[str, Callable[[], Any]]], rounds: int) -> dict[str, dict[str, Any]]:
    times: dict[str, list[float]] = {name: [] for name, _ in contenders}
    results: dict[str, Any] = {}
    for _ in range(rounds):
        for name, run in contenders:
            started = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - started)
    return {
        name: {
            "best_s": min(times[name]),
            "median_s": statistics.median(times[name]),
            "result": results[name],
        }
        for name, _ in contenders
    }


def _ffmpeg_frame(path: Path, seconds: float, height: int | None = None) -> np.ndarray:
    scale = ["-vf", f"scale=-2:{height}"] if height else []
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{seconds:.6f}", "-i", str(path), "-frames:v", "1", *scale,
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    width = WIDTH if height is None else len(out) // (3 * height)
    return np.frombuffer(out, np.uint8).reshape(-1, width, 3)


def _ours_random(path: Path, indices: list[int]) -> float:
    with VideoFrameSource(path) as clip:
        right = sum(read_number(clip.frame_at(i)) == i for i in indices)
    return right / len(indices)


def _ffmpeg_random(path: Path, indices: list[int]) -> float:
    right = sum(read_number(_ffmpeg_frame(path, i / FPS)) == i for i in indices)
    return right / len(indices)


def _ours_sequential(path: Path) -> int:
    with VideoFrameSource(path) as clip:
        return sum(1 for _ in clip.iter_frames(0))


def _ffmpeg_sequential(path: Path) -> int:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-pix_fmt", "rgb24", "-f", "null", "-"], check=True
    )
    return 0


def _ours_cuts(path: Path) -> list[int]:
    with VideoFrameSource(path, fast_decode=True) as clip:
        return detect_scene_cuts(clip)


def _ffmpeg_cuts(path: Path) -> list[int]:
    scene_filter = "select='gt(scene,0.3)',showinfo"
    command = ["ffmpeg", "-hide_banner", "-i", str(path), "-vf", scene_filter, "-f", "null", "-"]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    cuts = []
    for line in run.stderr.splitlines():
        if "Parsed_showinfo" in line and " pts_time:" in line:
            seconds = float(line.split(" pts_time:")[1].split()[0])
            cuts.append(round(seconds * FPS))
    return cuts


def _ours_filmstrip(path: Path) -> list[int]:
    with VideoFrameSource(path, fast_decode=True) as clip:
        strip = make_filmstrip(clip, count=10, height=90)
    return [read_number(strip.image[:, i * strip.cell_width : (i + 1) * strip.cell_width]) for i in range(10)]


def _ffmpeg_filmstrip(path: Path, indices: list[int]) -> list[int]:
    return [read_number(_ffmpeg_frame(path, i / FPS, height=90)) for i in indices]


def bench_clip(path: Path, true_cuts: list[int], random_count: int, rounds: int) -> dict[str, Any]:
    with VideoFrameSource(path) as clip:
        frame_count = clip.frame_count
        assert clip.fps == Fraction(FPS)
    indices = random.Random(5).sample(range(frame_count), random_count)
    strip_frames = [(2 * i + 1) * frame_count // 20 for i in range(10)]
    access = _measure(
        [
            ("ours", lambda: _ours_random(path, indices)),
            ("ffmpeg -ss per frame", lambda: _ffmpeg_random(path, indices)),
        ],
        rounds,
    )
    sequential = _measure(
        [
            ("ours", lambda: _ours_sequential(path)),
            ("ffmpeg decode to rgb24", lambda: _ffmpeg_sequential(path)),
        ],
        rounds,
    )
    cuts = _measure(
        [("ours", lambda: _ours_cuts(path)), ("ffmpeg scene>0.3", lambda: _ffmpeg_cuts(path))],
        max(1, rounds - 1),
    )
    strip = _measure(
        [
            ("ours", lambda: _ours_filmstrip(path)),
            ("ffmpeg -ss x10", lambda: _ffmpeg_filmstrip(path, strip_frames)),
        ],
        rounds,
    )
    return {
        "file": path.name,
        "frames": frame_count,
        "random_access": {
            name: {
                "frames_per_s": random_count / r["best_s"],
                "median_frames_per_s": random_count / r["median_s"],
                "frame_accuracy": r["result"],
            }
            for name, r in access.items()
        },
        "sequential": {name: {"fps": frame_count / r["best_s"]} for name, r in sequential.items()},
        "scene_cuts": {
            name: {
                "fps": frame_count / r["best_s"],
                "found": r["result"],
                "true": true_cuts,
                "exact": r["result"] == true_cuts,
            }
            for name, r in cuts.items()
        },
        "filmstrip": {
            name: {"seconds": r["best_s"], "right_frames": r["result"] == strip_frames}
            for name, r in strip.items()
        },
    }


def _table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'clip':<28} {'measure':<32} {'ours':>14} {'ffmpeg':>14} {'ratio':>7}"]

    def row(clip: str, label: str, ours: float, theirs: float, unit: str, higher_better: bool = True) -> None:
        ratio = ours / theirs if higher_better else theirs / ours
        lines.append(
            f"{clip:<28} {label:<32} {ours:>10.1f} {unit:<3} {theirs:>10.1f} {unit:<3} {ratio:>6.1f}x"
        )

    for result in results:
        name = result["file"]
        access = list(result["random_access"].values())
        row(name, "random access (frames/s)", access[0]["frames_per_s"], access[1]["frames_per_s"], "f/s")
        lines.append(f"{'':<28} {'  frame accuracy':<32} {access[0]['frame_accuracy']:>13.0%} "
                     f"{access[1]['frame_accuracy']:>14.0%}")  # fmt: skip
        seq = list(result["sequential"].values())
        row(name, "sequential 1080p decode (fps)", seq[0]["fps"], seq[1]["fps"], "fps")
        cuts = list(result["scene_cuts"].values())
        row(name, "scene cuts (frames/s)", cuts[0]["fps"], cuts[1]["fps"], "f/s")
        lines.append(f"{'':<28} {'  cuts found (true ' + str(cuts[0]['true']) + ')':<32} "
                     f"{cuts[0]['found']!s:>14} {cuts[1]['found']!s:>14}")  # fmt: skip
        strip = list(result["filmstrip"].values())
        row(
            name,
            "10-frame filmstrip (ms)",
            strip[0]["seconds"] * 1000,
            strip[1]["seconds"] * 1000,
            "ms",
            False,
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--random", type=int, default=30, help="random frames to fetch")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "video")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    clips = [
        (args.out / f"dailies_1080p_{args.seconds:g}s_gop24.mp4", 24),
        (args.out / f"export_1080p_{args.seconds:g}s_gop250.mp4", 250),
    ]
    results = []
    for path, gop in clips:
        started = time.perf_counter()
        cuts = write_clip(path, args.seconds, gop)
        print(f"{path.name}: ready in {time.perf_counter() - started:.1f} s", flush=True)
        results.append(bench_clip(path, cuts, args.random, args.rounds))
    report = {"machine": {"cpus": len(__import__("os").sched_getaffinity(0))}, "clips": results}
    (args.out / "results.json").write_text(json.dumps(report, indent=2))
    print(_table(results))
    print(f"\nresults: {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
