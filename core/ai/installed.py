"""The installed models, checked: what Preferences ▸ Models and ``stratopipe doctor`` show.

Each model of the model directory and of the app's own manifest is listed with its licence, size,
checksum state and the device it would run on. Checking reads every file (sha256) and starts the
ncnn runtime once in probe mode, so callers run this off the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.ai.models import (
    ModelError,
    builtin_manifest_dir,
    ensure_graph_file,
    ensure_model_file,
    load_manifest,
)

if TYPE_CHECKING:
    from pathlib import Path

    from core.ai.models import ModelEntry
    from core.ai.ncnn_upscaler import NcnnRuntime

BUILT_IN = "built-in"


@dataclass(frozen=True)
class InstalledModel:
    name: str
    version: str
    task: str
    origin: str  # BUILT_IN or the model directory
    licence: str
    size: int  # bytes, all of its files
    sha256: str  # of the weights
    problem: str  # empty when the files are present, intact and the runtime loads
    device: str

    @property
    def ready(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class ModelsReport:
    models: list[InstalledModel]
    problem: str = ""  # a model directory whose manifest cannot be read
    ncnn_runtime: NcnnRuntime | None = None  # probed when an ncnn model is listed


def installed_models(model_dir: Path | None, device_preference: str) -> ModelsReport:
    """Every listed model, the model directory's first (they win over built-in ones of a task)."""
    listed: list[tuple[ModelEntry, Path, str]] = []
    problem = ""
    if model_dir is not None:
        try:
            listed += [(e, model_dir, str(model_dir)) for e in load_manifest(model_dir)]
        except ModelError as exc:
            problem = str(exc)
    listed += [(e, builtin_manifest_dir(), BUILT_IN) for e in load_manifest(builtin_manifest_dir())]
    torch_device = _torch_device(device_preference)
    runtime = _ncnn_runtime() if any(e.format == "ncnn" for e, _d, _o in listed) else None
    models = []
    for entry, folder, origin in listed:
        trouble = _check_files(entry, folder)
        if entry.format == "ncnn":
            assert runtime is not None
            device = _ncnn_device(runtime, device_preference)
            trouble = trouble or runtime.problem
        elif entry.format == "numpy-npz":
            device = "cpu"  # a small matrix product in numpy, after the subject model's pass
        else:
            device = torch_device
        models.append(
            InstalledModel(
                name=entry.name,
                version=entry.version,
                task=entry.task,
                origin=origin,
                licence=entry.licence,
                size=entry.size + (entry.graph.size if entry.graph else 0),
                sha256=entry.sha256,
                problem=trouble,
                device=device,
            )
        )
    return ModelsReport(models, problem, runtime)


def _check_files(entry: ModelEntry, folder: Path) -> str:
    if entry.url and not entry.package and not entry.path_in(folder).is_file():
        return "not downloaded yet: fetched on first use"
    try:
        ensure_model_file(entry, folder, allow_fetch=False)
        if entry.graph is not None:
            ensure_graph_file(entry, folder)
    except ModelError as exc:
        return str(exc)
    return ""


def _torch_device(preference: str) -> str:
    from core.ai.device import choose_device, probe_capabilities

    capabilities = probe_capabilities()
    if capabilities.torch_version is None:
        return "unavailable (no PyTorch)"
    return choose_device(preference, capabilities).device


def _ncnn_runtime() -> NcnnRuntime:
    from core.ai.ncnn_upscaler import probe_runtime

    return probe_runtime()


def _ncnn_device(runtime: NcnnRuntime, preference: str) -> str:
    if not runtime.available:
        return "unavailable"
    return "vulkan:0" if runtime.gpu_count and preference != "cpu" else "cpu"
