"""The real ImageNet subject model, loaded from its installed package, on real photographs.

The photographs ship inside scikit-image (installers/bootstrap.sh installs it); their subjects were
labelled by hand in resources/models/eval_set.json.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from core.ai.device import DeviceCapabilities, choose_device
from core.ai.evaluate import calibrate, eval_images, evaluate
from core.ai.inference import InferenceEngine
from core.ai.models import (
    ChecksumMismatchError,
    ModelUnavailableError,
    builtin_manifest_dir,
    load_manifest,
    load_model,
    package_dir,
)
from core.ai.steps import classify_step
from core.ai.subjects import Tag, confidence_thresholds
from core.jobs.steps import AssetRef, CancelToken, StepContext
from core.paths import AppPaths
from core.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Generator

    import numpy.typing as npt

    from core.jobs.steps import Progress

skimage_data = package_dir("skimage")


def _engine(model_dir: Path | None = None) -> InferenceEngine:
    return InferenceEngine(choose_device("cpu", DeviceCapabilities("2.13")), model_dir, batch_size=8)


@pytest.fixture(scope="module")
def engine() -> InferenceEngine:
    return _engine()


def _photo(name: str) -> Path:
    assert skimage_data is not None, "scikit-image is not installed (installers/bootstrap.sh)"
    return skimage_data / "data" / name


def _read(path: Path) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(path))
    assert image is not None, path
    return np.asarray(image, np.uint8)


def _run(ctx: StepContext) -> dict[str, Any]:
    generator: Generator[Progress, None, dict[str, Any]] = classify_step(ctx)
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def _ctx(path: Path, engine: InferenceEngine, kind: str = "image") -> StepContext:
    asset = AssetRef(id=1, path=path, kind=kind, content_hash=f"hash-{path.stem}")
    return StepContext(
        asset, AppPaths.resolve().ensure(), Settings(), CancelToken(), params={"inference_engine": engine}
    )


def test_the_packaged_weights_load_with_their_checksum_verified() -> None:
    (entry,) = [e for e in load_manifest(builtin_manifest_dir()) if e.task == "subjects"]
    module = load_model(entry, builtin_manifest_dir(), "cpu")
    assert sum(p.numel() for p in module.parameters()) == 3_504_872  # MobileNetV2 1.0, 1000 classes


def test_a_tampered_package_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (entry,) = [e for e in load_manifest(builtin_manifest_dir()) if e.task == "subjects"]
    assert entry.package is not None
    original = package_dir(entry.package)
    assert original is not None
    fake = tmp_path / "site" / entry.package
    shutil.copytree(original, fake)
    with entry.path_in(fake).open("r+b") as handle:  # same size, one byte changed
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(ChecksumMismatchError, match="checksum mismatch"):
        load_model(entry, tmp_path, "cpu")


def test_without_the_package_subjects_say_why_and_kinds_still_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (entry,) = [e for e in load_manifest(builtin_manifest_dir()) if e.task == "subjects"]
    monkeypatch.setattr("core.ai.models.package_dir", lambda name: None)
    with pytest.raises(ModelUnavailableError, match=f"{entry.package} is not installed"):
        load_model(entry, tmp_path, "cpu")
    out = _run(_ctx(_photo("coffee.png"), _engine()))
    assert out["subject_model"] is None
    assert "is not installed" in out["subject_note"]
    assert all(tag["kind"] == "kind" for tag in out["categories"] + out["hidden"])


@pytest.mark.parametrize(
    ("photo", "group", "labels"),
    [
        ("chelsea.png", "animals", {"tabby", "tiger cat", "Egyptian cat"}),
        ("coffee.png", "food", {"espresso", "cup", "coffee mug"}),
        ("rocket.jpg", None, {"missile", "projectile", "space shuttle"}),
    ],
)
def test_known_photographs_get_their_subjects(
    engine: InferenceEngine, photo: str, group: str | None, labels: set[str]
) -> None:
    out = _run(_ctx(_photo(photo), engine))
    assert out["subject_model"].startswith("mobilenet-v2-imagenet")
    assert out["device"] == "cpu"
    candidates = [t for t in out["categories"] + out["hidden"] if t["kind"] == "label"]
    assert labels & {t["name"].split("/", 1)[1] for t in candidates}  # among the top five
    confident = {t["name"] for t in out["categories"]}
    if group is not None:
        assert group in confident
    # A wrong kind never counts: these are photographs, not renders or textures.
    assert not {t["name"] for t in out["categories"] if t["kind"] == "kind"} - {"photograph"}


def test_only_confident_or_accepted_tags_are_counted(engine: InferenceEngine, tmp_path: Path) -> None:
    from core.catalog.catalog import Catalog
    from core.catalog.records import NewAsset
    from core.media.kinds import AssetKind

    out = _run(_ctx(_photo("chelsea.png"), engine))
    thresholds = confidence_thresholds()
    for tag in out["categories"]:
        assert tag["confidence"] >= thresholds.minimum(Tag(tag["name"], tag["confidence"], tag["kind"]))
    assert out["hidden"], "the runner-up guesses are kept for when the artist asks"
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    project = catalog.create_project("P")
    new = NewAsset(project.id, "chelsea.png", str(_photo("chelsea.png")), AssetKind.IMAGE, "c" * 32, 1)
    asset_id = next(iter(catalog.add_assets([new]).values()))
    # What core.pipeline stores from a classify step: its confident tags only.
    catalog.set_ai_categories(asset_id, [(c["name"], c["confidence"]) for c in out["categories"]])
    counted = dict(catalog.tag_counts(project.id))
    assert set(counted) == {t["name"] for t in out["categories"]}
    guess = out["hidden"][0]["name"]
    catalog.accept_tag(asset_id, guess)  # the artist confirms a hidden guess: now it counts
    assert dict(catalog.tag_counts(project.id))[guess] == 1
    catalog.close()


def test_a_clip_is_sorted_from_frames_spread_over_it(engine: InferenceEngine, tmp_path: Path) -> None:
    cat = cv2.resize(_read(_photo("chelsea.png")), (320, 240))
    coffee = cv2.resize(_read(_photo("coffee.png")), (320, 240))
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 10, (320, 240))
    for index in range(40):
        writer.write(cat if index < 20 else coffee)
    writer.release()
    out = _run(_ctx(clip, engine, kind="video"))
    assert out["frames"] == 5
    groups = {t["name"]: t["confidence"] for t in out["categories"] + out["hidden"] if t["kind"] == "group"}
    # Averaged over the clip, both halves show: a poster frame alone would give only one.
    assert groups["animals"] > 0.2
    assert groups["food"] > 0.2


def test_calibration_puts_each_threshold_above_the_wrong_scores() -> None:
    images = eval_images().images
    cat = next(i for i in images if i.path.name == "chelsea.png")
    tags = [[Tag("food", 0.62, "group"), Tag("animals/tabby", 0.3, "label"), Tag("cg-render", 0.71, "kind")]]
    thresholds = calibrate(tags, [cat])
    assert thresholds.groups["food"] == 0.65
    assert thresholds.groups["animals"] == 0.5  # never wrong here: the floor
    assert thresholds.kinds["cg-render"] == 0.75
    assert thresholds.label == 0.5  # tabby is right for the cat


def test_one_odd_picture_does_not_hide_ten_right_answers() -> None:
    """A bar stays above a wrong score only while it hides fewer right answers than the wrong one
    costs (WRONG_COST): one outlier at 0.97 hides no pile of right answers at 0.8."""
    images = eval_images().images
    cat = next(i for i in images if i.path.name == "chelsea.png")
    coffee = next(i for i in images if i.path.name == "coffee.png")
    odd = [[Tag("animals", 0.97, "group")]]
    right = [[Tag("animals", 0.8, "group")]]
    assert calibrate(odd + right * 12, [coffee] + [cat] * 12).groups["animals"] == 0.5
    assert calibrate(odd + right * 5, [coffee] + [cat] * 5).groups["animals"] == 0.99


def test_the_committed_thresholds_are_the_calibration_of_the_eval_set(
    engine: InferenceEngine, tmp_path: Path
) -> None:
    found = eval_images()
    assert sum(i.source == "pypi:scikit-image" for i in found.images) >= 7
    figures = evaluate(engine, found.images, tmp_path)
    assert figures["top5"] >= figures["top1"] > 0.5
    if not found.missing:  # the Debian photos are installed: the committed file must be reproducible
        assert figures["thresholds"] == confidence_thresholds()
