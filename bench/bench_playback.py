"""Playback in the real player: sustained rate and dropped frames with sound, throughput, seek latency.

    python bench/bench_playback.py [--seconds S] [--seeks N] [--out DIR] [--only all|h264|exr]
                                   [--exr-frames N] [--exr-dir DIR] [--clicks N] [--repeats N]

Writes a 1080p H.264 clip with AAC sound under ``--out`` once (24 fps, B-frames, a keyframe every
second, ffmpeg's ``testsrc2`` picture and a tone). Then, in a ``VideoPlayer`` on the offscreen platform
with a ``NullPcmSink`` as the sound card (no device here; it consumes PCM in real time, so the sound is
the clock exactly as with a device):

(a) sustained 1x playback with sound, picture decoded at 1280 px (a review window) and at full 1080p:
    frames shown per second, frames dropped, and the worst picture-to-sound offset;
(b) decode-to-display throughput: every frame in order, each shown frame asking for the next;
(c) seek latency while paused: ``seek(n)`` to frame n's picture delivered, for N random frames;
(d) a 2K EXR sequence (``--exr-frames`` 2048x1080 half-float RGB ZIP files, written once under
    ``--exr-dir`` with OpenEXR), opened as the viewer opens sequences (``SequenceFrameSource``, no
    sound): sustained 1x rate and drops at a 1280 and a 2048 px canvas, every-frame throughput, the
    decode ceiling of ``frame_at`` alone and its split (EXR read, tone map, rest, QImage);
(e) a note's click to its frame on screen, in the real main window with the viewer's comments panel
    (no server): notes at five frames, ``--clicks`` clicks on their text in turn, to ``frame_shown``
    and to the canvas's next paint; for the H.264 clip and for the EXR sequence.
(d) and (e) run ``--repeats`` times; ``--only exr`` runs just them and merges into ``results.json``.

Anchors on the same file, where installed: ``ffplay`` (under ``xvfb-run``, SDL's dummy audio driver,
its own ``fd=`` count of dropped frames), ``mpv`` (``--vo=null``, frame drops from its log), and
``ffmpeg`` (decode-only throughput, ``-f null``; a seek as ``ffmpeg -ss T -frames:v 1``, a process per
seek as scripts do); for the EXR sequence ``ffplay`` and ``ffmpeg`` read the numbered files as an
image2 sequence at 24 fps. Prints a table and writes ``results.json`` in ``--out``. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FPS = 24
EXR_SIZE = (2048, 1080)


def make_clip(out: Path, seconds: int) -> Path:
    clip = out / f"playback_1080p_audio_{seconds}s.mp4"
    if clip.is_file():
        return clip
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={FPS}",
            "-f", "lavfi", "-i", "sine=frequency=440:beep_factor=4:sample_rate=48000",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "fast", "-pix_fmt", "yuv420p",
            "-x264-params", f"keyint={FPS}:min-keyint={FPS}:bframes=3", "-c:a", "aac", "-shortest", str(clip),
        ],
        check=True,
    )  # fmt: skip
    return clip


# -- our player ------------------------------------------------------------------------------------


def _app() -> Any:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def _pump_until(condition: Any, timeout: float) -> bool:
    app = _app()
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.001)
    return False


def _open(clip: Path | list[Path], canvas_side: int, sink: Any) -> Any:
    """A player on ``clip``: a video file with its sound, or an image sequence (its frame paths)."""
    from core.media.audio import AudioTrack
    from core.video.frames import SequenceFrameSource, VideoFrameSource
    from ui.viewer.player import VideoPlayer

    player = VideoPlayer(sound_output=lambda: sink)
    player.resize(canvas_side, canvas_side * 9 // 16 + 60)
    player.show()
    opened: list[Any] = []
    player.clip_opened.connect(opened.append)
    if isinstance(clip, list):
        player.open_clip(lambda: SequenceFrameSource(clip, FPS))
    else:
        player.open_clip(lambda: VideoFrameSource(clip), audio=lambda: AudioTrack(clip))
    assert _pump_until(lambda: bool(opened) and player.current_frame == 0, 20), "clip did not open"
    _pump_until(lambda: False, 0.3)  # the first picture lands
    return player


def sustained(clip: Path | list[Path], canvas_side: int) -> dict[str, Any]:
    from core.media.audio_sink import NullPcmSink

    sink = NullPcmSink()
    player = _open(clip, canvas_side, sink)
    offsets: list[float] = []
    shown: list[int] = []
    player.frame_shown.connect(shown.append)
    player.frame_shown.connect(lambda f: offsets.append(f / FPS - sink.played_seconds()))
    started = time.monotonic()
    player.play()
    _pump_until(lambda: not player.is_playing, 120)
    wall = time.monotonic() - started
    result = {
        "canvas_px": canvas_side,
        "decoded_px": player.canvas.image().width(),
        "frames": player.frame_count,
        "shown": len(shown),
        "dropped": player.dropped_frames,
        "shown_per_s": len(shown) / wall,
        "wall_s": wall,
        "sound_underruns": sink.underruns,
    }
    if not isinstance(clip, list) and len(offsets) > 2:  # a sequence has no sound: no offsets
        result["offset_ms_median"] = statistics.median(abs(o) for o in offsets[1:-1]) * 1000
        result["offset_ms_p95"] = _p95([abs(o) * 1000 for o in offsets[1:-1]])
        result["offset_ms_worst"] = max(abs(o) for o in offsets[1:-1]) * 1000
    player.close_clip()
    player.deleteLater()
    return result


def throughput(clip: Path | list[Path], canvas_side: int) -> dict[str, Any]:
    """Every frame in order as fast as the pipeline delivers: each shown frame asks for the next
    (decode thread -> QImage -> queued signal -> canvas), no clock in the way."""
    from core.media.audio_sink import NullPcmSink

    player = _open(clip, canvas_side, NullPcmSink())
    shown: list[int] = []

    def next_frame(frame: int) -> None:
        shown.append(frame)
        if frame + 1 < player.frame_count:
            player.seek(frame + 1)

    player.frame_shown.connect(next_frame)
    started = time.monotonic()
    player.seek(1)
    _pump_until(lambda: player.frame_count - 1 in shown, 300)
    wall = time.monotonic() - started
    player.close_clip()
    player.deleteLater()
    return {"canvas_px": canvas_side, "shown_per_s": len(shown) / wall, "shown": len(shown), "wall_s": wall}


def seeks(clip: Path, count: int, canvas_side: int) -> list[float]:
    from core.media.audio_sink import NullPcmSink

    player = _open(clip, canvas_side, NullPcmSink())
    targets = random.Random(7).sample(range(1, player.frame_count), count)
    latencies = []
    arrived: list[int] = []
    player.frame_shown.connect(arrived.append)
    for target in targets:
        arrived.clear()
        started = time.perf_counter()
        player.seek(target)
        _pump_until(lambda t=target: t in arrived, 10)
        latencies.append((time.perf_counter() - started) * 1000)
    player.close_clip()
    player.deleteLater()
    return latencies


def make_exr_sequence(folder: Path, frames: int) -> list[Path]:
    """``frames`` 2048x1080 half-float RGB EXRs (ZIP, as compositing writes them), scene-linear values
    up to ~6 with a moving pattern and grain, written once with the OpenEXR package the app reads with."""
    import numpy as np
    import OpenEXR

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"shot.{1001 + i:04d}.exr" for i in range(frames)]
    if all(p.is_file() for p in paths):
        return paths
    height, width = EXR_SIZE[1], EXR_SIZE[0]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rng = np.random.default_rng(1)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    for i, path in enumerate(paths):
        red = x / width * 4 * (1 + 0.5 * np.sin(i / 8))
        blue = 0.5 + 0.5 * np.sin((x + y + i * 20) / 60)
        pixels = np.dstack([red, y / height * 2, blue]) + rng.normal(0, 0.02, (height, width, 3))
        OpenEXR.File(header, {"RGB": pixels.astype(np.float16)}).write(str(path))
    return paths


def sequence_decode(paths: list[Path], max_side: int | None, count: int = 24) -> dict[str, Any]:
    """The decode ceiling (``SequenceFrameSource.frame_at`` alone, one thread as in the player) and
    where a frame's time goes: EXR read, tone map to sRGB, the rest of ``frame_at`` (checkerboard,
    resize), QImage conversion."""
    import numpy as np

    from core.media import decode
    from core.video.frames import SequenceFrameSource
    from ui.viewer.player_decoder import to_qimage

    source = SequenceFrameSource(paths, FPS)
    started = time.perf_counter()
    for index in range(count):
        rgb = source.frame_at(index, max_side)
    ceiling = count / (time.perf_counter() - started)
    parts = {"exr_read": 0.0, "tonemap": 0.0, "qimage": 0.0}
    for index in range(count, 2 * count):
        # The read alone, then read + tone map as frame_at does it (a lookup for half floats).
        t0 = time.perf_counter()
        decode._exr_planes(paths[index], max_side)
        t_read = time.perf_counter() - t0
        t1 = time.perf_counter()
        decode._load_exr(paths[index], max_side)
        t2 = time.perf_counter()
        t1 += t_read
        rgb = source.frame_at(index, max_side)
        t3 = time.perf_counter()
        to_qimage(np.ascontiguousarray(rgb))
        t4 = time.perf_counter()
        parts["exr_read"] += t_read
        parts["tonemap"] += t2 - t1
        parts["qimage"] += t4 - t3
        parts.setdefault("frame_at", 0.0)
        parts["frame_at"] += t3 - t2
    ms = {key: value / count * 1000 for key, value in parts.items()}
    ms["rest_of_frame_at"] = ms.pop("frame_at") - ms["exr_read"] - ms["tonemap"]
    source.close()
    return {"max_side": max_side, "decoded_px": rgb.shape[1], "frames_per_s": ceiling, "ms_per_frame": ms}


def note_clicks(media: Path | list[Path], clicks: int, work: Path) -> dict[str, Any]:
    """Click to frame on screen in the real window: the viewer with its comments panel (``SyncUi`` on a
    bridge with no server, as ``tests/ui/test_review_notes.py`` builds it), a note at each of several
    frames, then ``clicks`` clicks on the notes' text in turn (each to another frame): from the mouse
    press until the player's ``frame_shown`` for that frame, and until the canvas has painted it."""
    from PySide6.QtCore import QEvent, QObject, Qt
    from PySide6.QtTest import QTest

    from core.ai.device import DeviceCapabilities, choose_device
    from core.catalog.catalog import Catalog
    from core.catalog.records import NewAsset
    from core.media.limits import MediaLimits
    from core.paths import AppPaths
    from core.pipeline import build_registry
    from core.settings import Settings
    from core.sync.credentials import TokenStore
    from core.sync.local_store import LocalStore
    from ui.shell.main_window import MainWindow
    from ui.shell.notifications import Notifier
    from ui.shell.sync_wiring import SyncUi
    from ui.viewer.player import VideoPlayer
    from workers.background import BackgroundWork
    from workers.ingest_controller import IngestController
    from workers.job_controller import JobController
    from workers.lanes import Lanes
    from workers.sync_bridge import SyncBridge

    shutil.rmtree(work, ignore_errors=True)
    paths = AppPaths.resolve(work / "profile").ensure()
    settings = Settings()
    catalog = Catalog(paths.catalog_file)
    background = BackgroundWork()
    lanes = Lanes.create(2)
    registry = build_registry(render=False, ai=False)
    jobs = JobController(catalog, registry, paths, settings, lanes)
    ingest = IngestController(
        catalog, paths, MediaLimits.from_settings(settings), lanes, jobs, registry, background
    )

    class _Tray:
        def show_message(self, title: str, body: str, level: str) -> None:
            pass

    window = MainWindow(
        catalog, settings, paths, jobs, ingest, Notifier(catalog, settings, _Tray(), batch_window_ms=50),
        background=background,
        device_probe=lambda: choose_device("auto", DeviceCapabilities(torch_version="2.13.0")),
    )  # fmt: skip
    window.resize(1600, 900)
    window.show()
    bridge = SyncBridge(LocalStore(work / "notes.db"), TokenStore(), Settings(), background)
    review = SyncUi(window, bridge)
    project = catalog.create_project("Bench")
    if isinstance(media, list):
        numbers = [int(p.stem.rsplit(".", 1)[1]) for p in media]
        meta = {"fps": float(FPS), "sequence": {"directory": str(media[0].parent),
                                               "pattern": "shot.####.exr", "frames": numbers}}  # fmt: skip
        asset = NewAsset(project.id, "shot.####.exr", str(media[0]), "sequence", "bench-seq", 10, meta)
    else:
        numbers = list(range(_frame_total(media)))
        meta = {"fps": FPS, "audio": True}
        asset = NewAsset(project.id, media.name, str(media), "video", "bench-clip", 10, meta)
    record = catalog.get_asset(catalog.add_assets([asset])[asset.content_hash])
    window.sidebar.reload_projects(project.id)
    window.open_viewer(record)
    assert _pump_until(lambda: window.viewer.findChild(VideoPlayer) is not None, 10)
    player = window.viewer.findChild(VideoPlayer)
    assert _pump_until(lambda: not player.canvas.image().isNull(), 30), "the clip did not open"
    panel = review.viewer_comments
    marks = [numbers[len(numbers) * k // 6] for k in range(1, 6)]  # five notes spread over the clip
    for number in marks:
        player.seek_display(number)
        assert _pump_until(lambda n=number: f"(frame {n} " in player.timecode_label.text(), 20)
        panel.compose.setPlainText(f"Note at {number}")
        assert panel.send() is not None
    _pump_until(lambda: False, 0.5)
    rows = {comment.frame: row for row, comment in enumerate(panel.comments())}

    shown: list[tuple[int, float]] = []
    painted: list[float] = []
    player.frame_shown.connect(lambda index: shown.append((index, time.perf_counter())))

    class _Paints(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                painted.append(time.perf_counter())
            return False

    paints = _Paints()
    player.canvas.installEventFilter(paints)
    to_shown: list[float] = []
    to_painted: list[float] = []
    for click in range(clicks):
        number = marks[click % len(marks)]
        index = numbers.index(number)
        body = panel.card(rows[number]).body_label
        shown.clear()
        painted.clear()
        started = time.perf_counter()
        QTest.mouseClick(body, Qt.MouseButton.LeftButton, pos=body.rect().center())
        assert _pump_until(lambda i=index: any(s == i for s, _ in shown), 20), f"frame {number} not shown"
        at = next(t for s, t in shown if s == index)
        _pump_until(lambda a=at: any(p >= a for p in painted), 2)
        to_shown.append((at - started) * 1000)
        to_painted.append((next((p for p in painted if p >= at), at) - started) * 1000)
        _pump_until(lambda: False, 0.2)
    player.canvas.removeEventFilter(paints)
    window.close()
    bridge.close()
    jobs.shutdown()
    lanes.shutdown()
    background.quit_and_wait()
    window.deleteLater()
    _pump_until(lambda: False, 0.3)
    catalog.close()
    return {
        "notes_at": marks,
        "clicks": clicks,
        "to_frame_shown_ms": {"median": statistics.median(to_shown), "p95": _p95(to_shown)},
        "to_painted_ms": {"median": statistics.median(to_painted), "p95": _p95(to_painted)},
    }


def _frame_total(clip: Path) -> int:
    return int(subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_packets", "-of", "csv=p=0", str(clip)],
        capture_output=True, text=True, check=True,
    ).stdout.strip())  # fmt: skip


# -- anchors ----------------------------------------------------------------------------------------


def _input(clip: Path | list[Path]) -> list[str]:
    """ffmpeg's input arguments: the file, or the sequence as a numbered pattern at FPS."""
    if not isinstance(clip, list):
        return ["-i", str(clip)]
    first = clip[0].stem.rsplit(".", 1)
    pattern = str(clip[0].with_name(f"{first[0]}.%0{len(first[1])}d{clip[0].suffix}"))
    return ["-framerate", str(FPS), "-start_number", first[1], "-i", pattern]


def ffplay(clip: Path | list[Path]) -> dict[str, Any] | str:
    if shutil.which("ffplay") is None or shutil.which("xvfb-run") is None:
        return "not installed"
    env = {**os.environ, "SDL_AUDIODRIVER": "dummy"}
    env.pop("QT_QPA_PLATFORM", None)
    started = time.monotonic()
    run = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 2560x1440x24",
         "ffplay", "-autoexit", "-stats", "-loglevel", "info", *_input(clip)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    wall = time.monotonic() - started
    drops = re.findall(r"fd=\s*(\d+)", run.stderr)
    return {"dropped": int(drops[-1]) if drops else None, "wall_s": wall, "exit": run.returncode}


def mpv(clip: Path) -> dict[str, Any] | str:
    if shutil.which("mpv") is None:
        return "not installed"
    started = time.monotonic()
    run = subprocess.run(
        ["mpv", "--no-config", "--vo=null", "--ao=null", "--really-quiet",
         "--term-status-msg=${frame-drop-count}", str(clip)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return {"wall_s": time.monotonic() - started, "exit": run.returncode, "status": run.stdout.strip()[-40:]}


def ffmpeg_decode(clip: Path | list[Path], threads: int = 0) -> float:
    """Decode-only frames/s (``threads`` 0: ffmpeg's choice, all cores)."""
    started = time.monotonic()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-threads", str(threads), *_input(clip), "-an", "-f", "null", "-"],
        check=True,
    )  # fmt: skip
    wall = time.monotonic() - started
    if isinstance(clip, list):
        return len(clip) / wall
    frames = int(subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_packets", "-of", "csv=p=0", str(clip)],
        capture_output=True, text=True, check=True,
    ).stdout.strip())  # fmt: skip
    return frames / wall


def ffmpeg_seeks(clip: Path, count: int, frames: int) -> list[float]:
    latencies = []
    for target in random.Random(7).sample(range(1, frames), count):
        started = time.perf_counter()
        subprocess.run(
            ["ffmpeg", "-v", "error", "-ss", f"{target / FPS:.4f}", "-i", str(clip), "-frames:v", "1",
             "-f", "null", "-"],
            check=True,
        )  # fmt: skip
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def exr_and_notes(args: argparse.Namespace, clip: Path, results: dict[str, Any]) -> None:
    """The 2K EXR sequence rows (sustained 1x, decode ceiling and where the time goes, ffplay and
    ffmpeg on the same files) and the note click-to-frame rows, each repeated ``--repeats`` times."""
    frames = make_exr_sequence(args.exr_dir, args.exr_frames)
    exr: dict[str, Any] = {"frames": len(frames), "size": list(EXR_SIZE), "dir": str(args.exr_dir)}
    exr["load_before"] = os.getloadavg()
    for side in (1280, 2048):
        runs = [sustained(frames, side) for _ in range(args.repeats)]
        exr[f"sustained_{side}"] = {
            "runs": runs,
            "shown_per_s_median": statistics.median(r["shown_per_s"] for r in runs),
            "dropped_median": statistics.median(r["dropped"] for r in runs),
        }
    exr["throughput_1280"] = throughput(frames, 1280)
    exr["decode_1280"] = sequence_decode(frames, 1280)
    exr["decode_full"] = sequence_decode(frames, None)
    exr["ffplay"] = [ffplay(frames) for _ in range(args.repeats)]
    exr["ffmpeg_decode_fps"] = statistics.median(ffmpeg_decode(frames) for _ in range(args.repeats))
    exr["ffmpeg_decode_fps_1_thread"] = ffmpeg_decode(frames, threads=1)
    exr["load_after"] = os.getloadavg()
    results["exr_sequence"] = exr
    notes: dict[str, Any] = {"load_before": os.getloadavg()}
    for name, media in (("h264", clip), ("exr", frames)):
        with tempfile.TemporaryDirectory(prefix=f"notes_{name}_") as work:  # a catalog and a notes db
            runs = [note_clicks(media, args.clicks, Path(work) / str(i)) for i in range(args.repeats)]
        notes[name] = {
            "runs": runs,
            "to_frame_shown_ms_median": statistics.median(r["to_frame_shown_ms"]["median"] for r in runs),
            "to_frame_shown_ms_p95": statistics.median(r["to_frame_shown_ms"]["p95"] for r in runs),
            "to_painted_ms_median": statistics.median(r["to_painted_ms"]["median"] for r in runs),
            "to_painted_ms_p95": statistics.median(r["to_painted_ms"]["p95"] for r in runs),
        }
    notes["load_after"] = os.getloadavg()
    results["note_click"] = notes


def print_exr(results: dict[str, Any]) -> None:
    exr, notes = results["exr_sequence"], results["note_click"]
    size = "x".join(map(str, exr["size"]))
    print(f"\n2K EXR sequence, {exr['frames']} frames {size} half RGB ZIP at {FPS} fps,"
          f" load {exr['load_before'][0]:.1f} -> {exr['load_after'][0]:.1f}\n")  # fmt: skip
    print("| what | measured |\n|---|---|")
    for side in (1280, 2048):
        r = exr[f"sustained_{side}"]
        shown = ", ".join(f"{x['shown_per_s']:.1f}/{x['dropped']}" for x in r["runs"])
        print(f"| 1x, canvas {side} px: frames/s shown / dropped of {exr['frames']} per run | {shown} |")
    print(f"| throughput, every frame (1280 px) | {exr['throughput_1280']['shown_per_s']:.1f} frames/s |")
    for key in ("decode_1280", "decode_full"):
        d = exr[key]
        parts = ", ".join(f"{k} {v:.0f} ms" for k, v in d["ms_per_frame"].items())
        print(f"| decode ceiling at {d['decoded_px']} px | {d['frames_per_s']:.1f} frames/s ({parts}) |")
    for run in exr["ffplay"]:
        print(f"| ffplay | {run if isinstance(run, str) else json.dumps(run)} |")
    print(f"| ffmpeg decode-only | {exr['ffmpeg_decode_fps']:.1f} frames/s "
          f"(1 thread {exr['ffmpeg_decode_fps_1_thread']:.1f}) |")  # fmt: skip
    for name in ("h264", "exr"):
        n = notes[name]
        print(f"| note click -> frame_shown / painted, {name}, median p95 | "
              f"{n['to_frame_shown_ms_median']:.0f}/{n['to_frame_shown_ms_p95']:.0f} ms, "
              f"{n['to_painted_ms_median']:.0f}/{n['to_painted_ms_p95']:.0f} ms |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--seeks", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "playback")
    parser.add_argument("--exr-frames", type=int, default=96)
    parser.add_argument(
        "--exr-dir", type=Path, default=Path(tempfile.gettempdir()) / "stratopipe_bench_exr"
    )  # ~700 MB: kept out of bench/out
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--only", choices=("all", "h264", "exr"), default="all",
        help="h264: the 1080p rows; exr: the EXR and note-click rows (merged into results.json)",
    )  # fmt: skip
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    clip = make_clip(args.out, args.seconds)
    _app()
    saved = args.out / "results.json"
    results: dict[str, Any] = json.loads(saved.read_text()) if saved.is_file() else {}
    results.update({"clip": str(clip), "cpus": os.cpu_count()})
    if args.only in ("all", "exr"):
        exr_and_notes(args, clip, results)
        saved.write_text(json.dumps(results, indent=2))
        print_exr(results)
    if args.only == "exr":
        return
    results["sustained_1280"] = sustained(clip, 1280)
    results["sustained_1080p"] = sustained(clip, 1920)
    results["throughput_1280"] = throughput(clip, 1280)
    results["throughput_1080p"] = throughput(clip, 1920)
    ours = seeks(clip, args.seeks, 1280)
    results["seek_ms"] = {"median": statistics.median(ours), "p95": _p95(ours)}
    results["ffplay"] = ffplay(clip)
    results["mpv"] = mpv(clip)
    results["ffmpeg_decode_fps"] = ffmpeg_decode(clip)
    theirs = ffmpeg_seeks(clip, min(args.seeks, 15), args.seconds * FPS)
    results["ffmpeg_seek_ms"] = {"median": statistics.median(theirs), "p95": _p95(theirs)}
    (args.out / "results.json").write_text(json.dumps(results, indent=2))

    def row(what: str, value: str) -> None:
        print(f"| {what} | {value} |")

    print(f"\n1080p H.264 + AAC, {args.seconds} s at {FPS} fps, {os.cpu_count()} CPUs\n")
    print("| what | measured |\n|---|---|")
    for key in ("sustained_1280", "sustained_1080p"):
        r = results[key]
        row(
            f"1x with sound, decoded at {r['decoded_px']} px",
            f"{r['shown_per_s']:.1f} frames/s shown, {r['dropped']} of {r['frames']} dropped, "
            f"picture-sound offset median/p95/worst {r['offset_ms_median']:.0f}/{r['offset_ms_p95']:.0f}/"
            f"{r['offset_ms_worst']:.0f} ms, {r['sound_underruns']} sound underruns",
        )
    r = results["throughput_1280"]
    row(
        "decode-to-display, every frame in order as fast as it comes (1280 px)",
        f"{r['shown_per_s']:.0f} frames/s",
    )
    row("same at full 1080p", f"{results['throughput_1080p']['shown_per_s']:.0f} frames/s")
    row(
        "seek to frame on screen (paused), median / p95",
        "{median:.0f} / {p95:.0f} ms".format(**results["seek_ms"]),
    )
    anchor = results["ffplay"]
    row(
        "ffplay, same file (1920x1080 window)",
        anchor if isinstance(anchor, str) else f"{anchor['dropped']} dropped, {anchor['wall_s']:.1f} s wall",
    )
    row("mpv", results["mpv"] if isinstance(results["mpv"], str) else json.dumps(results["mpv"]))
    row("ffmpeg decode-only (-f null)", f"{results['ffmpeg_decode_fps']:.0f} frames/s")
    row(
        "ffmpeg -ss seek, a process each, median / p95",
        "{median:.0f} / {p95:.0f} ms".format(**results["ffmpeg_seek_ms"]),
    )


if __name__ == "__main__":
    main()
