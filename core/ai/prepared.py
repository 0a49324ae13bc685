"""A picture made ready for classification in its job's thread, before it waits for the device.

Everything about one image that does not need the model is done here: the subject model's input
tensor (resized, cropped and normalised as its manifest entry says) and the classical statistics the
kind head and the classical fallback read. The inference lane's jobs run this side by side while the
one device thread runs forward passes (``core.ai.batcher``); measured on the lane, doing it in the
device thread instead cost more than the forward pass itself (about 20-30 ms an image against 22 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.ai.classify import ClassifyHints, ImageFeatures, as_rgb_uint8, complete_hints, measure_features

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from core.ai.models import ModelEntry

CROP_FRACTION = 0.875  # torchvision's resize 256 / crop 224


@dataclass(frozen=True)
class PreparedImage:
    rgb: npt.NDArray[np.uint8]  # the picture as RGB uint8: a studio model and the fallbacks read it
    hints: ClassifyHints  # with the picture's own size where the file's is not known
    features: ImageFeatures  # the classical statistics (core.ai.classify.measure_features)
    # The subject model's input (C, H, W) and the manifest entry it was made for; None when no
    # subject model is listed.
    subject_input: npt.NDArray[np.float32] | None = None
    subject_entry: str | None = None

    def subject_input_for(self, entry: ModelEntry) -> npt.NDArray[np.float32]:
        """The input tensor for ``entry``: the one made beforehand, or made now if the model in use
        changed meanwhile (switched off in Preferences, a studio's model added)."""
        if self.subject_input is not None and self.subject_entry == entry.name:
            return self.subject_input
        return model_input(self.rgb, entry)


def prepare_image(
    image: npt.NDArray[Any], hints: ClassifyHints | None, subject_entry: ModelEntry | None
) -> PreparedImage:
    rgb = as_rgb_uint8(image)
    return PreparedImage(
        rgb,
        complete_hints(rgb, hints),
        measure_features(rgb),
        model_input(rgb, subject_entry) if subject_entry is not None else None,
        subject_entry.name if subject_entry is not None else None,
    )


def model_input(image: npt.NDArray[Any], entry: ModelEntry) -> npt.NDArray[np.float32]:
    """RGB uint8 → resized, normalised CHW float32 as the manifest describes."""
    import cv2
    import numpy as np

    rgb = as_rgb_uint8(image)
    width, height = entry.input_size
    if entry.resize == "center-crop":
        rgb = _centre_crop(rgb, width, height)
    if rgb.shape[:2] != (height, width):
        shrinking = rgb.shape[0] > height or rgb.shape[1] > width
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        rgb = np.asarray(cv2.resize(rgb, (width, height), interpolation=interpolation), np.uint8)
    scaled = rgb.astype(np.float32) / 255.0
    normalised = (scaled - np.asarray(entry.mean, np.float32)) / np.asarray(entry.std, np.float32)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1))


def _centre_crop(rgb: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    """The centre of the picture at the aspect of (width, height) / CROP_FRACTION: how ImageNet
    models were evaluated (shorter side to 256 then the middle 224 for a 224 input)."""
    source_height, source_width = rgb.shape[:2]
    scale = min(source_width / width, source_height / height) * CROP_FRACTION
    crop_w = max(1, min(source_width, round(width * scale)))
    crop_h = max(1, min(source_height, round(height * scale)))
    top, left = (source_height - crop_h) // 2, (source_width - crop_w) // 2
    return rgb[top : top + crop_h, left : left + crop_w]
