"""AI layer throughput: classify (model and classical), focus crop, enhance; batch-size curve.

Run: .venv/bin/python bench/bench_ai.py [--images 64] [--out bench/out/ai.json]
Models are tiny architectures with seeded weights written to a temporary model dir, so the figures
measure the real load/preprocess/forward path, not the quality of any trained network.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
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
from core.ai.models import entry_for_file, write_manifest  # noqa: E402
from tests.core.ai import imagegen  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

BATCH_SIZES = (1, 2, 4, 8, 16, 32)
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


def run(images_count: int, out: Path) -> dict[str, Any]:
    images = [imagegen.photo_scene(i, 640, 480) for i in range(images_count)]
    caps = DeviceCapabilities(torch_version=torch.__version__)
    devices = [choose_device("cpu", caps)]
    if torch.cuda.is_available():
        devices.append(choose_device("cuda"))
    results: dict[str, Any] = {"device_info": describe_device(), "images": images_count, "rows": []}
    rows: list[dict[str, Any]] = results["rows"]
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
            engine = InferenceEngine(choice, model_dir)
            for batch_size in BATCH_SIZES:
                engine.batch_size = batch_size
                rate = _rate(len(images), lambda e=engine: e.classify_batch(images), repeat=2)
                rows.append(
                    {
                        "task": "classify",
                        "path": "model:bench-cls",
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
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "ai.json")
    args = parser.parse_args()
    results = run(args.images, args.out)
    info = results["device_info"]
    print(f"torch {info['torch_version']}, CUDA {info['cuda_available']}, images 640x480")
    print(f"{'task':<11} {'path':<32} {'device':<7} {'batch':>5} {'images/s':>10}")
    for row in results["rows"]:
        batch = str(row.get("batch_size", "-"))
        print(
            f"{row['task']:<11} {row['path']:<32} {row['device']:<7} {batch:>5} {row['images_per_s']:>10.1f}"
        )
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    main()
