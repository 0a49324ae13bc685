"""The labelled evaluation set: at least 100 real photographs from Python and Debian packages, found
where those packages put them, texture maps made from those photographs and renders of real meshes;
a missing package is named and its images skipped."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from core.ai.classify import ALBEDO, CG_RENDER, NORMAL_MAP, PHOTOGRAPH, ROUGHNESS_OR_MASK
from core.ai.eval_media import RECIPE_KINDS, RENDER_RECIPES, TEXTURE_RECIPES, EvalMedia, cache_name
from core.ai.evaluate import EVAL_SET, EXTRACTED_DEBS_ENV, eval_images
from core.ai.models import package_dir
from core.settings import Settings

if TYPE_CHECKING:
    import numpy.typing as npt

MIN_PHOTOGRAPHS = 100
# At least this many of each generated kind; the set has 10 of each texture kind and 10 renders.
MIN_GENERATED = {NORMAL_MAP: 10, ROUGHNESS_OR_MASK: 10, ALBEDO: 10, CG_RENDER: 8}


def _items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(EVAL_SET.read_text(encoding="utf-8"))["images"]
    return items


def test_the_set_lists_at_least_a_hundred_photographs_from_several_packages() -> None:
    items = _items()
    photographs = [i for i in items if i.get("kind", PHOTOGRAPH) == PHOTOGRAPH]
    assert len(photographs) >= MIN_PHOTOGRAPHS
    assert not any(i["source"].startswith("generated:") for i in photographs)
    assert len({(i["source"], i["file"]) for i in items}) == len(items), "an image is listed twice"
    sources = {i["source"] for i in photographs}
    assert len(sources) >= 6, sources
    judged = [i for i in items if not i["kind"].startswith("texture/")]
    assert all(i["groups"] for i in judged), "every photograph and render has a right group"


def test_textures_come_from_photographs_of_the_set_and_renders_from_meshes() -> None:
    """Held out from what the kinds model is trained on: every texture is made from a photograph
    of this set, every render from a real mesh that ships in a package."""
    items = _items()
    photographs = {(i["source"], i["file"]) for i in items if i["kind"] == PHOTOGRAPH}
    generated = [i for i in items if i["source"].startswith("generated:")]
    kinds = Counter(i["kind"] for i in generated)
    assert all(kinds[kind] >= count for kind, count in MIN_GENERATED.items()), kinds
    for item in generated:
        recipe = item["source"].removeprefix("generated:")
        assert item["kind"] == RECIPE_KINDS[recipe], item
        if recipe in RENDER_RECIPES:
            assert item["file"].endswith(".ply"), item
        else:
            assert (item["from"], item["file"]) in photographs, item
            assert not item["groups"], "a texture's subject is not judged"
            assert not item["labels"]
    textured = {i["file"] for i in generated if i["kind"].startswith("texture/")}
    assert len(textured) >= 10, "textures come from varied photographs"


def test_every_image_resolves_in_ci() -> None:
    """CI installs every package of the set (installers/bootstrap.sh); a developer without root
    may lack the Debian ones, and is told which."""
    found = eval_images()
    if os.environ.get("CI") != "true" and found.missing:
        pytest.skip(found.missing_summary())
    assert not found.missing, found.missing_summary()
    kinds = Counter(i.kind for i in found.images)
    assert kinds[PHOTOGRAPH] >= MIN_PHOTOGRAPHS
    assert all(kinds[kind] >= count for kind, count in MIN_GENERATED.items()), kinds


def _document(tmp_path: Path, items: list[dict[str, object]]) -> Path:
    path = tmp_path / "eval_set.json"
    path.write_text(json.dumps({"images": items}), encoding="utf-8")
    return path


def test_a_missing_package_is_named_and_its_images_skipped(tmp_path: Path) -> None:
    document = _document(
        tmp_path,
        [
            {
                "source": "pypi:scikit-image",
                "module": "skimage",
                "file": "data/chelsea.png",
                "groups": ["animals"],
                "labels": ["tabby"],
            },
            {
                "source": "debian:no-such-wallpapers",
                "file": "/usr/share/no-such/a.jpg",
                "groups": ["nature/landscape"],
                "labels": [],
            },
            {
                "source": "debian:no-such-wallpapers",
                "file": "/usr/share/no-such/b.jpg",
                "groups": ["nature/landscape"],
                "labels": [],
            },
        ],
    )
    found = eval_images(document)
    assert [i.path.name for i in found.images] == ["chelsea.png"]
    assert found.missing == {"debian:no-such-wallpapers": 2}
    assert "debian:no-such-wallpapers (2)" in found.missing_summary()


def test_a_package_extracted_by_bootstrap_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bootstrap extracts a package it does not install (its dependencies are not wanted) into
    <root>/<package>/<the file's installed path>."""
    skimage = package_dir("skimage")
    assert skimage is not None
    root = tmp_path / "debs"
    target = root / "demo-photos" / "usr/share/demo-photos/cat.png"
    target.parent.mkdir(parents=True)
    shutil.copy(skimage / "data" / "chelsea.png", target)
    document = _document(
        tmp_path,
        [
            {
                "source": "debian:demo-photos",
                "file": "/usr/share/demo-photos/cat.png",
                "groups": ["animals"],
                "labels": ["tabby"],
            }
        ],
    )
    assert eval_images(document).missing == {"debian:demo-photos": 1}
    monkeypatch.setenv(EXTRACTED_DEBS_ENV, str(root))
    found = eval_images(document)
    assert ([i.path for i in found.images], found.missing) == ([target], {})


def test_a_label_under_a_group_with_a_slash_is_judged_by_its_class() -> None:
    from core.ai.evaluate import LabelledImage, is_wrong
    from core.ai.subjects import Tag

    canyon = LabelledImage(Path("canyon.jpg"), "test", frozenset({"nature/landscape"}), frozenset({"cliff"}))
    assert not is_wrong(Tag("nature/landscape/cliff", 0.8, "label"), canyon)
    assert is_wrong(Tag("nature/landscape/volcano", 0.8, "label"), canyon)
    assert is_wrong(Tag("vehicles/wing", 0.9, "label"), canyon)


def _read(path: Path) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return np.asarray(image, np.uint8)


def test_texture_maps_are_made_from_a_photograph_as_artists_make_them(tmp_path: Path) -> None:
    skimage = package_dir("skimage")
    assert skimage is not None
    brick = skimage / "data" / "brick.png"
    with EvalMedia(Settings(), tmp_path / "a") as media:
        maps = {recipe: media.path_for(brick, recipe) for recipe in TEXTURE_RECIPES}
    normal = _read(maps["normal-map"])[..., ::-1].astype(np.float32) / 127.5 - 1.0
    assert np.allclose(np.linalg.norm(normal, axis=2), 1.0, atol=0.03), "unit normals"
    # Blue-dominant: the surface faces the viewer on most pixels, the brick edges tilt away.
    assert (normal[..., 2] > np.abs(normal[..., :2]).max(axis=2)).mean() > 0.8
    assert normal[..., :2].std() > 0.05, "the bricks' relief shows"
    for recipe in ("roughness", "grunge-mask"):
        grey = _read(maps[recipe])
        assert (grey == grey[..., :1]).all(), f"{recipe} is grey"
    roughness = _read(maps["roughness"])[..., 0]
    assert roughness.min() >= round(0.35 * 255)
    assert roughness.max() <= round(0.95 * 255)
    mask = _read(maps["grunge-mask"])[..., 0]
    assert ((mask < 32) | (mask > 223)).mean() > 0.5, "mostly black and white"
    # Tileable: the coffee photograph's centre square differs by ~50 levels from edge to opposite
    # edge; offset and blend make them meet as closely as neighbouring pixels do.
    with EvalMedia(Settings(), tmp_path / "a") as media:
        albedo = _read(media.path_for(skimage / "data" / "coffee.png", "albedo-tileable")).astype(float)
    assert np.abs(albedo[:, 0] - albedo[:, -1]).mean() < 8
    assert np.abs(albedo[0] - albedo[-1]).mean() < 8
    with EvalMedia(Settings(), tmp_path / "b") as again:
        assert again.path_for(brick, "normal-map").read_bytes() == maps["normal-map"].read_bytes()
    assert cache_name(brick, "normal-map") != cache_name(brick, "roughness")


def test_a_real_mesh_is_rendered_by_the_apps_renderer(tmp_path: Path) -> None:
    meshes = [i.path for i in eval_images().images if i.recipe == "render-y-up"]
    if not meshes:
        if os.environ.get("CI") == "true":
            pytest.fail("no mesh of the evaluation set is installed")
        pytest.skip("opencv-doc is not installed (installers/bootstrap.sh)")
    with EvalMedia(Settings(), tmp_path) as media:
        opaque = media.path_for(meshes[0], "render-y-up")
        cut_out = media.path_for(meshes[0], "render-z-up-alpha")
        made = opaque.stat().st_mtime_ns
        assert media.path_for(meshes[0], "render-y-up") == opaque
    assert opaque.stat().st_mtime_ns == made, "a cached render is not made again"
    grey, alpha = _read(opaque), _read(cut_out)
    assert grey.shape == (512, 512, 3)
    assert alpha.shape == (512, 512, 4)
    assert alpha[0, 0, 3] == 0, "a clear background"
    assert alpha[..., 3].max() == 255
    assert grey.std() > 10, "a model is drawn, not an empty frame"
