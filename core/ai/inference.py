"""The one inference engine that owns the device.

The app creates a single :class:`InferenceEngine` (one worker thread owns the GPU, per the design) and
hands it to the AI steps; a step run alone (CLI, tests) makes its own. Which models there are, and
their loading, is the registry's (``core.ai.model_registry``); running them is this module's.

Kinds come from, in order: a studio "classify" model; else the built-in kind head fed by the same
forward pass that gives the subject probabilities (its pooled features); else the classical rules.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.ai.classify import ClassificationResult, ClassifyHints, as_rgb_uint8, classical_result
from core.ai.kind_head import KindHead
from core.ai.model_registry import ModelRegistry
from core.ai.models import ModelEntry, ModelError, ensure_graph_file, ensure_model_file
from core.ai.ncnn_upscaler import NcnnUpscaler
from core.ai.prepared import PreparedImage, model_input, prepare_image
from core.ai.subjects import IMAGENET_CLASSES
from core.ai.upscale import TorchUpscaler, upscale_tiled

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

    import numpy as np
    import numpy.typing as npt
    from torch import nn

    from core.ai.upscale import TileProgress, Upscaler
    from core.jobs.steps import CancelToken

log = logging.getLogger(__name__)


class InferenceEngine(ModelRegistry):
    """Runs the registry's models on its device; thread-safe, one forward at a time."""

    # -- classification -------------------------------------------------------------------------

    def prepare(self, image: npt.NDArray[Any], hints: ClassifyHints | None = None) -> PreparedImage:
        """What ``classify_prepared`` needs of one picture, made without the device: safe to call
        from many threads at once (the inference lane's jobs do, while the batcher runs the model)."""
        return prepare_image(image, hints, self.entry_for("subjects"))

    def classify_batch(
        self,
        images: Sequence[npt.NDArray[Any]],
        hints: Sequence[ClassifyHints | None] | None = None,
        *,
        cancel: CancelToken | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> list[ClassificationResult]:
        """Categorise many images, ``batch_size`` at a time in one forward pass each (each batch
        prepared just before its pass, so memory holds one batch of inputs).

        The subject model's pass gives both the subject probabilities and the embedding the kind
        head reads. Cancellation is checked between batches. Without a usable model every image
        goes through the classical classifier and the result says why.
        """
        if hints is not None and len(hints) != len(images):
            raise ValueError("hints must have one entry per image")
        results: list[ClassificationResult] = []
        total = len(images)
        for start in range(0, total, self.batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            chunk = images[start : start + self.batch_size]
            chunk_hints = hints[start : start + self.batch_size] if hints else [None] * len(chunk)
            prepared = [self.prepare(image, hint) for image, hint in zip(chunk, chunk_hints, strict=True)]
            results.extend(self.classify_prepared(prepared))
            if progress is not None:
                progress(len(results) / total)
        return results

    def classify_prepared(self, images: Sequence[PreparedImage]) -> list[ClassificationResult]:
        """Categorise prepared pictures (``prepare``) in forward passes of ``batch_size``."""
        studio = self.model_for("classify")
        studio_listed = self.entry_for("classify") is not None
        subjects = self.model_for("subjects")
        head = self.kind_head() if isinstance(studio, str) else None
        results: list[ClassificationResult] = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            subject_rows: npt.NDArray[np.float32] | None = None
            embeddings: npt.NDArray[np.float32] | None = None
            if isinstance(subjects, tuple):
                try:
                    inputs = [image.subject_input_for(subjects[0]) for image in chunk]
                    subject_rows, embeddings = self._subject_forward(subjects[0], subjects[1], inputs)
                except ModelError as exc:
                    subjects = self._mark_unusable(subjects[0], str(exc))
            if isinstance(studio, tuple):
                try:
                    kinds = self._classify_with_model(studio[0], studio[1], [image.rgb for image in chunk])
                except ModelError as exc:
                    studio = self._mark_unusable(studio[0], str(exc))
                    head = self.kind_head()
            if isinstance(studio, str):
                # A studio model that is listed but failed is worth a note even when the head ran.
                note = studio if studio_listed else ""
                kinds = self._kinds_without_studio_model(chunk, head, embeddings, subjects, note)
            if subject_rows is not None and isinstance(subjects, tuple):
                kinds = [
                    dataclasses.replace(
                        result, subject_probabilities=row, subject_model=subjects[0].description
                    )
                    for result, row in zip(kinds, subject_rows, strict=True)
                ]
            elif isinstance(subjects, str):
                kinds = [dataclasses.replace(result, subject_note=subjects) for result in kinds]
            results.extend(kinds)
        return results

    def _kinds_without_studio_model(
        self,
        images: Sequence[PreparedImage],
        head: KindHead | str | None,
        embeddings: npt.NDArray[np.float32] | None,
        subjects: tuple[ModelEntry, nn.Module] | str,
        note: str,
    ) -> list[ClassificationResult]:
        """The kind head's categories when it and an embedding are at hand, else the classical ones
        with the reason in the note."""
        if isinstance(head, KindHead) and embeddings is not None:
            return head.classify(images, embeddings, self.device, note)
        if isinstance(head, KindHead):
            why = (
                f"the kind head needs the subject model's embedding: {subjects}"
                if isinstance(subjects, str)
                else f"{subjects[0].name} gives no embedding for the kind head"
            )
        else:
            why = head or ""
        reason = "; ".join(part for part in (note, why) if part)
        return [
            dataclasses.replace(classical_result(image.features, image.hints), note=reason)
            for image in images
        ]

    def subject_embeddings(self, images: Sequence[npt.NDArray[Any]]) -> npt.NDArray[np.float32]:
        """The subject model's pooled features (N, 1280) as classify_batch feeds the kind head: the
        training script reads them through here so training and use see the same preprocessing."""
        import numpy as np

        subjects = self.model_for("subjects")
        if isinstance(subjects, str):
            raise ModelError(subjects)
        parts = []
        for start in range(0, len(images), self.batch_size):
            inputs = [model_input(image, subjects[0]) for image in images[start : start + self.batch_size]]
            _, embeddings = self._subject_forward(subjects[0], subjects[1], inputs)
            if embeddings is None:
                raise ModelError(f"{subjects[0].name} gives no embedding")
            parts.append(embeddings)
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)

    def _subject_forward(
        self, entry: ModelEntry, module: nn.Module, inputs: Sequence[npt.NDArray[np.float32]]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
        """Subject probabilities and, from the same pass, the pooled embedding (None when the
        module is not the built-in MobileNetV2, e.g. a studio's TorchScript subject model), for
        inputs made by ``model_input`` for ``entry``."""
        import numpy as np
        import torch

        batch = np.stack(inputs)
        forward_with_features = getattr(module, "forward_with_features", None)
        if forward_with_features is None:
            return self._forward_batch(entry, module, batch), None
        with self._lock, torch.inference_mode():
            try:
                logits, features = forward_with_features(self._to_input(batch))
            except RuntimeError as exc:
                raise ModelError(f"model {entry.name} failed on this input: {exc}") from exc
            pooled = features.float().mean(dim=(2, 3)).cpu().numpy()
        return self._softmax(entry, logits, len(batch)), np.asarray(pooled, np.float32)

    def _forward_probabilities(
        self, entry: ModelEntry, module: nn.Module, images: Sequence[npt.NDArray[Any]]
    ) -> npt.NDArray[np.float32]:
        """Softmax of one forward pass over ``images``: (N, classes) on the CPU."""
        import numpy as np

        return self._forward_batch(entry, module, np.stack([model_input(image, entry) for image in images]))

    def _forward_batch(
        self, entry: ModelEntry, module: nn.Module, batch: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        import torch

        with self._lock, torch.inference_mode():
            try:
                logits = module(self._to_input(batch))
            except RuntimeError as exc:
                raise ModelError(f"model {entry.name} failed on this input: {exc}") from exc
        return self._softmax(entry, logits, len(batch))

    @staticmethod
    def _softmax(entry: ModelEntry, logits: object, count: int) -> npt.NDArray[np.float32]:
        import torch

        classes = IMAGENET_CLASSES if entry.task == "subjects" else len(entry.labels)
        if not isinstance(logits, torch.Tensor) or logits.shape != (count, classes):
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
            raise ModelError(
                f"model {entry.name} returned {shape}, expected ({count}, {classes}) "
                f"for its {classes} classes"
            )
        result: npt.NDArray[np.float32] = torch.softmax(logits.float(), dim=1).cpu().numpy()
        return result

    def _classify_with_model(
        self, entry: ModelEntry, module: nn.Module, images: Sequence[npt.NDArray[Any]]
    ) -> list[ClassificationResult]:
        import numpy as np

        probabilities = self._forward_probabilities(entry, module, images)
        indices = np.argsort(probabilities, axis=1)[:, ::-1][:, : min(3, len(entry.labels))]
        values = np.take_along_axis(probabilities, indices, axis=1)
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
        batch = model_input(image, entry)[None]
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

    def subject_activation(self, image: npt.NDArray[Any], max_side: int) -> SubjectActivation | str:
        """The subject model's top class of the whole picture and its class activation map, from one
        forward pass, or why there is none.

        The picture is fed whole with its aspect kept (the network is fully convolutional), not
        the centre crop ``classify_batch`` uses: an off-centre subject must be in view to be found.
        """
        import numpy as np
        import torch

        from core.ai.mobilenet import class_activation_map

        loaded = self.model_for("subjects")
        if isinstance(loaded, str):
            return loaded
        entry, module = loaded
        forward_with_features = getattr(module, "forward_with_features", None)
        if forward_with_features is None:
            return f"{entry.name} gives no class activation map (not a built-in MobileNetV2)"
        height, width = image.shape[:2]
        scale = max_side / max(height, width)
        size = (max(32, round(width * scale)), max(32, round(height * scale)))
        whole = entry.model_copy(update={"input_size": size, "resize": "stretch"})
        batch = model_input(image, whole)[None]
        with self._lock, torch.inference_mode():
            try:
                logits, features = forward_with_features(self._to_input(batch))
            except RuntimeError as exc:
                return self._mark_unusable(entry, f"model {entry.name} failed: {exc}")
            probabilities = torch.softmax(logits[0].float(), dim=0)
            top = int(torch.argmax(probabilities))
            cam = class_activation_map(module, features[0], top).float().cpu().numpy()
        return SubjectActivation(entry, top, float(probabilities[top]), np.asarray(cam, np.float32))

    # -- enhancement ----------------------------------------------------------------------------

    def enhance_tiles(
        self, image: npt.NDArray[Any], *, scale: int | None = None, cancel: CancelToken | None = None
    ) -> Generator[TileProgress, None, Upscaled | str]:
        """Super-resolve tile by tile (bounded memory), yielding after each tile; returns the result
        or why no model ran. The enabled enhance models for ``scale`` are tried in manifest order
        (the model directory's first); one that cannot load or fails hands over to the next."""
        rgb = as_rgb_uint8(image)
        notes: list[str] = []
        for entry in self.entries():
            if entry.task != "enhance" or (scale is not None and entry.scale not in (None, scale)):
                continue
            if entry.name in self.disabled_models:
                notes.append(f"{entry.name} is switched off in Preferences")
                continue
            upscaler = self._upscaler(entry)
            if isinstance(upscaler, str):
                notes.append(upscaler)
                continue
            try:
                output = yield from upscale_tiled(rgb, upscaler, self._lock, cancel=cancel)
            except ModelError as exc:
                notes.append(self._mark_unusable(entry, str(exc)))
                continue
            scaled_by = output.shape[0] // rgb.shape[0]
            return Upscaled(entry, output, scaled_by, upscaler.device, "; ".join(notes))
        wanted = f"x{scale} " if scale is not None else ""
        return "; ".join(notes) or self._manifest_problem or f"no {wanted}enhance model in the manifest"

    def _upscaler(self, entry: ModelEntry) -> Upscaler | str:
        """The warm upscaler for ``entry``, or why it cannot run. Kept until :meth:`close`: another
        job may be between two tiles with it (an ncnn child holds its network's working memory,
        about 370 MB for the x2 network and 1.1 GB for x4plus on the CPU)."""
        with self._lock:
            if entry.name in self._unusable:
                return self._unusable[entry.name]
            known = self._upscalers.get(entry.name)
            if known is not None and known.running:
                return known
            try:
                upscaler = self._load_upscaler(entry)
            except ModelError as exc:
                return self._mark_unusable(entry, str(exc))
            self._upscalers[entry.name] = upscaler
            return upscaler

    def _load_upscaler(self, entry: ModelEntry) -> Upscaler:
        model_dir = self._folder_of(entry)
        if entry.format == "ncnn":
            weights = ensure_model_file(entry, model_dir, allow_fetch=False)
            graph = ensure_graph_file(entry, model_dir)
            return NcnnUpscaler(entry, graph, weights, use_gpu=self.device_choice.preference != "cpu")
        loaded = self._module(entry)
        if isinstance(loaded, str):
            raise ModelError(loaded)
        module = loaded

        def forward(batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
            return self._enhance_forward(entry, module, batch)

        return TorchUpscaler(entry, forward, self.device, self.device != "cpu")

    def _enhance_forward(
        self, entry: ModelEntry, module: nn.Module, batch: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        import torch

        with torch.inference_mode():
            try:
                output = module(self._to_input(batch))
            except RuntimeError as exc:
                raise ModelError(f"model {entry.name} failed: {exc}") from exc
        if not isinstance(output, torch.Tensor) or output.ndim != 4 or output.shape[:2] != (1, 3):
            raise ModelError(f"model {entry.name} did not return a (1, 3, H, W) image")
        result: npt.NDArray[np.float32] = output[0].float().cpu().numpy()
        return result

    def close(self) -> None:
        """Stop the warm upscaler processes (the app's lane closes its engine at exit)."""
        with self._lock:
            upscalers, self._upscalers = list(self._upscalers.values()), {}
        for upscaler in upscalers:
            upscaler.close()


@dataclass(frozen=True)
class SubjectActivation:
    entry: ModelEntry
    class_index: int  # ImageNet class
    probability: float
    cam: npt.NDArray[np.float32]  # (h, w): the picture at 1/32 of the size it was fed


@dataclass(frozen=True)
class Upscaled:
    entry: ModelEntry
    image: npt.NDArray[np.uint8]
    scale: int
    device: str
    note: str  # why the models before it in line did not run
