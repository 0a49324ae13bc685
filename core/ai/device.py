"""Which device inference runs on, and why.

``choose_device`` takes the user's preference and what the machine offers. What the machine offers
is read by :func:`probe_capabilities` (the only place torch is asked), so tests and ``doctor`` can pass
in capabilities of a machine they are not running on instead of faking torch.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

DevicePreference = Literal["auto", "cuda", "mps", "cpu"]

# Tensor cores (Volta, 7.0) and later run fp16 fast and accurately enough for inference; older
# cards emulate parts of it or gain nothing, so they stay in fp32.
MIN_FP16_CAPABILITY = (7, 0)


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # a torch device string: "cuda:0", "mps", "cpu"
    reason: str
    fp16: bool
    # What the user asked for: runtimes other than torch (ncnn on Vulkan) honour "cpu" too.
    preference: str = "auto"


@dataclass(frozen=True)
class DeviceCapabilities:
    """What the machine offers, as torch sees it. ``torch_version`` is None when torch is missing."""

    torch_version: str | None
    cuda_available: bool = False
    cuda_device_count: int = 0
    cuda_device_name: str = ""
    cuda_capability: tuple[int, int] | None = None
    mps_available: bool = False
    problem: str = ""


def probe_capabilities() -> DeviceCapabilities:
    """Ask torch (imported here, lazily) what it can run on; never raises."""
    try:
        import torch
    except ImportError as exc:
        return DeviceCapabilities(torch_version=None, problem=f"PyTorch is not installed ({exc})")
    cuda_available = False
    count = 0
    name = ""
    capability: tuple[int, int] | None = None
    problem = ""
    try:
        cuda_available = bool(torch.cuda.is_available())
        if cuda_available:
            count = int(torch.cuda.device_count())
            name = str(torch.cuda.get_device_name(0))
            major, minor = torch.cuda.get_device_capability(0)
            capability = (int(major), int(minor))
    except (RuntimeError, AssertionError) as exc:
        # A broken driver makes these calls raise; the app must still run on the CPU.
        cuda_available = False
        problem = f"CUDA probe failed: {exc}"
    mps_available = False
    mps_backend = getattr(torch.backends, "mps", None)
    if mps_backend is not None:
        try:
            mps_available = bool(mps_backend.is_available())
        except RuntimeError:
            mps_available = False
    return DeviceCapabilities(
        torch_version=str(torch.__version__),
        cuda_available=cuda_available,
        cuda_device_count=count,
        cuda_device_name=name,
        cuda_capability=capability,
        mps_available=mps_available,
        problem=problem,
    )


def _cuda_choice(capabilities: DeviceCapabilities, why: str) -> DeviceChoice:
    capability = capabilities.cuda_capability
    fp16 = capability is not None and capability >= MIN_FP16_CAPABILITY
    cap_text = f"{capability[0]}.{capability[1]}" if capability else "unknown"
    precision = "fp16" if fp16 else f"fp32 (compute capability {cap_text} < 7.0)"
    return DeviceChoice(
        device="cuda:0",
        reason=f"{why}: {capabilities.cuda_device_name or 'CUDA device'}, {precision}",
        fp16=fp16,
    )


def choose_device(preference: str = "auto", capabilities: DeviceCapabilities | None = None) -> DeviceChoice:
    """CUDA when available (fp16 where safe), else Apple MPS, else CPU. Logs the choice and why.

    An explicit preference the machine cannot honour falls back to the automatic order with the
    reason saying so, because a missing GPU must never stop the app from sorting files.
    """
    if preference not in ("auto", "cuda", "mps", "cpu"):
        raise ValueError(f"Unknown inference device {preference!r}; use auto, cuda, mps or cpu")
    caps = capabilities if capabilities is not None else probe_capabilities()
    choice = dataclasses.replace(_decide(preference, caps), preference=preference)
    log.info("Inference device: %s (%s)", choice.device, choice.reason)
    return choice


def _decide(preference: str, caps: DeviceCapabilities) -> DeviceChoice:
    if caps.torch_version is None:
        return DeviceChoice("cpu", f"{caps.problem}; only classical methods can run", False)
    if preference == "cpu":
        return DeviceChoice("cpu", "CPU requested in settings", False)
    unmet = ""
    if preference == "cuda":
        if caps.cuda_available:
            return _cuda_choice(caps, "CUDA requested in settings")
        unmet = "CUDA requested but not available" + (f" ({caps.problem})" if caps.problem else "")
    elif preference == "mps":
        if caps.mps_available:
            return DeviceChoice("mps", "Apple MPS requested in settings", False)
        unmet = "Apple MPS requested but not available"
    prefix = f"{unmet}; " if unmet else ""
    if caps.cuda_available:
        return _cuda_choice(caps, f"{prefix}CUDA available")
    if caps.mps_available:
        # fp16 on MPS is still patchy across ops; fp32 keeps results identical to the CPU path.
        return DeviceChoice("mps", f"{prefix}Apple MPS available", False)
    no_gpu = "no CUDA or MPS device found" + (f" ({caps.problem})" if caps.problem else "")
    return DeviceChoice("cpu", f"{prefix}{no_gpu}", False)


def describe_device(preference: str = "auto") -> dict[str, object]:
    """Facts for ``stratopipe doctor``: torch version, CUDA availability, device name and count."""
    caps = probe_capabilities()
    choice = _decide(preference, caps) if preference in ("auto", "cuda", "mps", "cpu") else None
    return {
        "torch_version": caps.torch_version,
        "cuda_available": caps.cuda_available,
        "cuda_device_count": caps.cuda_device_count,
        "cuda_device_name": caps.cuda_device_name,
        "cuda_capability": (
            f"{caps.cuda_capability[0]}.{caps.cuda_capability[1]}" if caps.cuda_capability else ""
        ),
        "mps_available": caps.mps_available,
        "chosen_device": choice.device if choice else "",
        "fp16": choice.fp16 if choice else False,
        "reason": choice.reason if choice else f"unknown preference {preference!r}",
        "problem": caps.problem,
    }
