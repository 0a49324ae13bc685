"""Subject tags from an ImageNet-1k classifier, grouped for artists, and which tags are confident.

The 1000 ImageNet classes and the artist group of each (people, animals, vehicles, architecture,
nature/landscape, food, clothing, objects) come from ``resources/models/imagenet_groups.json``, made
by ``installers/build_imagenet_groups.py`` from WordNet 3.0. A group's confidence is the sum of its
classes' probabilities: a cat photo splits its probability between "tabby", "tiger cat" and
"Egyptian cat", yet "animals" gets all of it, so the group is often confident when no label is.

Whether a tag counts (is stored as a catalog tag and shown in the sidebar counts) is decided here
with per-category thresholds from ``resources/models/confidence_thresholds.json``, calibrated on
the labelled evaluation set (``resources/models/eval_set.json``, ``core/ai/evaluate.py``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.child_process import resources_dir

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

    from core.ai.classify import ClassificationResult

RESOURCES = resources_dir() / "models"
GROUPS_FILE = RESOURCES / "imagenet_groups.json"
THRESHOLDS_FILE = RESOURCES / "confidence_thresholds.json"
IMAGENET_CLASSES = 1000
# How many candidates of each kind a job keeps (confident or not): enough to show "what else it
# might be" when the artist asks, without storing a long tail of 0.1% guesses.
TOP_GROUPS = 3
TOP_LABELS = 5


@dataclass(frozen=True)
class ImageNetClasses:
    labels: tuple[str, ...]
    groups: tuple[str, ...]  # the group of each class
    group_names: tuple[str, ...]


@functools.cache
def imagenet_classes() -> ImageNetClasses:
    document = json.loads(GROUPS_FILE.read_text(encoding="utf-8"))
    classes = document["classes"]
    if len(classes) != IMAGENET_CLASSES:
        raise ValueError(f"{GROUPS_FILE.name} lists {len(classes)} classes, expected {IMAGENET_CLASSES}")
    return ImageNetClasses(
        labels=tuple(c["label"] for c in classes),
        groups=tuple(c["group"] for c in classes),
        group_names=tuple(document["groups"]),
    )


@dataclass(frozen=True)
class ConfidenceThresholds:
    """Per-tag minimum confidence; anything below is a hidden guess."""

    kinds: dict[str, float]
    groups: dict[str, float]
    label: float
    default: float

    def minimum(self, tag: Tag) -> float:
        if tag.kind == "group":
            return self.groups.get(tag.name, self.default)
        if tag.kind == "label":
            return self.label
        return self.kinds.get(tag.name, self.default)


@functools.cache
def confidence_thresholds() -> ConfidenceThresholds:
    document: dict[str, Any] = json.loads(THRESHOLDS_FILE.read_text(encoding="utf-8"))
    return ConfidenceThresholds(
        kinds={str(k): float(v) for k, v in document["kinds"].items()},
        groups={str(k): float(v) for k, v in document["groups"].items()},
        label=float(document["label"]),
        default=float(document["default"]),
    )


@dataclass(frozen=True)
class Tag:
    """One candidate tag: a catalog kind ("photograph"), a subject group ("animals") or a specific
    label ("animals/tabby", named under its group so the sidebar sorts it there)."""

    name: str
    confidence: float
    kind: str  # "kind" | "group" | "label"
    confident: bool = False

    def as_output(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": round(self.confidence, 4), "kind": self.kind}


def subject_candidates(probabilities: npt.NDArray[np.float32]) -> list[Tag]:
    """The top groups and labels of one image's (or clip's) 1000 class probabilities."""
    import numpy as np

    classes = imagenet_classes()
    group_of = np.asarray([classes.group_names.index(g) for g in classes.groups])
    group_scores = np.bincount(group_of, weights=probabilities, minlength=len(classes.group_names))
    tags = [
        Tag(classes.group_names[int(i)], float(group_scores[i]), "group")
        for i in np.argsort(group_scores)[::-1][:TOP_GROUPS]
    ]
    tags += [
        Tag(f"{classes.groups[int(i)]}/{classes.labels[int(i)]}", float(probabilities[i]), "label")
        for i in np.argsort(probabilities)[::-1][:TOP_LABELS]
    ]
    return tags


def mean_result(results: Sequence[ClassificationResult]) -> ClassificationResult:
    """Several frames of one clip as one result: kind confidences and class probabilities averaged.

    Averaging probabilities (not votes) lets a subject seen clearly in two of five frames still
    win over noise spread across the others.
    """
    import dataclasses

    import numpy as np

    if len(results) == 1:
        return results[0]
    totals: dict[str, float] = {}
    for result in results:
        for name, confidence in result.categories:
            totals[name] = totals.get(name, 0.0) + confidence
    categories = sorted(((n, round(c / len(results), 4)) for n, c in totals.items()), key=lambda t: -t[1])
    probabilities = [r.subject_probabilities for r in results if r.subject_probabilities is not None]
    return dataclasses.replace(
        results[0],
        categories=categories[: len(results[0].categories)],
        subject_probabilities=np.mean(probabilities, axis=0) if probabilities else None,
    )


def tags_for(result: ClassificationResult, thresholds: ConfidenceThresholds | None = None) -> list[Tag]:
    """Every candidate tag of a result, each marked confident or not, most confident first."""
    limits = thresholds or confidence_thresholds()
    candidates = [Tag(name, confidence, "kind") for name, confidence in result.categories]
    if result.subject_probabilities is not None:
        candidates += subject_candidates(result.subject_probabilities)
    return [
        Tag(t.name, t.confidence, t.kind, confident=t.confidence >= limits.minimum(t)) for t in candidates
    ]
