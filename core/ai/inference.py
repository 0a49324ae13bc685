"""The one inference engine that owns the device.

The app creates a single :class:`InferenceEngine` (one worker thread owns the GPU, per the design) and
hands it to the AI steps; a step run alone (CLI, tests) makes its own. Models are loaded lazily on
first use, checksum-verified, and kept. A model that cannot be used is remembered with its reason so
every later call goes straight to the classical path with that reason in its note.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from core.ai.classify import ClassificationResult, ClassifyHints, as_rgb_uint8, classify_classical
from core.ai.models import ModelEntry, ModelError, ModelTask, load_manifest, load_model

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt
    import torch
    from torch import nn

    from core.ai.device import DeviceChoice
    from core.jobs.steps import CancelToken

log = logging.getLogger(__name__)

MAX_BATCH_SIZE = 1024
ENHANCE_TILE = 256
ENHANCE_TILE_PAD = 16  # covers the receptive field of small SR networks so tiles join seamlessly


class InferenceEngine:
    """Runs models from one model directory on one device; thread-safe, one forward at a time."""

    def __init__(
        self,
        device_choice: DeviceChoice,
        model_dir: Path | None,
        *,
        batch_size: int = 8,
        allow_fetch: bool = True,
        fetch_progress: Callable[[float], None] | None = None,
    ) -> None:
        self.device_choice = device_choice
        self.model_dir = model_dir
        self.allow_fetch = allow_fetch
        self.fetch_progress = fetch_progress
        self._batch_size = 1
        self.batch_size = batch_size
        self._lock = threading.RLock()
        self._entries: list[ModelEntry] | None = None
        self._manifest_problem = ""
        self._models: dict[str, nn.Module] = {}
        self._unusable: dict[str, str] = {}

    @property
    def device(self) -> str:
        return self.device_choice.device

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        if not 1 <= value <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, got {value}")
        self._batch_size = value

    def entries(self) -> list[ModelEntry]:
        """The manifest's models; a broken manifest is logged once and treated as no models."""
        with self._lock:
            if self._entries is None:
                self._entries = []
                if self.model_dir is not None:
                    try:
                        self._entries = load_manifest(self.model_dir)
                    except ModelError as exc:
                        self._manifest_problem = str(exc)
                        log.warning("%s; classical methods will be used", exc)
            return list(self._entries)

    def entry_for(self, task: ModelTask) -> ModelEntry | None:
        return next((entry for entry in self.entries() if entry.task == task), None)

    def model_for(self, task: ModelTask) -> tuple[ModelEntry, nn.Module] | str:
        """The loaded model for ``task``, or the reason there is none (for the result's note)."""
        entry = self.entry_for(task)
        if entry is None:
            return self._manifest_problem or f"no {task} model in the manifest"
        with self._lock:
            if entry.name in self._unusable:
                return self._unusable[entry.name]
            module = self._models.get(entry.name)
            if module is None:
                assert self.model_dir is not None  # entries exist only with a model dir
                try:
                    module = load_model(
                        entry,
                        self.model_dir,
                        self.device,
                        self.fetch_progress,
                        allow_fetch=self.allow_fetch,
                    )
                except ModelError as exc:
                    self._unusable[entry.name] = str(exc)
                    log.warning("%s; using the classical fallback", exc)
                    return str(exc)
                if self.device_choice.fp16:
                    module = module.half()
                self._models[entry.name] = module
            return entry, module

    def _mark_unusable(self, entry: ModelEntry, reason: str) -> str:
        with self._lock:
            self._unusable[entry.name] = reason
            self._models.pop(entry.name, None)
        log.warning("%s; using the classical fallback", reason)
        return reason

    # -- tensors --------------------------------------------------------------------------------

    def _to_input(self, batch: npt.NDArray[np.float32]) -> torch.Tensor:
        import torch

        tensor = torch.from_numpy(batch).to(self.device)
        return tensor.half() if self.device_choice.fp16 else tensor

    # -- classification -------------------------------------------------------------------------

    def classify_batch(
        self,
        images: Sequence[npt.NDArray[Any]],
        hints: Sequence[ClassifyHints | None] | None = None,
        *,
        cancel: CancelToken | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> list[ClassificationResult]:
        """Categorise many images, ``batch_size`` at a time in one forward pass each.

        Cancellation is checked between batches. Without a usable model every image goes through
        the classical classifier and the result says why.
        """
        if hints is not None and len(hints) != len(images):
            raise ValueError("hints must have one entry per image")
        loaded = self.model_for("classify")
        results: list[ClassificationResult] = []
        total = len(images)
        for start in range(0, total, self.batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            chunk = images[start : start + self.batch_size]
            chunk_hints = list(hints[start : start + self.batch_size]) if hints else [None] * len(chunk)
            if isinstance(loaded, tuple):
                try:
                    results.extend(self._classify_with_model(loaded[0], loaded[1], chunk))
                except ModelError as exc:
                    loaded = self._mark_unusable(loaded[0], str(exc))
            if isinstance(loaded, str):
                results.extend(
                    _with_note(classify_classical(image, hint), loaded)
                    for image, hint in zip(chunk, chunk_hints, strict=True)
                )
            if progress is not None:
                progress(len(results) / total)
        return results

    def _classify_with_model(
        self, entry: ModelEntry, module: nn.Module, images: Sequence[npt.NDArray[Any]]
    ) -> list[ClassificationResult]:
        import numpy as np
        import torch

        batch = np.stack([_preprocess(image, entry) for image in images])
        with self._lock, torch.inference_mode():
            try:
                logits = module(self._to_input(batch))
            except RuntimeError as exc:
                raise ModelError(f"model {entry.name} failed on this input: {exc}") from exc
        if not isinstance(logits, torch.Tensor) or logits.shape != (len(images), len(entry.labels)):
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
            raise ModelError(
                f"model {entry.name} returned {shape}, expected "
                f"({len(images)}, {len(entry.labels)}) for its {len(entry.labels)} labels"
            )
        probabilities = torch.softmax(logits.float(), dim=1)
        top = torch.topk(probabilities, k=min(3, len(entry.labels)), dim=1)
        values, indices = top.values.cpu().numpy(), top.indices.cpu().numpy()
        path = f"model:{entry.name}"
        return [
            ClassificationResult(
                categories=[
                    (entry.labels[int(i)], round(float(v), 4))
                    for v, i in zip(row_values, row_indices, strict=True)
                ],
                path=path,
                model=entry.name,
                device=self.device,
            )
            for row_values, row_indices in zip(values, indices, strict=True)
        ]

    # -- detection ------------------------------------------------------------------------------

    def detect(self, image: npt.NDArray[Any]) -> tuple[ModelEntry, npt.NDArray[np.float32]] | str:
        """Raw detector output for one image: a heat map (h, w) or boxes (k, 5), or why none."""
        import torch

        loaded = self.model_for("detect")
        if isinstance(loaded, str):
            return loaded
        entry, module = loaded
        batch = _preprocess(image, entry)[None]
        with self._lock, torch.inference_mode():
            try:
                output = module(self._to_input(batch))
            except RuntimeError as exc:
                return self._mark_unusable(entry, f"model {entry.name} failed: {exc}")
        if not isinstance(output, torch.Tensor):
            return self._mark_unusable(entry, f"model {entry.name} returned {type(output)}")
        array = output.float().cpu().numpy()
        if array.ndim == 4 and array.shape[:2] == (1, 1):
            return entry, array[0, 0]
        if array.ndim == 3 and array.shape[0] == 1 and array.shape[2] == 5:
            return entry, array[0]
        return self._mark_unusable(
            entry,
            f"model {entry.name} returned shape {array.shape}; a detector must return a heat map "
            "(1, 1, h, w) or boxes (1, k, 5)",
        )

    # -- enhancement ----------------------------------------------------------------------------

    def enhance(
        self, image: npt.NDArray[Any], *, cancel: CancelToken | None = None
    ) -> tuple[ModelEntry, npt.NDArray[np.uint8], int] | str:
        """Run the enhance model tile by tile (bounded memory); returns (entry, image, scale)."""
        import numpy as np

        loaded = self.model_for("enhance")
        if isinstance(loaded, str):
            return loaded
        entry, module = loaded
        rgb = as_rgb_uint8(image)
        mean = np.asarray(entry.mean, np.float32)
        std = np.asarray(entry.std, np.float32)
        normalised = (rgb.astype(np.float32) / 255.0 - mean) / std
        height, width = rgb.shape[:2]
        output: npt.NDArray[np.float32] | None = None
        scale = 0
        for top in range(0, height, ENHANCE_TILE):
            for left in range(0, width, ENHANCE_TILE):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                bottom, right = min(top + ENHANCE_TILE, height), min(left + ENHANCE_TILE, width)
                pad_top, pad_left = max(0, top - ENHANCE_TILE_PAD), max(0, left - ENHANCE_TILE_PAD)
                pad_bottom = min(height, bottom + ENHANCE_TILE_PAD)
                pad_right = min(width, right + ENHANCE_TILE_PAD)
                tile = normalised[pad_top:pad_bottom, pad_left:pad_right].transpose(2, 0, 1)
                try:
                    result = self._run_enhance_tile(entry, module, np.ascontiguousarray(tile))
                except ModelError as exc:
                    return self._mark_unusable(entry, str(exc))
                tile_scale = result.shape[1] // tile.shape[1]
                if scale == 0:
                    scale = tile_scale
                    if scale < 1 or result.shape[1:] != (tile.shape[1] * scale, tile.shape[2] * scale):
                        return self._mark_unusable(
                            entry,
                            f"model {entry.name} returned {result.shape} for a {tile.shape} tile; "
                            "an enhance model must return the image at an integer scale",
                        )
                    output = np.zeros((height * scale, width * scale, 3), np.float32)
                assert output is not None
                inner = result[
                    :,
                    (top - pad_top) * scale : (bottom - pad_top) * scale,
                    (left - pad_left) * scale : (right - pad_left) * scale,
                ]
                output[top * scale : bottom * scale, left * scale : right * scale] = inner.transpose(1, 2, 0)
        assert output is not None
        restored = np.clip((output * std + mean) * 255.0 + 0.5, 0.0, 255.0).astype(np.uint8)
        return entry, restored, scale

    def _run_enhance_tile(
        self, entry: ModelEntry, module: nn.Module, tile: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        import torch

        with self._lock, torch.inference_mode():
            try:
                output = module(self._to_input(tile[None]))
            except RuntimeError as exc:
                raise ModelError(f"model {entry.name} failed: {exc}") from exc
        if not isinstance(output, torch.Tensor) or output.ndim != 4 or output.shape[:2] != (1, 3):
            raise ModelError(f"model {entry.name} did not return a (1, 3, H, W) image")
        result: npt.NDArray[np.float32] = output[0].float().cpu().numpy()
        return result


def _preprocess(image: npt.NDArray[Any], entry: ModelEntry) -> npt.NDArray[np.float32]:
    """RGB uint8 → resized, normalised CHW float32 as the manifest describes."""
    import cv2
    import numpy as np

    rgb = as_rgb_uint8(image)
    width, height = entry.input_size
    if rgb.shape[:2] != (height, width):
        shrinking = rgb.shape[0] > height or rgb.shape[1] > width
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        rgb = np.asarray(cv2.resize(rgb, (width, height), interpolation=interpolation), np.uint8)
    scaled = rgb.astype(np.float32) / 255.0
    normalised = (scaled - np.asarray(entry.mean, np.float32)) / np.asarray(entry.std, np.float32)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1))


def _with_note(result: ClassificationResult, note: str) -> ClassificationResult:
    return ClassificationResult(
        categories=result.categories,
        path=result.path,
        model=result.model,
        device=result.device,
        note=note,
    )
