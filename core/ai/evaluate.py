"""Measure the subject classifier on the labelled photographs, and calibrate the tag thresholds.

``resources/models/eval_set.json`` lists real photographs that ship inside Python and Debian
packages, each labelled by hand with its artist category (kind), the artist groups and the ImageNet
classes that are right for it. A Python package's file is found where the package is installed; a
Debian package's file at its installed path, else under the folder where ``installers/bootstrap.sh``
extracts the packages it does not install (an application whose dependencies are not wanted):
``$STRATOPIPE_EVAL_DEBS`` or ``<virtual environment>/share/stratopipe-eval/<package>``. An image
whose package is missing is skipped and the evaluation says which packages to install; under CI
(``CI=true``) every one must be there (tests/core/ai/test_evaluation.py).

Calibration: a tag's threshold is the lowest of THRESHOLD_STEPS that is above every score that tag
reached on a photograph it does not fit (and never below MIN_THRESHOLD, so at most one group
and one label can be confident). Kinds are calibrated the same way; every image in the set is a
photograph, so "photograph" itself keeps the default. A threshold chosen on the same images it is
judged on says nothing, so the share of images with a wrong confident tag is also measured
leave-one-out: each image is judged with thresholds calibrated on the other images.

    python -m core.ai.evaluate              # print the figures
    python -m core.ai.evaluate --write      # also rewrite resources/models/confidence_thresholds.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.ai.classify import PHOTOGRAPH
from core.ai.models import package_dir
from core.ai.subjects import (
    RESOURCES,
    THRESHOLDS_FILE,
    ConfidenceThresholds,
    Tag,
    imagenet_classes,
    tags_for,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from core.ai.inference import InferenceEngine

EVAL_SET = RESOURCES / "eval_set.json"
MIN_THRESHOLD = 0.5
THRESHOLD_STEPS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99)


EXTRACTED_DEBS_ENV = "STRATOPIPE_EVAL_DEBS"


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    source: str  # "pypi:<distribution>" or "debian:<package>"
    groups: frozenset[str]
    labels: frozenset[str]
    kind: str = PHOTOGRAPH


@dataclass(frozen=True)
class EvalSet:
    images: list[LabelledImage]  # those found on this machine
    missing: dict[str, int]  # source -> how many of its images are not here

    def missing_summary(self) -> str:
        """One line a person can act on: which packages to install."""
        if not self.missing:
            return ""
        parts = ", ".join(f"{source} ({count})" for source, count in sorted(self.missing.items()))
        return (
            f"{sum(self.missing.values())} evaluation image(s) skipped, their packages are not "
            f"installed here: {parts}; installers/bootstrap.sh installs them"
        )


def extracted_debs_dir() -> Path:
    """Where bootstrap extracts the Debian packages it does not install."""
    configured = os.environ.get(EXTRACTED_DEBS_ENV, "").strip()
    return Path(configured) if configured else Path(sys.prefix) / "share" / "stratopipe-eval"


def _candidates(item: dict[str, Any]) -> list[Path]:
    if "module" in item:
        folder = package_dir(item["module"])
        return [folder / item["file"]] if folder else []
    installed = Path(item["file"])
    package = str(item["source"]).removeprefix("debian:")
    return [installed, extracted_debs_dir() / package / installed.relative_to(installed.anchor)]


def eval_images(document: Path = EVAL_SET) -> EvalSet:
    """The labelled images found on this machine, and per package how many are not."""
    found: list[LabelledImage] = []
    missing: Counter[str] = Counter()
    for item in json.loads(document.read_text(encoding="utf-8"))["images"]:
        path = next((p for p in _candidates(item) if p.is_file()), None)
        if path is None:
            missing[item["source"]] += 1
            continue
        found.append(
            LabelledImage(
                path,
                item["source"],
                frozenset(item["groups"]),
                frozenset(item["labels"]),
                item.get("kind", PHOTOGRAPH),
            )
        )
    return EvalSet(found, dict(missing))


def is_wrong(tag: Tag, image: LabelledImage) -> bool:
    if tag.kind == "kind":
        return tag.name != image.kind
    if tag.kind == "group":
        return tag.name not in image.groups
    return label_of(tag) not in image.labels


def label_of(tag: Tag) -> str:
    """The ImageNet class of a label tag ("nature/landscape/alp" -> "alp": a group name may itself
    hold a slash, so the group is matched, not the first slash)."""
    group = next(g for g in imagenet_classes().group_names if tag.name.startswith(f"{g}/"))
    return tag.name[len(group) + 1 :]


def calibrate(tags: Sequence[Sequence[Tag]], images: Sequence[LabelledImage]) -> ConfidenceThresholds:
    worst: dict[tuple[str, str], float] = {}
    for image_tags, image in zip(tags, images, strict=True):
        for tag in image_tags:
            key = (tag.kind, "" if tag.kind == "label" else tag.name)
            if is_wrong(tag, image):
                worst[key] = max(worst.get(key, 0.0), tag.confidence)

    def above(score: float) -> float:
        return next((step for step in THRESHOLD_STEPS if step > score), THRESHOLD_STEPS[-1])

    classes = imagenet_classes()
    return ConfidenceThresholds(
        kinds={name: above(score) for (kind, name), score in sorted(worst.items()) if kind == "kind"},
        groups={name: above(worst.get(("group", name), 0.0)) for name in classes.group_names},
        label=above(worst.get(("label", ""), 0.0)),
        default=MIN_THRESHOLD,
    )


def evaluate(engine: InferenceEngine, images: Sequence[LabelledImage]) -> dict[str, Any]:
    from core.ai.steps import CLASSIFY_MAX_SIDE, load_rgb_for_ai
    from core.settings import Settings

    settings = Settings()
    pixels = [load_rgb_for_ai(image.path, settings, CLASSIFY_MAX_SIDE).rgb for image in images]
    results = engine.classify_batch(pixels)
    candidates = [tags_for(result) for result in results]  # confidences only; flags are redone
    thresholds = calibrate(candidates, images)
    labelled = [(r, i) for r, i in zip(results, images, strict=True) if i.labels]
    classes = imagenet_classes()
    top1 = top5 = 0
    for result, image in labelled:
        assert result.subject_probabilities is not None, result.subject_note
        ranked = [classes.labels[int(i)] for i in result.subject_probabilities.argsort()[::-1][:5]]
        top1 += ranked[0] in image.labels
        top5 += bool(image.labels.intersection(ranked))
    kind_right = sum(result.top == image.kind for result, image in zip(results, images, strict=True))
    group_right = sum(
        next(t.name for t in tags if t.kind == "group") in image.groups
        for tags, image in zip(candidates, images, strict=True)
    )
    in_sample = sum(
        any(t.confident and is_wrong(t, image) for t in tags_for(result, thresholds))
        for result, image in zip(results, images, strict=True)
    )
    held_out = 0
    for index, (result, image) in enumerate(zip(results, images, strict=True)):
        others = [c for k, c in enumerate(candidates) if k != index]
        rest = [im for k, im in enumerate(images) if k != index]
        judged = tags_for(result, calibrate(others, rest))
        held_out += any(t.confident and is_wrong(t, image) for t in judged)
    uncalibrated = sum(
        any(is_wrong(t, image) and t.confidence >= MIN_THRESHOLD for t in tags)
        for tags, image in zip(candidates, images, strict=True)
    )
    confident_groups = sum(
        any(t.confident and t.kind == "group" for t in tags_for(result, thresholds)) for result in results
    )
    return {
        "images": len(images),
        "with_imagenet_labels": len(labelled),
        "top1": top1 / max(len(labelled), 1),
        "top5": top5 / max(len(labelled), 1),
        "kind_accuracy": kind_right / len(images),
        "group_accuracy": group_right / len(images),
        "wrong_confident_at_0.5": uncalibrated / len(images),
        "wrong_confident_in_sample": in_sample / len(images),
        "wrong_confident_leave_one_out": held_out / len(images),
        "images_with_a_confident_group": confident_groups / len(images),
        "model": results[0].subject_model,
        "thresholds": thresholds,
    }


def write_thresholds(
    thresholds: ConfidenceThresholds, figures: dict[str, Any], path: Path = THRESHOLDS_FILE
) -> None:
    document = {
        "about": "Minimum confidence for an AI tag to count; written by python -m core.ai.evaluate --write "
        f"on {figures['images']} labelled photographs (resources/models/eval_set.json).",
        "kinds": thresholds.kinds,
        "groups": thresholds.groups,
        "label": thresholds.label,
        "default": thresholds.default,
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    from core.ai.device import choose_device
    from core.ai.inference import InferenceEngine

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="rewrite the calibrated thresholds file")
    args = parser.parse_args(argv)
    found = eval_images()
    if found.missing:
        print(found.missing_summary())
    engine = InferenceEngine(choose_device("cpu"), None, batch_size=8)
    figures = evaluate(engine, found.images)
    sources = Counter(image.source for image in found.images)
    print("sources: " + ", ".join(f"{source} {count}" for source, count in sorted(sources.items())))
    for key, value in figures.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    if args.write:
        write_thresholds(figures["thresholds"], figures)
        print(f"wrote {THRESHOLDS_FILE}")


if __name__ == "__main__":
    main()
