"""Object-aware focus boxes from the real MobileNetV2's class activation map, and focus thumbnails.

The photographs ship inside scikit-image. Each hand-written box below was read off the image
(x, y, w, h in its own pixels) by drawing a 50 px grid over it and marking the subject's extent.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from core.ai.cam import FOCUS_THUMBNAIL, SHOW_ORIGINAL_THUMBNAIL, switch_thumbnails
from core.ai.device import DeviceCapabilities, choose_device
from core.ai.focus import focus_box
from core.ai.inference import InferenceEngine
from core.ai.models import package_dir
from core.ai.steps import focus_crop_step
from core.catalog.catalog import Catalog
from core.catalog.records import NewAsset
from core.jobs.model import JobDocument, StepStatus
from core.jobs.steps import AssetRef, CancelToken, StepContext
from core.media.kinds import AssetKind
from core.paths import AppPaths
from core.pipeline import apply_step_output
from core.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Generator

    from core.jobs.steps import Progress

MODEL = "mobilenet-v2-imagenet"
# A box this close to the hand-written one frames the same subject: the map's cells are 32 px of
# the network's 512 px input (19-38 px of these photos), so an edge can be off by a cell.
MIN_IOU = 0.5
HAND_BOXES = {
    "chelsea.png": (20, 0, 380, 300),  # the cat's head, ear tips to chin, left cheek to right cheek
    "coffee.png": (170, 20, 250, 240),  # the espresso cup: rim to the bottom of its handle
}
ASTRONAUT_FACE = (178, 62, 96, 104)  # astronaut.png: brow line to chin, ear to ear


def _engine() -> InferenceEngine:
    return InferenceEngine(choose_device("cpu", DeviceCapabilities("2.13")), None)


@pytest.fixture(scope="module")
def engine() -> InferenceEngine:
    return _engine()


def _photo(name: str) -> np.ndarray:
    skimage_data = package_dir("skimage")
    assert skimage_data is not None, "scikit-image is not installed (installers/bootstrap.sh)"
    bgr = cv2.imread(str(skimage_data / "data" / name))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _iou(a: tuple[int, ...] | list[int], b: tuple[int, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    return ix * iy / float(aw * ah + bw * bh - ix * iy)


def _cup_on_a_wall() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A small espresso cup (the coffee photo's cup, shrunk) off-centre on a plain grey wall."""
    canvas = np.full((600, 900, 3), 200, np.uint8)
    cup = cv2.resize(_photo("coffee.png")[20:260, 170:420], (150, 144), interpolation=cv2.INTER_AREA)
    x, y = 120, 90
    canvas[y : y + 144, x : x + 150] = cup
    return canvas, (x, y, 150, 144)


@pytest.mark.parametrize("photo", sorted(HAND_BOXES))
def test_the_activation_map_frames_the_subject(engine: InferenceEngine, photo: str) -> None:
    result = focus_box(_photo(photo), engine)
    assert result.method == f"cam:{MODEL}"
    assert _iou(result.box, HAND_BOXES[photo]) >= MIN_IOU, result


def test_a_face_wins_over_the_activation_map(engine: InferenceEngine) -> None:
    result = focus_box(_photo("astronaut.png"), engine)
    assert result.method == "faces"
    assert _iou(result.box, ASTRONAUT_FACE) >= MIN_IOU, result


def test_without_the_model_focus_falls_back_to_saliency_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("core.ai.models.package_dir", lambda name: None)
    image, _truth = _cup_on_a_wall()
    result = focus_box(image, _engine())
    assert result.method == "saliency"
    assert "is not installed" in result.note


def _run(ctx: StepContext) -> dict[str, Any]:
    generator: Generator[Progress, None, dict[str, Any]] = focus_crop_step(ctx)
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def _catalog_asset(tmp_path: Path, image: np.ndarray) -> tuple[Catalog, StepContext, Settings]:
    source = tmp_path / "cup.png"
    assert cv2.imwrite(str(source), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    paths = AppPaths.resolve(tmp_path / "profile").ensure()
    catalog = Catalog(paths.catalog_file)
    project = catalog.create_project("p")
    ids = catalog.add_assets(
        [NewAsset(project.id, "cup", str(source), AssetKind.IMAGE, "hash-cup", source.stat().st_size)]
    )
    asset_id = next(iter(ids.values()))
    original = tmp_path / "thumb.jpg"
    catalog.set_thumbnail(asset_id, str(original))
    catalog.add_artifact(asset_id, "thumbnail", str(original))
    settings = Settings()
    asset = AssetRef(id=asset_id, path=source, kind="image", content_hash="hash-cup")
    ctx = StepContext(asset, paths, settings, CancelToken(), params={"inference_engine": _engine()})
    return catalog, ctx, settings


def _apply(catalog: Catalog, asset_id: int, out: dict[str, Any]) -> None:
    doc = JobDocument.new("classify", ["focus_crop"], asset_id=asset_id, project_id=None)
    step = doc.step("focus_crop")
    step.status = StepStatus.COMPLETED
    step.output = out
    apply_step_output(catalog, doc, "focus_crop")


def test_a_small_off_centre_subject_gets_a_focus_thumbnail_centred_on_it(tmp_path: Path) -> None:
    image, (tx, ty, tw, th) = _cup_on_a_wall()
    catalog, ctx, settings = _catalog_asset(tmp_path, image)
    assert ctx.asset is not None
    out = _run(ctx)
    assert out["method"] == f"cam:{MODEL}"
    x, y, w, h = out["box"]
    assert abs((x + w / 2) - (tx + tw / 2)) < tw / 4
    assert abs((y + h / 2) - (ty + th / 2)) < th / 4
    _apply(catalog, ctx.asset.id, out)
    record = catalog.get_asset(ctx.asset.id)
    assert record is not None
    assert record.thumbnail == out[FOCUS_THUMBNAIL]
    assert [a.path for a in catalog.artifacts(record.id, "thumbnail")] == [str(tmp_path / "thumb.jpg")]
    thumb = cv2.imread(out[FOCUS_THUMBNAIL])
    size = settings.thumbnail_size
    assert thumb.shape == (size, size, 3)
    # The cup (darker than the wall) is centred: its centre of mass is near the tile's centre.
    ys, xs = np.nonzero(cv2.cvtColor(thumb, cv2.COLOR_BGR2GRAY) < 150)
    assert abs(xs.mean() - size / 2) < size * 0.1
    assert abs(ys.mean() - size / 2) < size * 0.1
    # Switching back shows the original and is remembered; switching again shows the crop.
    assert switch_thumbnails(catalog, [record.id]) == [record.id]
    back = catalog.get_asset(record.id)
    assert back is not None
    assert back.thumbnail == str(tmp_path / "thumb.jpg")
    assert back.metadata[SHOW_ORIGINAL_THUMBNAIL] is True
    _apply(catalog, record.id, out)  # classifying again keeps the artist's choice
    again = catalog.get_asset(record.id)
    assert again is not None
    assert again.thumbnail == str(tmp_path / "thumb.jpg")
    catalog.close()


def test_with_the_setting_off_no_focus_thumbnail_is_made(tmp_path: Path) -> None:
    image, _truth = _cup_on_a_wall()
    catalog, ctx, settings = _catalog_asset(tmp_path, image)
    assert ctx.asset is not None
    settings.focus_thumbnails = False
    out = _run(ctx)
    assert out[FOCUS_THUMBNAIL] is None
    _apply(catalog, ctx.asset.id, out)
    assert catalog.artifacts(ctx.asset.id, FOCUS_THUMBNAIL) == []
    record = catalog.get_asset(ctx.asset.id)
    assert record is not None
    assert record.thumbnail == str(tmp_path / "thumb.jpg")
    catalog.close()
