"""Classify jobs running side by side on the inference lane share forward passes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from core.ai.batcher import ClassifyBatcher
from core.ai.device import choose_device
from core.ai.inference import InferenceEngine
from core.jobs.steps import CancelToken, JobCancelledError
from tests.core.ai import modelkit


def _solid(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.full((32, 32, 3), rgb, dtype=np.uint8)


def test_concurrent_requests_are_batched_and_match_single_results(tmp_path: Path) -> None:
    modelkit.write_colour_classifier(tmp_path)
    engine = InferenceEngine(choose_device("cpu"), tmp_path, batch_size=8)
    batcher = ClassifyBatcher(engine, max_wait_s=0.2)
    colours = [(250, 10, 10), (10, 250, 10), (10, 10, 250), (240, 20, 20)] * 2
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda c: batcher.classify(_solid(c)), colours))
        singles = [engine.classify_batch([_solid(c)])[0] for c in colours]
        assert [r.top for r in results] == [s.top for s in singles]
        assert all(r.path.startswith("model:") for r in results)
        assert max(batcher.batch_sizes) > 1
        assert sum(batcher.batch_sizes) == len(colours)
    finally:
        batcher.close()


def test_a_cancelled_job_stops_waiting(tmp_path: Path) -> None:
    modelkit.write_colour_classifier(tmp_path)
    engine = InferenceEngine(choose_device("cpu"), tmp_path, batch_size=8)
    batcher = ClassifyBatcher(engine)
    release = threading.Event()
    original = engine.classify_prepared

    def slow_batch(*args: object, **kwargs: object) -> object:
        release.wait(5)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    engine.classify_prepared = slow_batch  # type: ignore[method-assign]  # hold the device busy
    cancel = CancelToken()
    try:
        with ThreadPoolExecutor(2) as pool:
            busy = pool.submit(batcher.classify, _solid((1, 2, 3)))
            waiting = pool.submit(batcher.classify, _solid((9, 9, 9)), None, cancel)
            cancel.cancel()
            with pytest.raises(JobCancelledError):
                waiting.result(5)
            release.set()
            assert busy.result(5).categories
    finally:
        release.set()
        batcher.close()
