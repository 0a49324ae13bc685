"""Measure the classifier on the labelled evaluation set, and calibrate the tag thresholds.

``resources/models/eval_set.json`` lists real photographs that ship inside Python and Debian
packages, each labelled by hand with its artist category (kind), the artist groups and the ImageNet
classes that are right for it, and images generated from files that ship in packages
(``core/ai/eval_media.py``): texture maps made from photographs of the set and renders of real
meshes, judged as files dropped into the library. A Python package's file is found where the
package is installed; a Debian package's file at its installed path, else under the folder where
``installers/bootstrap.sh`` extracts the packages it does not install (an application whose
dependencies are not wanted): ``$STRATOPIPE_EVAL_DEBS`` or
``<virtual environment>/share/stratopipe-eval/<package>``. An image whose package is missing is
skipped and the evaluation says which packages to install; under CI (``CI=true``) every one must be
there (tests/core/ai/test_evaluation.py).

Calibration: a tag's threshold is the step of THRESHOLD_STEPS (never below MIN_THRESHOLD, so at
most one group and one label can be confident) where the images on which the tag is right and
passes, less WRONG_COST times the images on which it is wrong and passes, is highest (the lowest
such step on a tie). A wrong confident tag files a picture under a filter the artist trusts, a
missing one only leaves it for the hidden guesses, so a wrong one costs ten right ones (at 5 or 3,
measured on 149 images, the share of images with a wrong confident tag rose by half or more for a
few more right tags). The rule
before took the step above the single worst wrong score (the limit of an infinite cost), so one
odd picture set a bar whatever it cost: the right answers below it did not count. Now a bar stays
high only while it saves more wrong tags than the right ones it hides are worth, and a tag with
right answers (the kinds, now that textures and renders are in the set) is not pushed above most
of them by one outlier. Per tag, the share of the images it fits whose right tag passes is
reported beside the wrong ones. A threshold chosen on the images it is judged on says nothing, so
both figures are measured leave-one-out: each image is judged with thresholds calibrated on the
other images.

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
from core.ai.eval_media import GENERATED, EvalMedia
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

    from core.ai.classify import ClassificationResult
    from core.ai.inference import InferenceEngine

EVAL_SET = RESOURCES / "eval_set.json"
MIN_THRESHOLD = 0.5
THRESHOLD_STEPS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99)
# How many right confident tags one wrong confident tag costs (see above).
WRONG_COST = 10.0
EXTRACTED_DEBS_ENV = "STRATOPIPE_EVAL_DEBS"
FAMILIES = ("photographs", "textures", "renders")

TagKey = tuple[str, str]  # (tag kind, name); every label shares one threshold, so its name is ""


@dataclass(frozen=True)
class LabelledImage:
    path: Path  # the file in its package: a photograph, or what a generated image is made from
    source: str  # "pypi:<distribution>", "debian:<package>" or "generated:<recipe>"
    groups: frozenset[str]
    labels: frozenset[str]
    kind: str = PHOTOGRAPH

    @property
    def recipe(self) -> str:
        return self.source.removeprefix(GENERATED) if self.source.startswith(GENERATED) else ""

    @property
    def family(self) -> str:
        if self.kind.startswith("texture/"):
            return "textures"
        return "photographs" if self.kind == PHOTOGRAPH else "renders"


@dataclass(frozen=True)
class EvalSet:
    images: list[LabelledImage]  # those found on this machine
    missing: dict[str, int]  # package source -> how many of its images are not here

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


def package_of(item: dict[str, Any]) -> str:
    """The package a listed image's file ships in (a generated image's comes from ``from``)."""
    source = str(item["source"])
    return str(item["from"]) if source.startswith(GENERATED) else source


def _candidates(item: dict[str, Any]) -> list[Path]:
    if "module" in item:
        folder = package_dir(item["module"])
        return [folder / item["file"]] if folder else []
    installed = Path(item["file"])
    package = package_of(item).removeprefix("debian:")
    return [installed, extracted_debs_dir() / package / installed.relative_to(installed.anchor)]


def eval_images(document: Path = EVAL_SET) -> EvalSet:
    """The labelled images whose files are on this machine, and per package how many are not."""
    found: list[LabelledImage] = []
    missing: Counter[str] = Counter()
    for item in json.loads(document.read_text(encoding="utf-8"))["images"]:
        path = next((p for p in _candidates(item) if p.is_file()), None)
        if path is None:
            missing[package_of(item)] += 1
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


def key_of(tag: Tag) -> TagKey:
    return (tag.kind, "" if tag.kind == "label" else tag.name)


Scores = dict[tuple[bool, TagKey], float]  # one image: per (is wrong, tag), the highest score


def image_scores(tags: Sequence[Tag], image: LabelledImage) -> Scores:
    """An image's best right and worst wrong score per tag (two wrong labels count once)."""
    best: Scores = {}
    for tag in tags:
        slot = (is_wrong(tag, image), key_of(tag))
        best[slot] = max(best.get(slot, 0.0), tag.confidence)
    return best


def calibrate(
    tags: Sequence[Sequence[Tag]], images: Sequence[LabelledImage], wrong_cost: float = WRONG_COST
) -> ConfidenceThresholds:
    return thresholds_from(
        [image_scores(image_tags, image) for image_tags, image in zip(tags, images, strict=True)],
        wrong_cost,
    )


def thresholds_from(scores: Sequence[Scores], wrong_cost: float) -> ConfidenceThresholds:
    right: dict[TagKey, list[float]] = {}
    wrong: dict[TagKey, list[float]] = {}
    for image in scores:
        for (is_wrong_tag, key), score in image.items():
            (wrong if is_wrong_tag else right).setdefault(key, []).append(score)

    def bar(key: TagKey) -> float:
        gains = [
            sum(score >= step for score in right.get(key, []))
            - wrong_cost * sum(score >= step for score in wrong.get(key, []))
            for step in THRESHOLD_STEPS
        ]
        return THRESHOLD_STEPS[gains.index(max(gains))]  # the lowest step on a tie

    kinds = sorted({name for kind, name in (*right, *wrong) if kind == "kind"})
    return ConfidenceThresholds(
        kinds={name: bar(("kind", name)) for name in kinds},
        groups={name: bar(("group", name)) for name in imagenet_classes().group_names},
        label=bar(("label", "")),
        default=MIN_THRESHOLD,
    )


@dataclass(frozen=True)
class HeldOut:
    """Leave-one-out figures of one calibration rule."""

    wrong_confident: dict[str, float]  # share of images with a wrong confident tag: "all", per family
    right_passing: dict[str, float]  # per tag: share of the images it fits whose right tag passes


def held_out(
    candidates: Sequence[Sequence[Tag]], images: Sequence[LabelledImage], wrong_cost: float
) -> HeldOut:
    wrong_by_family: Counter[str] = Counter()
    fitted: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    scores = [image_scores(tags, image) for tags, image in zip(candidates, images, strict=True)]
    for index, (tags, image) in enumerate(zip(candidates, images, strict=True)):
        thresholds = thresholds_from(scores[:index] + scores[index + 1 :], wrong_cost)
        confident = [t for t in tags if t.confidence >= thresholds.minimum(t)]
        wrong_by_family[image.family] += any(is_wrong(t, image) for t in confident)
        right = {key_of(t) for t in confident if not is_wrong(t, image)}
        for key in [("kind", image.kind), *(("group", g) for g in image.groups)]:
            fitted[key[1]] += 1
            passed[key[1]] += key in right
        if image.labels:
            fitted["label"] += 1
            passed["label"] += ("label", "") in right
    family_sizes = Counter(image.family for image in images)
    shares = {"all": sum(wrong_by_family.values()) / max(len(images), 1)}
    shares |= {f: wrong_by_family[f] / family_sizes[f] for f in FAMILIES if family_sizes[f]}
    return HeldOut(shares, {name: passed[name] / fitted[name] for name in sorted(fitted)})


def confusion(results: Sequence[ClassificationResult], images: Sequence[LabelledImage]) -> dict[str, str]:
    """Per right kind: how many images, then what the top kind was ("10: normal-map 7, photograph 3")."""
    calls: dict[str, Counter[str]] = {}
    for result, image in zip(results, images, strict=True):
        calls.setdefault(image.kind, Counter())[result.top] += 1
    return {
        kind: f"{counts.total()}: " + ", ".join(f"{top} {n}" for top, n in counts.most_common())
        for kind, counts in sorted(calls.items())
    }


def evaluate(
    engine: InferenceEngine, images: Sequence[LabelledImage], media_dir: Path | None = None
) -> dict[str, Any]:
    from core.ai.steps import CLASSIFY_MAX_SIDE, load_rgb_for_ai
    from core.settings import Settings

    settings = Settings()
    with EvalMedia(settings, media_dir) as media:
        files = [media.path_for(image.path, image.recipe) for image in images]
    pixels = [load_rgb_for_ai(path, settings, CLASSIFY_MAX_SIDE).rgb for path in files]
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
    with_groups = [(tags, i) for tags, i in zip(candidates, images, strict=True) if i.groups]
    group_right = sum(next(t.name for t in tags if t.kind == "group") in i.groups for tags, i in with_groups)
    uncalibrated = sum(
        any(is_wrong(t, image) and t.confidence >= MIN_THRESHOLD for t in tags)
        for tags, image in zip(candidates, images, strict=True)
    )
    confident_groups = sum(
        any(t.kind == "group" and t.confidence >= thresholds.minimum(t) for t in tags)
        for tags, _image in with_groups
    )
    now = held_out(candidates, images, WRONG_COST)
    # The rule before: a wrong answer outweighs all right ones together.
    before = held_out(candidates, images, len(images) + 1.0)
    return {
        "images": len(images),
        "per_family": dict(Counter(image.family for image in images)),
        "with_imagenet_labels": len(labelled),
        "top1": top1 / max(len(labelled), 1),
        "top5": top5 / max(len(labelled), 1),
        "kind_accuracy": sum(r.top == i.kind for r, i in zip(results, images, strict=True)) / len(images),
        "kind_calls": confusion(results, images),
        "group_accuracy (images with groups)": group_right / max(len(with_groups), 1),
        "images_with_groups_and_a_confident_group": confident_groups / max(len(with_groups), 1),
        "wrong_confident_at_0.5": uncalibrated / len(images),
        "wrong_confident_leave_one_out": now.wrong_confident,
        "right_passing_leave_one_out": now.right_passing,
        "wrong_confident_leave_one_out (rule before: above the worst wrong score)": before.wrong_confident,
        "right_passing_leave_one_out (rule before)": before.right_passing,
        "model": results[0].subject_model,
        "thresholds": thresholds,
    }


def write_thresholds(
    thresholds: ConfidenceThresholds, figures: dict[str, Any], path: Path = THRESHOLDS_FILE
) -> None:
    counts = ", ".join(f"{n} {family}" for family, n in sorted(figures["per_family"].items()))
    document = {
        "about": "Minimum confidence for an AI tag to count; written by python -m core.ai.evaluate --write "
        f"on {figures['images']} labelled images ({counts}; resources/models/eval_set.json): "
        f"per tag the step where right confident answers less {WRONG_COST:g} times the wrong ones "
        "are most (core/ai/evaluate.py).",
        "kinds": thresholds.kinds,
        "groups": thresholds.groups,
        "label": thresholds.label,
        "default": thresholds.default,
    }
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def _print(key: str, value: Any) -> None:
    if isinstance(value, float):
        print(f"{key}: {value:.3f}")
    elif isinstance(value, dict) and value and all(isinstance(v, float) for v in value.values()):
        print(f"{key}: " + ", ".join(f"{k} {v:.3f}" for k, v in value.items()))
    elif isinstance(value, dict):
        print(f"{key}:" + "".join(f"\n  {k}: {v}" for k, v in value.items()))
    else:
        print(f"{key}: {value}")


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
        _print(key, value)
    if args.write:
        write_thresholds(figures["thresholds"], figures)
        print(f"wrote {THRESHOLDS_FILE}")


if __name__ == "__main__":
    main()
