"""Object-aware focus: a box around what the subject classifier looked at, when the grid should
show a crop around it instead of the whole picture, and the artist's switch between the two.

The box comes from the class activation map (CAM) of MobileNetV2's top class, computed by
``InferenceEngine.subject_activation`` in the same forward pass that names the class. The map is
1/32 of the picture; it is upsampled, cut at ``CAM_FRACTION`` of its maximum, and the largest
connected region above the cut, padded by ``CAM_PADDING``, is the subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

    from core.ai.inference import InferenceEngine
    from core.catalog.catalog import Catalog

# The network sees the whole picture at this longest side: 512 px gives a 16-cell map along the
# long side; at 384 (12 cells) a subject a sixth of the width wide bled into a box twice its size.
CAM_INPUT_SIDE = 512
# Cells at or above this fraction of the map's maximum are "the subject". Lower values swallow the
# context (a saucer, the wall); higher ones keep only the most telling part (a cat's eyes). 0.5 gave the
# best IoU against hand-drawn boxes on scikit-image's astronaut, chelsea and coffee photos.
CAM_FRACTION = 0.5
# Each side of the region grows by this share of its size: the map is coarse (32 px cells), and a
# thumbnail cut tight to the subject's outline looks cramped.
CAM_PADDING = 0.1
# The grid shows a focus crop only when the subject would be lost in the whole picture: it covers
# less than this share of the image area...
SMALL_SUBJECT_SHARE = 0.25
# ...or its centre is further than this share of the width (or height) from the image centre.
OFF_CENTRE_SHARE = 0.15
FOCUS_THUMBNAIL = "focus_thumbnail"  # the artifact kind
SHOW_ORIGINAL_THUMBNAIL = "show_original_thumbnail"  # metadata key: the artist switched back


@dataclass(frozen=True)
class CamBox:
    box: tuple[int, int, int, int]  # x, y, w, h in the pixels of the image given
    model: str  # the subject model's manifest name
    class_index: int
    probability: float


def cam_box(rgb: npt.NDArray[np.uint8], engine: InferenceEngine) -> CamBox | str:
    """The subject's box from the class activation map of the top class, or why there is none."""
    activation = engine.subject_activation(rgb, CAM_INPUT_SIDE)
    if isinstance(activation, str):
        return activation
    height, width = rgb.shape[:2]
    box = box_from_cam(activation.cam, width, height)
    if box is None:
        return f"{activation.entry.name} found no subject (its activation map is flat)"
    return CamBox(box, activation.entry.name, activation.class_index, activation.probability)


def box_from_cam(cam: npt.NDArray[np.float32], width: int, height: int) -> tuple[int, int, int, int] | None:
    """The padded box (in a ``width``×``height`` image) of the largest region of ``cam`` at or above
    ``CAM_FRACTION`` of its maximum; None when nothing is positive."""
    import cv2
    import numpy as np

    if cam.size == 0 or not np.isfinite(cam).all() or float(cam.max()) <= 0.0:
        return None
    # Upsample first so the cut follows the map's slopes rather than its 32 px cells.
    scale = min(1.0, 256 / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    smooth = cv2.resize(cam, size, interpolation=cv2.INTER_LINEAR)
    mask = (smooth >= CAM_FRACTION * float(smooth.max())).astype(np.uint8)
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) / scale for v in stats[best, :4])
    pad_x, pad_y = w * CAM_PADDING, h * CAM_PADDING
    left, top = max(0.0, x - pad_x), max(0.0, y - pad_y)
    right, bottom = min(float(width), x + w + pad_x), min(float(height), y + h + pad_y)
    return (round(left), round(top), max(1, round(right - left)), max(1, round(bottom - top)))


def wants_focus_thumbnail(box: tuple[int, int, int, int] | list[int], width: int, height: int) -> bool:
    """Whether the subject is small or off-centre enough that the grid should show a crop of it."""
    x, y, w, h = box
    if w * h < SMALL_SUBJECT_SHARE * width * height:
        return True
    off_x = abs(x + w / 2 - width / 2) / width
    off_y = abs(y + h / 2 - height / 2) / height
    return max(off_x, off_y) > OFF_CENTRE_SHARE


def switch_thumbnails(catalog: Catalog, asset_ids: Sequence[int]) -> list[int]:
    """Swap each asset's grid thumbnail between its focus crop and its original; the assets that
    have a focus crop (the others are left alone) are returned. The choice is remembered in the
    metadata so that classifying again does not undo it."""
    switched = []
    for record in catalog.get_assets(asset_ids):
        focus = catalog.artifacts(record.id, FOCUS_THUMBNAIL)
        original = catalog.artifacts(record.id, "thumbnail")
        if not focus or not original:
            continue
        showing_focus = record.thumbnail == focus[-1].path
        catalog.set_thumbnail(record.id, original[-1].path if showing_focus else focus[-1].path)
        catalog.update_metadata(record.id, {SHOW_ORIGINAL_THUMBNAIL: showing_focus})
        switched.append(record.id)
    return switched
