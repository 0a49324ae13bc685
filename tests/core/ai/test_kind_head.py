"""The shipped kind head: checksum-verified, right on generated kinds it never saw and on real
photographs, fed by the subject model's own forward pass, and replaced by the rules when it cannot run.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from core.ai import classify as c
from core.ai.classify import ClassifyHints
from core.ai.device import DeviceCapabilities, choose_device
from core.ai.inference import InferenceEngine
from core.ai.kind_head import HEAD_KINDS, load_kind_head
from core.ai.kind_samples import GENERATORS, cg_renders, sample
from core.ai.models import (
    ChecksumMismatchError,
    builtin_manifest_dir,
    ensure_model_file,
    load_manifest,
    package_dir,
)

if TYPE_CHECKING:
    from pathlib import Path

    from core.ai.models import ModelEntry

# core/ai/train_kinds.py trains on seeds below its --per-kind (110); these were never seen.
HELD_OUT_SEEDS = range(50_000, 50_006)
skimage_data = package_dir("skimage")


def _engine(model_dir: Path | None = None, batch_size: int = 16) -> InferenceEngine:
    return InferenceEngine(choose_device("cpu", DeviceCapabilities("2.13")), model_dir, batch_size=batch_size)


@pytest.fixture(scope="module")
def engine() -> InferenceEngine:
    return _engine()


def _head_entry() -> ModelEntry:
    (entry,) = [e for e in load_manifest(builtin_manifest_dir()) if e.task == "kinds"]
    return entry


def _photo(name: str) -> np.ndarray:
    assert skimage_data is not None, "scikit-image is not installed (installers/bootstrap.sh)"
    bgr = cv2.imread(str(skimage_data / "data" / name))
    assert bgr is not None
    return np.ascontiguousarray(bgr[:, :, ::-1])


def test_the_shipped_head_loads_with_its_checksum_verified() -> None:
    entry = _head_entry()
    assert (entry.format, entry.package, entry.labels) == ("numpy-npz", None, HEAD_KINDS)
    assert "train_kinds" in entry.licence
    path = ensure_model_file(entry, builtin_manifest_dir(), allow_fetch=False)
    assert path.parent == builtin_manifest_dir()
    head = load_kind_head(entry, path)
    assert head.weight.shape == (len(HEAD_KINDS), head.mean.shape[0])


def test_a_corrupted_head_is_refused_and_the_rules_take_over(tmp_path: Path) -> None:
    entry = _head_entry()
    data = bytearray(ensure_model_file(entry, builtin_manifest_dir()).read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / entry.file).write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match=r"checksum mismatch for kind-head\.npz"):
        ensure_model_file(entry, tmp_path)
    # A studio directory listing the corrupted copy: its entry wins, is refused, and says why.
    document = {"schema_version": 1, "models": [entry.model_dump(mode="json", exclude_none=True)]}
    (tmp_path / "manifest.json").write_text(json.dumps(document), encoding="utf-8")
    (result,) = _engine(tmp_path).classify_batch([sample(c.LINE_ART, 1)])
    assert result.path == "classical"
    assert "checksum mismatch" in result.note
    assert result.subject_probabilities is not None, "the subject model still ran"


def test_generated_kinds_it_never_saw_are_sorted_right(engine: InferenceEngine) -> None:
    images = [sample(kind, seed) for kind in GENERATORS for seed in HELD_OUT_SEEDS]
    truth = [kind for kind in GENERATORS for _ in HELD_OUT_SEEDS]
    images += cg_renders(HELD_OUT_SEEDS)
    truth += [c.CG_RENDER] * len(HELD_OUT_SEEDS)
    results = engine.classify_batch(images)
    assert {r.path for r in results} == {"model:kind-head"}
    assert {r.model for r in results} == {"kind-head"}
    right = Counter(t for t, r in zip(truth, results, strict=True) if r.top == t)
    wrong = {
        t: [r.categories[0] for tt, r in zip(truth, results, strict=True) if tt == t and r.top != t]
        for t in right
    }
    for kind in set(truth):
        assert right[kind] >= 5, f"{kind}: {right[kind]} of 6 right; wrong calls {wrong.get(kind)}"


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg"])
def test_real_photographs_are_photographs(engine: InferenceEngine, name: str) -> None:
    (result,) = engine.classify_batch([_photo(name)])
    assert result.top == c.PHOTOGRAPH, result.categories
    confidences = [conf for _, conf in result.categories]
    assert confidences == sorted(confidences, reverse=True)
    assert len(result.categories) == c.TOP_K


def test_switched_off_head_falls_back_to_the_rules_with_a_note() -> None:
    engine = _engine()
    engine.disabled_models = frozenset({"kind-head"})
    (result,) = engine.classify_batch([sample(c.DOCUMENT_SCAN, 3)])
    assert result.path == "classical"
    assert result.model is None
    assert "kind-head switched off in Preferences" in result.note
    assert result.subject_probabilities is not None


def test_one_forward_pass_a_batch_gives_subjects_and_kinds() -> None:
    engine = _engine(batch_size=4)
    loaded = engine.model_for("subjects")
    assert isinstance(loaded, tuple)
    passes: list[int] = []
    handle = (
        loaded[1]
        .get_submodule("features")
        .register_forward_hook(lambda _m, inputs, _o: passes.append(inputs[0].shape[0]))
    )
    try:
        results = engine.classify_batch([sample(c.ALBEDO, seed) for seed in range(7)])
    finally:
        handle.remove()
    assert passes == [4, 3]
    assert all(r.path == "model:kind-head" and r.subject_probabilities is not None for r in results)


def test_facts_from_the_file_come_first(engine: InferenceEngine) -> None:
    render = cg_renders([7])[0]
    panorama = sample(c.HDR_PANORAMA, 50_100)
    geometry, hdr = engine.classify_batch(
        [render, panorama],
        [ClassifyHints(source_kind="geometry"), ClassifyHints(is_float_hdr=True, width=4096, height=2048)],
    )
    assert geometry.categories[0] == (c.MODEL_RENDER, 1.0)
    assert hdr.categories[0] == (c.HDR_PANORAMA, 1.0)
    assert len({name for name, _ in hdr.categories}) == len(hdr.categories)


def test_a_studio_classify_model_still_wins(tmp_path: Path) -> None:
    from tests.core.ai import modelkit

    modelkit.write_colour_classifier(tmp_path)
    (result,) = _engine(tmp_path).classify_batch([np.full((32, 32, 3), (220, 20, 20), np.uint8)])
    assert result.path.startswith("model:")
    assert result.path != "model:kind-head"
    assert result.subject_probabilities is not None


def test_the_head_file_is_numbers_only(tmp_path: Path) -> None:
    entry = _head_entry()
    copy = tmp_path / entry.file
    shutil.copy(ensure_model_file(entry, builtin_manifest_dir()), copy)
    with np.load(copy, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)
