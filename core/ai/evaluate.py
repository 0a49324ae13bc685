"""Measure the subject classifier on the labelled photographs, and calibrate the tag thresholds.

``resources/models/eval_set.json`` lists real photographs that ship inside Python and Debian
packages, each labelled by hand with the artist groups and ImageNet classes that are right for it.

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


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    source: str
    groups: frozenset[str]
    labels: frozenset[str]


def eval_images(document: Path = EVAL_SET) -> tuple[list[LabelledImage], list[str]]:
    """The labelled images found on this machine, and the files that are not installed."""
    found: list[LabelledImage] = []
    missing: list[str] = []
    for item in json.loads(document.read_text(encoding="utf-8"))["images"]:
        if "module" in item:
            folder = package_dir(item["module"])
            path = folder / item["file"] if folder else Path(item["module"], item["file"])
        else:
            path = Path(item["file"])
        if path.is_file():
            found.append(
                LabelledImage(path, item["source"], frozenset(item["groups"]), frozenset(item["labels"]))
            )
        else:
            missing.append(f"{path} ({item['source']})")
    return found, missing


def is_wrong(tag: Tag, image: LabelledImage) -> bool:
    if tag.kind == "kind":
        return tag.name != PHOTOGRAPH
    if tag.kind == "group":
        return tag.name not in image.groups
    return tag.name.split("/", 1)[1] not in image.labels


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
    images, missing = eval_images()
    for path in missing:
        print(f"not installed here: {path}")
    engine = InferenceEngine(choose_device("cpu"), None, batch_size=8)
    figures = evaluate(engine, images)
    for key, value in figures.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    if args.write:
        write_thresholds(figures["thresholds"], figures)
        print(f"wrote {THRESHOLDS_FILE}")


if __name__ == "__main__":
    main()
