"""MobileNetV2 (Sandler et al., 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks").

Built from the paper's Table 2 with the module names torchvision's state dicts use
(``features.N.conv.M``, ``classifier.1``), so torchvision's ImageNet weights load with
``strict=True``. Writing these ~70 lines avoids depending on torchvision, whose PyPI wheels must
match the pinned torch build exactly and add a C++ extension the app does not need.
torch is imported on first use, never at module import.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

# (expansion t, output channels c, repeats n, first stride s): Table 2 of the paper.
INVERTED_RESIDUAL_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280


def _conv_bn_relu6(inp: int, out: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out),
        nn.ReLU6(inplace=True),
    )


@functools.cache
def _classes() -> tuple[type[nn.Module], type[nn.Module]]:
    import torch
    from torch import nn

    class InvertedResidual(nn.Module):
        """Expand (1x1), depthwise (3x3), project (1x1, linear); a skip when shapes allow."""

        def __init__(self, inp: int, out: int, stride: int, expansion: int) -> None:
            super().__init__()
            hidden = inp * expansion
            self.use_skip = stride == 1 and inp == out
            layers: list[nn.Module] = []
            if expansion != 1:
                layers.append(_conv_bn_relu6(inp, hidden, 1))
            layers += [
                _conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
                nn.Conv2d(hidden, out, 1, bias=False),
                nn.BatchNorm2d(out),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y: torch.Tensor = self.conv(x)
            return x + y if self.use_skip else y

    class MobileNetV2(nn.Module):
        def __init__(self, num_classes: int, dropout: float) -> None:
            super().__init__()
            blocks: list[nn.Module] = [_conv_bn_relu6(3, STEM_CHANNELS, 3, stride=2)]
            inp = STEM_CHANNELS
            for expansion, out, repeats, first_stride in INVERTED_RESIDUAL_SETTINGS:
                for index in range(repeats):
                    blocks.append(InvertedResidual(inp, out, first_stride if index == 0 else 1, expansion))
                    inp = out
            blocks.append(_conv_bn_relu6(inp, LAST_CHANNELS, 1))
            self.features = nn.Sequential(*blocks)
            self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(LAST_CHANNELS, num_classes))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.forward_with_features(x)[0]

        def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """Logits and the last conv features (N, 1280, H/32, W/32) of one pass: what a class
            activation map needs, without running the network a second time."""
            features: torch.Tensor = self.features(x)
            pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(features, 1), 1)
            logits: torch.Tensor = self.classifier(pooled)
            return logits, features

    return InvertedResidual, MobileNetV2


def build_mobilenet_v2(num_classes: int = 1000, dropout: float = 0.2) -> nn.Module:
    """An untrained MobileNetV2 (width 1.0); load weights into it before use."""
    return _classes()[1](num_classes, dropout)


def class_activation_map(module: nn.Module, features: torch.Tensor, class_index: int) -> torch.Tensor:
    """CAM (Zhou et al., 2016) of one image's features (1280, h, w) for ``class_index``.

    MobileNetV2 ends in global average pooling and one linear layer, so the class score is exactly
    the spatial mean of this map plus the bias: CAM is exact here and needs no gradients (Grad-CAM
    would give the same map at the cost of a backward pass).
    """
    from torch import nn

    linear = module.get_submodule("classifier.1")
    if not isinstance(linear, nn.Linear):
        raise TypeError("not a MobileNetV2: classifier.1 is not a linear layer")
    weights = linear.weight[class_index].to(features.dtype)
    cam: torch.Tensor = (weights[:, None, None] * features).sum(dim=0)
    return cam
