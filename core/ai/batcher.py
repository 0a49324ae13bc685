"""Cross-file batching: many classify jobs, one forward pass.

The inference lane runs several jobs at once, but only the batcher's own thread runs the model. Each job
reads its file and prepares its picture in its own thread (``InferenceEngine.prepare``: the model's
input tensor and the classical statistics), so the device thread only runs forward passes: it takes the
first waiting request, gathers whatever else arrives within ``max_wait_s`` (up to the engine's batch
size) and classifies them together. Files dropped together are classified together.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.jobs.steps import JobCancelledError

if TYPE_CHECKING:
    import numpy.typing as npt

    from core.ai.classify import ClassificationResult, ClassifyHints
    from core.ai.inference import InferenceEngine
    from core.ai.prepared import PreparedImage
    from core.jobs.steps import CancelToken

log = logging.getLogger(__name__)

DEFAULT_MAX_WAIT_S = 0.02
# Inference jobs a lane runs at once on this machine: they read and prepare images side by side while
# this batcher's one thread runs the model (the app's and the CLI's lanes).
INFERENCE_JOBS_IN_FLIGHT = 4


@dataclass
class _Request:
    image: PreparedImage
    future: Future[ClassificationResult]


class ClassifyBatcher:
    def __init__(self, engine: InferenceEngine, *, max_wait_s: float = DEFAULT_MAX_WAIT_S) -> None:
        self.engine = engine
        self.max_wait_s = max_wait_s
        self.batch_sizes: list[int] = []  # recent batch sizes, for the benchmark and the log
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="inference-device", daemon=True)
        self._thread.start()

    def classify(
        self,
        image: npt.NDArray[Any],
        hints: ClassifyHints | None = None,
        cancel: CancelToken | None = None,
    ) -> ClassificationResult:
        """Prepare one image here, queue it and wait for its result (cancellable while it waits)."""
        request = _Request(self.engine.prepare(image, hints), Future())
        self._queue.put(request)
        while True:
            if cancel is not None and cancel.cancelled:
                request.future.cancel()
                raise JobCancelledError
            try:
                return request.future.result(timeout=0.05)
            except TimeoutError:
                continue

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.engine.batch_size:
                try:
                    more = self._queue.get(timeout=self.max_wait_s)
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[_Request]) -> None:
        live = [r for r in batch if r.future.set_running_or_notify_cancel()]
        if not live:
            return
        self.batch_sizes = [*self.batch_sizes[-99:], len(live)]
        try:
            results = self.engine.classify_prepared([r.image for r in live])
        except Exception as exc:
            log.exception("Batched classification of %d image(s) failed", len(live))
            for request in live:
                request.future.set_exception(exc)
            return
        for request, result in zip(live, results, strict=True):
            request.future.set_result(result)
