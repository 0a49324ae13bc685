"""Device choice and the inference engine's real batched path."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

from core.ai.device import DeviceCapabilities, choose_device, describe_device, probe_capabilities
from core.ai.inference import InferenceEngine
from core.jobs.steps import CancelToken, JobCancelledError
from tests.core.ai import modelkit

if TYPE_CHECKING:
    from pathlib import Path

CPU = DeviceCapabilities(torch_version="2.13.0")
H100 = DeviceCapabilities(
    torch_version="2.13.0",
    cuda_available=True,
    cuda_device_count=1,
    cuda_device_name="NVIDIA H100",
    cuda_capability=(9, 0),
)
OLD_GPU = DeviceCapabilities(
    torch_version="2.13.0",
    cuda_available=True,
    cuda_device_count=1,
    cuda_device_name="GTX 1080",
    cuda_capability=(6, 1),
)
MAC = DeviceCapabilities(torch_version="2.13.0", mps_available=True)


def test_this_machine_runs_on_cpu() -> None:
    choice = choose_device("auto")
    caps = probe_capabilities()
    assert choice.device == ("cuda:0" if caps.cuda_available else "cpu")
    info = describe_device()
    assert info["torch_version"] == torch.__version__
    assert info["cuda_available"] == torch.cuda.is_available()


@pytest.mark.parametrize(
    ("preference", "caps", "device", "fp16", "reason"),
    [
        ("auto", H100, "cuda:0", True, "CUDA available"),
        ("auto", OLD_GPU, "cuda:0", False, "compute capability 6.1"),
        ("auto", MAC, "mps", False, "MPS available"),
        ("auto", CPU, "cpu", False, "no CUDA or MPS"),
        ("cpu", H100, "cpu", False, "CPU requested"),
        ("cuda", CPU, "cpu", False, "CUDA requested but not available"),
        ("cuda", MAC, "mps", False, "CUDA requested but not available"),
        ("mps", H100, "cuda:0", True, "MPS requested but not available"),
        (
            "auto",
            DeviceCapabilities(torch_version=None, problem="PyTorch is not installed"),
            "cpu",
            False,
            "not installed",
        ),
    ],
)
def test_device_preference_logic(
    preference: str, caps: DeviceCapabilities, device: str, fp16: bool, reason: str
) -> None:
    choice = choose_device(preference, caps)
    assert (choice.device, choice.fp16) == (device, fp16)
    assert reason in choice.reason


def test_unknown_preference_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown inference device"):
        choose_device("tpu", CPU)


def test_ai_modules_do_not_import_torch_or_cv2_at_start_up() -> None:
    code = (
        "import sys, core.ai.device, core.ai.models, core.ai.inference, core.ai.classify, "
        "core.ai.focus, core.ai.enhance, core.ai.steps, core.ai.architectures\n"
        "heavy = [m for m in ('torch', 'cv2', 'safetensors') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _coloured(rng: np.random.Generator, channel: int, size: int = 48) -> np.ndarray:
    image = rng.integers(0, 60, size=(size, size, 3), dtype=np.uint8)
    image[:, :, channel] = rng.integers(180, 255, size=(size, size), dtype=np.uint8)
    return image


@pytest.mark.parametrize("fmt", ["safetensors", "torchscript"])
def test_model_classifies_known_colours(tmp_path: Path, fmt: str) -> None:
    modelkit.write_colour_classifier(tmp_path, fmt)
    engine = InferenceEngine(choose_device("cpu", CPU), tmp_path)
    rng = np.random.default_rng(1)
    images = [_coloured(rng, channel) for channel in (0, 1, 2, 0)]
    results = engine.classify_batch(images)
    assert [r.top for r in results] == ["red", "green", "blue", "red"]
    assert all(r.path == f"model:colour-{fmt}" and r.device == "cpu" for r in results)
    assert all(r.categories[0][1] > 0.9 for r in results)


def test_batch_of_eight_equals_eight_singles(tmp_path: Path) -> None:
    modelkit.write_colour_classifier(tmp_path)
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 255, size=(40 + i, 50, 3), dtype=np.uint8) for i in range(8)]
    batched = InferenceEngine(choose_device("cpu", CPU), tmp_path, batch_size=8)
    single = InferenceEngine(choose_device("cpu", CPU), tmp_path, batch_size=1)
    together = batched.classify_batch(images)
    alone = [single.classify_batch([image])[0] for image in images]
    for a, b in zip(together, alone, strict=True):
        assert [name for name, _ in a.categories] == [name for name, _ in b.categories]
        assert np.allclose([c for _, c in a.categories], [c for _, c in b.categories], atol=1e-4)


def test_batch_size_is_respected_in_forward_passes(tmp_path: Path) -> None:
    modelkit.write_colour_classifier(tmp_path)
    engine = InferenceEngine(choose_device("cpu", CPU), tmp_path, batch_size=3)
    loaded = engine.model_for("classify")
    assert not isinstance(loaded, str)
    seen: list[int] = []
    loaded[1].register_forward_pre_hook(lambda _m, args: seen.append(int(args[0].shape[0])))
    engine.classify_batch([np.zeros((20, 20, 3), np.uint8)] * 8)
    assert seen == [3, 3, 2]
    engine.batch_size = 5
    seen.clear()
    engine.classify_batch([np.zeros((20, 20, 3), np.uint8)] * 8)
    assert seen == [5, 3]
    with pytest.raises(ValueError, match="batch_size"):
        engine.batch_size = 0


def test_cancel_between_batches(tmp_path: Path) -> None:
    modelkit.write_colour_classifier(tmp_path)
    engine = InferenceEngine(choose_device("cpu", CPU), tmp_path, batch_size=2)
    token = CancelToken()
    done: list[float] = []

    def progress(fraction: float) -> None:
        done.append(fraction)
        if len(done) == 2:
            token.cancel()

    with pytest.raises(JobCancelledError):
        engine.classify_batch([np.zeros((16, 16, 3), np.uint8)] * 10, cancel=token, progress=progress)
    assert done == [0.2, 0.4], "stopped after the batch in flight, not before or much later"


def test_tampered_model_falls_back_with_reason(tmp_path: Path) -> None:
    entry = modelkit.write_colour_classifier(tmp_path)
    path = entry.path_in(tmp_path)
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    engine = InferenceEngine(choose_device("cpu", CPU), tmp_path)
    (result,) = engine.classify_batch([np.full((32, 32, 3), 128, np.uint8)])
    assert result.path == "model:kind-head", "the built-in kind head stands in"
    assert "checksum mismatch" in result.note
    engine.disabled_models = frozenset({"kind-head"})
    (result,) = engine.classify_batch([np.full((32, 32, 3), 128, np.uint8)])
    assert result.path == "classical"
    assert result.model is None
    assert "checksum mismatch" in result.note
    assert "kind-head switched off" in result.note


def test_no_model_dir_uses_the_built_in_kind_head(tmp_path: Path) -> None:
    engine = InferenceEngine(choose_device("cpu", CPU), None)
    (result,) = engine.classify_batch([np.full((32, 32, 3), 128, np.uint8)])
    assert result.path == "model:kind-head"
    assert result.model == "kind-head"
    assert result.note == ""


def test_fp16_path_gives_the_same_answers(tmp_path: Path) -> None:
    """The half-precision path CUDA takes, run on the CPU (which has fp16 kernels) to prove it."""
    from core.ai.device import DeviceChoice

    modelkit.write_colour_classifier(tmp_path)
    half = InferenceEngine(DeviceChoice("cpu", "fp16 test", fp16=True), tmp_path)
    full = InferenceEngine(choose_device("cpu", CPU), tmp_path)
    rng = np.random.default_rng(3)
    images = [_coloured(rng, channel) for channel in (2, 1, 0)]
    loaded = half.model_for("classify")
    assert not isinstance(loaded, str)
    assert next(loaded[1].parameters()).dtype == torch.float16
    assert [r.top for r in half.classify_batch(images)] == [r.top for r in full.classify_batch(images)]
