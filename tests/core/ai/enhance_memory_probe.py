"""Child process for the enhancement memory test: ``python -m tests.core.ai.enhance_memory_probe W H N``.

Enhances a W x H photograph-like image x2 with the built-in Real-ESRGAN model on the CPU, stops
after N tiles (a cancel, as a user would), and prints its peak memory as JSON: this process (input,
output, tiling) and its reaped children (the ncnn runtime), from ``resource.getrusage``.
"""

from __future__ import annotations

import json
import resource
import sys

import numpy as np

from core.ai.device import DeviceCapabilities, choose_device
from core.ai.inference import InferenceEngine
from core.jobs.steps import CancelToken, JobCancelledError


def main() -> None:
    width, height, budget = (int(arg) for arg in sys.argv[1:4])
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rng = np.random.default_rng(0)
    # A gradient with noise, so the network does real work on every tile; made in bands of rows so
    # that making it does not itself raise the peak being measured.
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    image = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, 64):
        band = image[top : top + 64]
        noise = rng.normal(0, 20, band.shape).astype(np.float32)
        band[:] = np.clip(ramp + noise, 0, 255).astype(np.uint8)
    engine = InferenceEngine(choose_device("cpu", DeviceCapabilities("probe")), None)
    cancel = CancelToken()
    tiles = engine.enhance_tiles(image, scale=2, cancel=cancel)
    reached = total = 0
    outcome = "finished"
    try:
        while True:
            progress = next(tiles)
            reached, total = progress.done, progress.total
            if reached == budget:
                cancel.cancel()
    except StopIteration as stop:
        if isinstance(stop.value, str):
            outcome = f"no model: {stop.value}"
    except JobCancelledError:
        outcome = "cancelled"
    engine.close()  # reaps the ncnn child, so RUSAGE_CHILDREN holds its peak
    print(
        json.dumps(
            {
                "outcome": outcome,
                "tiles": reached,
                "total_tiles": total,
                "baseline_bytes": baseline,
                "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "runtime_peak_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
                "input_bytes": image.nbytes,
                "output_bytes": image.nbytes * 4,
            }
        )
    )


if __name__ == "__main__":
    main()
