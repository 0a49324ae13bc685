"""The kind head: artist categories from the subject model's embedding plus the classical statistics.

MobileNetV2's pooled last-layer features (1280 numbers, see core/ai/mobilenet.py) already come out
of the forward pass that gives the subject probabilities, so the head costs one small matrix product
per image and no second pass. The classical statistics (core/ai/classify.py) are added because they
see what ImageNet features blur away: exact flat fills, sensor noise, tiling seams, the 2:1 frame.
The head is a multinomial logistic regression trained by ``python -m core.ai.train_kinds``; its
weights, labels and the feature standardisation live in one .npz file read with
``allow_pickle=False`` (numbers only, no code), checksum-verified through its manifest entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.ai.classify import (
    CLASSICAL_CATEGORIES,
    HDR_PANORAMA,
    MODEL_RENDER,
    TOP_K,
    ClassificationResult,
    ClassifyHints,
    ImageFeatures,
    as_rgb_uint8,
    complete_hints,
    measure_features,
)
from core.ai.models import ModelEntry, ModelError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt

    from core.ai.prepared import PreparedImage

# 3d-model/render is not learnt: it is a fact about the source file (a mesh), added from the hints.
HEAD_KINDS = tuple(kind for kind in CLASSICAL_CATEGORIES if kind != MODEL_RENDER)
EMBEDDING_SIZE = 1280
CLASSICAL_FEATURES = (
    "chroma",
    "white_fraction",
    "ink_fraction",
    "flat_fraction",
    "log_fine_noise",
    "log_colour_count",
    "colour_spread",
    "axis_edge_fraction",
    "straight_edge_fraction",
    "edge_fraction",
    "text_rows",
    "log_stroke_width",
    "normal_fraction",
    "mean_blue",
    "log_tile_seam_ratio",
    "nonstationarity",
    "log_aspect",
)
PANORAMA_ASPECT_TOLERANCE = 0.15


def classical_vector(
    image: npt.NDArray[np.generic], hints: ClassifyHints | None = None
) -> npt.NDArray[np.float32]:
    """The classical statistics in CLASSICAL_FEATURES order; heavy-tailed ones on a log scale so a
    standardised value means about the same across images."""
    rgb = as_rgb_uint8(image)
    return classical_vector_of(measure_features(rgb), complete_hints(rgb, hints))


def classical_vector_of(f: ImageFeatures, hints: ClassifyHints) -> npt.NDArray[np.float32]:
    """:func:`classical_vector` from statistics already measured (``hints`` with the picture's size)."""
    import numpy as np

    width, height = hints.width or 1, hints.height or 1
    values = (
        f.chroma,
        f.white_fraction,
        f.ink_fraction,
        f.flat_fraction,
        math.log(f.fine_noise + 0.05),
        math.log(f.colour_count + 1e-4),
        f.colour_spread,
        f.axis_edge_fraction,
        f.straight_edge_fraction,
        f.edge_fraction,
        float(min(f.text_rows, 40)),
        math.log(f.stroke_width + 0.5),
        f.normal_fraction,
        f.mean_blue,
        math.log(min(f.tile_seam_ratio, 100.0) + 0.05),
        f.nonstationarity,
        math.log(width / height),
    )
    return np.asarray(values, np.float32)


@dataclass(frozen=True)
class KindHead:
    entry: ModelEntry
    labels: tuple[str, ...]
    mean: npt.NDArray[np.float32]  # (D,) of [embedding, classical]
    std: npt.NDArray[np.float32]
    weight: npt.NDArray[np.float32]  # (K, D)
    bias: npt.NDArray[np.float32]  # (K,)

    def probabilities(
        self, embeddings: npt.NDArray[np.float32], classical: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Softmax over the head's kinds for (N, 1280) embeddings and (N, 17) classical vectors."""
        import numpy as np

        features = np.concatenate([embeddings.astype(np.float32), classical.astype(np.float32)], axis=1)
        logits = ((features - self.mean) / self.std) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        result: npt.NDArray[np.float32] = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return result

    def classify(
        self,
        images: Sequence[PreparedImage],
        embeddings: npt.NDArray[np.float32],
        device: str,
        note: str = "",
    ) -> list[ClassificationResult]:
        """Results for images whose embeddings came out of the subject model's forward pass."""
        import numpy as np

        completed = [image.hints for image in images]
        classical = np.stack([classical_vector_of(image.features, image.hints) for image in images])
        rows = self.probabilities(embeddings, classical)
        return [
            ClassificationResult(
                categories=self.categories(row, hint),
                path=f"model:{self.entry.name}",
                model=self.entry.name,
                device=device,
                note=note,
            )
            for row, hint in zip(rows, completed, strict=True)
        ]

    def categories(
        self, row: npt.NDArray[np.float32], hints: ClassifyHints | None
    ) -> list[tuple[str, float]]:
        """Top kinds of one image with the facts the hints state put first (certain, 1.0)."""
        import numpy as np

        order = np.argsort(row)[::-1]
        ranked = [(self.labels[int(i)], round(float(row[int(i)]), 4)) for i in order]
        fact = _fact_from_hints(hints)
        if fact is not None:
            ranked = [(fact, 1.0), *[item for item in ranked if item[0] != fact]]
        return ranked[:TOP_K]


def _fact_from_hints(hints: ClassifyHints | None) -> str | None:
    """Kinds known from the file rather than guessed from pixels (as classify_classical uses them)."""
    if hints is None:
        return None
    if hints.source_kind == "geometry":
        return MODEL_RENDER
    two_to_one = bool(hints.width and hints.height) and (
        abs((hints.width or 0) / (hints.height or 1) - 2.0) <= PANORAMA_ASPECT_TOLERANCE
    )
    return HDR_PANORAMA if hints.is_float_hdr and two_to_one else None


def save_kind_head(
    path: Path,
    labels: Sequence[str],
    mean: npt.NDArray[np.float32],
    std: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    bias: npt.NDArray[np.float32],
) -> None:
    """Write the head as the .npz :func:`load_kind_head` reads (the build script's output)."""
    import numpy as np

    with path.open("wb") as handle:
        np.savez(
            handle,
            labels=np.asarray(labels),
            classical_features=np.asarray(CLASSICAL_FEATURES),
            mean=mean.astype(np.float32),
            std=std.astype(np.float32),
            weight=weight.astype(np.float32),
            bias=bias.astype(np.float32),
        )


def load_kind_head(entry: ModelEntry, path: Path) -> KindHead:
    """Read a verified head file; a file that does not fit this code is a ModelError, not a crash."""
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {
                name: data[name] for name in ("labels", "classical_features", "mean", "std", "weight", "bias")
            }
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(f"model {entry.name} cannot be read from {path.name}: {exc}") from exc
    labels = tuple(str(label) for label in arrays["labels"])
    width = EMBEDDING_SIZE + len(CLASSICAL_FEATURES)
    problems = []
    if tuple(str(name) for name in arrays["classical_features"]) != CLASSICAL_FEATURES:
        problems.append("it was trained on other classical features")
    if entry.labels and labels != entry.labels:
        problems.append(f"its kinds {labels} are not the manifest's {entry.labels}")
    if arrays["weight"].shape != (len(labels), width) or arrays["bias"].shape != (len(labels),):
        problems.append(f"its weights are {arrays['weight'].shape}, expected ({len(labels)}, {width})")
    if arrays["mean"].shape != (width,) or arrays["std"].shape != (width,) or (arrays["std"] <= 0).any():
        problems.append("its feature standardisation is malformed")
    if problems:
        raise ModelError(f"model {entry.name} does not fit this version of StratoPipe: {'; '.join(problems)}")
    return KindHead(
        entry,
        labels,
        arrays["mean"].astype(np.float32),
        arrays["std"].astype(np.float32),
        arrays["weight"].astype(np.float32),
        arrays["bias"].astype(np.float32),
    )
