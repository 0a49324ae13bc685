"""Small named network architectures that safetensors models in a manifest load into.

A safetensors file holds only weights; the manifest names the architecture (``tiny-cnn-v1``) and its
parameters, and this module builds the matching module. TorchScript models carry their own graph and
need nothing from here. torch is imported inside :func:`build_architecture`, never at module import.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from torch import nn


class ArchitectureError(ValueError):
    """Unknown architecture name or parameters that do not fit it."""


def _int_param(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ArchitectureError(f"architecture parameter {name!r} must be a positive integer")
    return value


def _tiny_cnn_v1(params: Mapping[str, Any]) -> nn.Module:
    """Classifier: two 3x3 convolutions, global average pooling, one linear layer.

    Input (N, 3, H, W) normalised; output (N, num_classes) logits. Any input size works because of
    the global pooling, which is what lets one network sort images of every shape.
    """
    from torch import nn

    num_classes = _int_param(params, "num_classes", 0) if "num_classes" in params else 0
    if num_classes <= 0:
        raise ArchitectureError("tiny-cnn-v1 needs num_classes (the number of labels)")
    width = _int_param(params, "width", 16)
    return nn.Sequential(
        nn.Conv2d(3, width, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, num_classes),
    )


def _tiny_espcn_v1(params: Mapping[str, Any]) -> nn.Module:
    return build_tiny_espcn(scale=_int_param(params, "scale", 2), width=_int_param(params, "width", 32))


def _tiny_heatmap_detector_v1(params: Mapping[str, Any]) -> nn.Module:
    """Detector: a fully convolutional objectness heat map (N, 1, H/4, W/4) in [0, 1]."""
    from torch import nn

    width = _int_param(params, "width", 16)
    return nn.Sequential(
        nn.Conv2d(3, width, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(width, width, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(width, 1, kernel_size=1),
        nn.Sigmoid(),
    )


@functools.cache
def _espcn_class() -> type[nn.Module]:
    """The ESPCN-like super-resolution module, defined on first use so torch stays unimported."""
    import torch
    import torch.nn.functional as functional
    from torch import nn

    class _TinyEspcn(nn.Module):
        """ESPCN (sub-pixel convolution) predicting a residual over a bicubic upscale.

        Predicting the residual means a network with small weights already gives a sensible image,
        and the learned part only adds detail.
        """

        def __init__(self, scale: int, width: int) -> None:
            super().__init__()
            self.scale = scale
            self.features = nn.Sequential(
                nn.Conv2d(3, width, kernel_size=5, padding=2),
                nn.Tanh(),
                nn.Conv2d(width, width // 2, kernel_size=3, padding=1),
                nn.Tanh(),
                nn.Conv2d(width // 2, 3 * scale * scale, kernel_size=3, padding=1),
            )
            self.shuffle = nn.PixelShuffle(scale)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            base = functional.interpolate(
                x, scale_factor=float(self.scale), mode="bicubic", align_corners=False
            )
            detail: torch.Tensor = self.shuffle(self.features(x))
            return base + detail

    return _TinyEspcn


def build_tiny_espcn(scale: int = 2, width: int = 32) -> nn.Module:
    """The tiny ESPCN super-resolution network (input (N,3,H,W) in [0,1], output scaled)."""
    return _espcn_class()(scale, width)


def _mobilenet_v2(params: Mapping[str, Any]) -> nn.Module:
    from core.ai.mobilenet import build_mobilenet_v2

    return build_mobilenet_v2(num_classes=_int_param(params, "num_classes", 1000))


ARCHITECTURES: dict[str, Callable[[Mapping[str, Any]], nn.Module]] = {
    "mobilenet-v2": _mobilenet_v2,
    "tiny-cnn-v1": _tiny_cnn_v1,
    "tiny-espcn-v1": _tiny_espcn_v1,
    "tiny-heatmap-detector-v1": _tiny_heatmap_detector_v1,
}


def build_architecture(name: str, params: Mapping[str, Any] | None = None) -> nn.Module:
    """A freshly initialised module of the named architecture."""
    try:
        factory = ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ArchitectureError(f"unknown architecture {name!r} (known: {known})") from None
    return factory(dict(params or {}))
