"""Tiny models with known behaviour, written as real model files with a manifest.

The colour classifier is constructed, not trained: its first convolution copies the R, G and B
channels, the second passes them through, global pooling gives the mean colour and the linear layer
scores "red", "green" and "blue" by it. So a red image must come out "red" through the real path.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import save_file

from core.ai.architectures import build_architecture
from core.ai.models import ModelEntry, entry_for_file, write_manifest

if TYPE_CHECKING:
    from pathlib import Path

COLOUR_LABELS = ("red", "green", "blue")


def colour_classifier() -> torch.nn.Module:
    module = build_architecture("tiny-cnn-v1", {"num_classes": 3, "width": 4})
    conv1, conv2, linear = module[0], module[2], module[6]
    with torch.no_grad():
        for layer in (conv1, conv2):
            layer.weight.zero_()
            layer.bias.zero_()
            for channel in range(3):
                layer.weight[channel, channel, 1, 1] = 1.0
        linear.weight.zero_()
        linear.bias.zero_()
        linear.weight[:3, :3] = torch.eye(3) * 12.0 - 4.0
    return module.eval()


def detector_for_red() -> torch.nn.Module:
    """Heat map that lights up where red dominates green and blue."""
    module = build_architecture("tiny-heatmap-detector-v1", {"width": 2})
    conv1, conv2, head = module[0], module[3], module[6]
    with torch.no_grad():
        for layer in (conv1, conv2, head):
            layer.weight.zero_()
            layer.bias.zero_()
        conv1.weight[0, 0, 1, 1] = 2.0
        conv1.weight[0, 1, 1, 1] = -1.0
        conv1.weight[0, 2, 1, 1] = -1.0
        conv2.weight[0, 0, 1, 1] = 1.0
        head.weight[0, 0, 0, 0] = 40.0
        head.bias[0] = -6.0
    return module.eval()


def espcn(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    module = build_architecture("tiny-espcn-v1", {"scale": 2, "width": 8})
    with torch.no_grad():
        last = module.features[-1]
        last.weight.mul_(0.05)
        last.bias.zero_()
    return module.eval()


def save_safetensors(module: torch.nn.Module, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path))
    return path


def save_torchscript(module: torch.nn.Module, path: Path, example: torch.Tensor) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # torch 2.13 deprecates tracing in favour of torch.export, but TorchScript files are what
    # studios ship today and what the loader must read; building one here is the point.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`torch\.jit\.trace\w*` is deprecated", DeprecationWarning)
        traced = torch.jit.trace(module, example)
    traced.save(str(path))
    return path


def classifier_entry(path: Path, fmt: str, name: str, **extra: Any) -> ModelEntry:
    fields: dict[str, Any] = {
        "name": name,
        "task": "classify",
        "format": fmt,
        "labels": list(COLOUR_LABELS),
        "input_size": 32,
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "licence": "CC0",
        "source": "built by the test suite",
    }
    if fmt == "safetensors":
        fields["architecture"] = "tiny-cnn-v1"
        fields["architecture_params"] = {"width": 4}
    fields.update(extra)
    return entry_for_file(path, **fields)


def write_colour_classifier(model_dir: Path, fmt: str = "safetensors") -> ModelEntry:
    module = colour_classifier()
    if fmt == "safetensors":
        path = save_safetensors(module, model_dir / "colour.safetensors")
    else:
        path = save_torchscript(module, model_dir / "colour.pt", torch.zeros(1, 3, 32, 32))
    entry = classifier_entry(path, fmt, f"colour-{fmt}")
    write_manifest(model_dir, [entry])
    return entry
