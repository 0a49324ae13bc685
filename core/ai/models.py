"""Model manifests, checksums, on-demand fetching and loading.

A model directory (``settings.model_dir``, a studio share, or ``AppPaths.model_dir``) holds
``manifest.json`` and the model files it lists. Every file is size- and sha256-checked before torch
ever reads it, so a truncated download or a tampered file is refused with a clear message instead of
being loaded. Files with a ``url`` are fetched on demand (atomic rename into the directory).

The app's own manifest (``resources/models/manifest.json``) lists models whose weights ship inside
an installed Python package (``package``): the file is looked up in that package's folder and
checked the same way, so a studio's model directory and the built-in models share one loader. A
built-in entry without a package (the kind head, trained by ``core/ai/train_kinds.py``) ships
beside the manifest in ``resources/models`` and is resolved against that folder like any model
directory's file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import pickle
import tempfile
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.ai.architectures import ArchitectureError, build_architecture
from core.child_process import app_root, is_frozen, resources_dir

if TYPE_CHECKING:
    from torch import nn

    from core.jobs.steps import CancelToken
    from core.paths import AppPaths
    from core.settings import Settings

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA_VERSION = 1
_CHUNK = 1024 * 1024
DEFAULT_FETCH_TIMEOUT_S = 30.0

# "classify" sorts into the catalog's kinds (photograph, texture...); "subjects" is an ImageNet-1k
# classifier whose 1000 classes and artist groups come from resources/models/imagenet_groups.json.
# "kinds" is the small head that sorts into kinds from the subject model's embedding
# (core/ai/kind_head.py); a studio "classify" model wins over it.
ModelTask = Literal["classify", "subjects", "kinds", "detect", "enhance"]
# "pytorch-state-dict": a torch.save'd dict of tensors, read with weights_only=True (no pickle code).
# "ncnn": an ncnn network (``graph``: the .param file; ``file``: the .bin weights), run by the
# Real-ESRGAN ncnn runtime in a child process (core/ai/ncnn_upscaler.py), not by torch.
# "numpy-npz": arrays read with allow_pickle=False; the kind head's format (a matrix product needs
# no torch module).
ModelFormat = Literal["safetensors", "pytorch-state-dict", "torchscript", "ncnn", "numpy-npz"]
ResizeMode = Literal["stretch", "center-crop"]
ProgressCallback = Callable[[float], None]


class ModelError(Exception):
    """A model cannot be used; the message is meant for the user."""


class ManifestError(ModelError):
    """manifest.json is unreadable or describes a model badly."""


class ModelUnavailableError(ModelError):
    """The model file is missing and cannot be fetched (offline, no URL, HTTP error)."""


class ChecksumMismatchError(ModelError):
    """The file on disk or the download is not the file the manifest describes."""


def _relative_inside(value: str) -> str:
    # A manifest from a share must not make us read or write outside the model directory.
    pure = PurePosixPath(value.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise ValueError("file must be a relative path inside the model directory")
    return value


class ModelFile(BaseModel):
    """A second file a model needs (an ncnn network's .param graph), checked like the weights."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    file: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    size: int = Field(ge=0)

    _inside_model_dir = field_validator("file")(_relative_inside)


class ModelEntry(BaseModel):
    """One model in a manifest."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    task: ModelTask
    file: str = Field(min_length=1)
    format: ModelFormat
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    size: int = Field(ge=0)
    licence: str = ""
    source: str = ""
    url: str | None = None
    # The installed Python package whose folder holds ``file`` (built-in models), else None.
    package: str | None = None
    version: str = ""
    labels: tuple[str, ...] = ()
    # (width, height) the network is fed; a single int means a square.
    input_size: tuple[int, int] = (224, 224)
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    # "center-crop" is how ImageNet models were evaluated (shorter side to input/0.875, centre
    # crop); "stretch" keeps the whole picture, which suits whole-image sorting.
    resize: ResizeMode = "stretch"
    architecture: str | None = None
    architecture_params: dict[str, Any] = Field(default_factory=dict)
    graph: ModelFile | None = None
    # Enhance models: the upscale factor (None: read from the first tile's output), and the tiles
    # the image is cut into. A tile is the unit of cancellation and of working memory, so ``tile``
    # (input pixels a side, CPU) is sized for well under a second a tile on two cores; a GPU runs
    # ``gpu_tile``. ``tile_pad`` pixels of neighbouring context hide the seams.
    scale: int | None = Field(default=None, ge=1, le=8)
    tile: int = Field(default=256, ge=16, le=4096)
    gpu_tile: int | None = Field(default=None, ge=16, le=4096)
    tile_pad: int = Field(default=16, ge=0, le=256)

    @field_validator("input_size", mode="before")
    @classmethod
    def _square_from_int(cls, value: object) -> object:
        if isinstance(value, int):
            return (value, value)
        return value

    @field_validator("input_size")
    @classmethod
    def _positive_size(cls, value: tuple[int, int]) -> tuple[int, int]:
        if min(value) < 8 or max(value) > 4096:
            raise ValueError("input_size must be between 8 and 4096 pixels")
        return value

    @field_validator("std")
    @classmethod
    def _nonzero_std(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(component <= 0 for component in value):
            raise ValueError("std components must be positive")
        return value

    _inside_model_dir = field_validator("file")(_relative_inside)

    @model_validator(mode="after")
    def _task_requirements(self) -> ModelEntry:
        if self.task in ("classify", "kinds") and not self.labels:
            raise ValueError(f"a {self.task} model needs its labels")
        if (self.format == "numpy-npz") != (self.task == "kinds"):
            raise ValueError("a kinds head is a numpy-npz file, and only a kinds head is")
        if self.format == "ncnn":
            if self.graph is None or self.task != "enhance" or self.scale is None:
                raise ValueError("an ncnn model is an enhance model with its graph file and scale")
        elif self.format not in ("torchscript", "numpy-npz") and not self.architecture:
            raise ValueError(f"a {self.format} model needs an architecture name")
        return self

    def path_in(self, model_dir: Path) -> Path:
        return model_dir / PurePosixPath(self.file.replace("\\", "/"))

    @property
    def description(self) -> str:
        """Name and version, for job documents and the inspector."""
        return f"{self.name} {self.version}".strip()


def builtin_manifest_dir() -> Path:
    """The folder of the app's own manifest: models whose weights ship in Python packages."""
    return resources_dir() / "models"


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (None when absent)."""
    if is_frozen():  # the bundle holds only the listed weights, copied there by installers/stratopipe.spec
        bundled = app_root() / package
        return bundled if bundled.is_dir() else None
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_model_dir(settings: Settings, paths: AppPaths) -> Path:
    """``settings.model_dir`` (e.g. a studio share) when set, else the user's data dir."""
    if settings.model_dir.strip():
        return Path(settings.model_dir).expanduser()
    return paths.model_dir


def load_manifest(model_dir: Path) -> list[ModelEntry]:
    """Entries of ``model_dir/manifest.json``; an absent manifest means no models (not an error)."""
    manifest = model_dir / MANIFEST_NAME
    if not manifest.is_file():
        return []
    try:
        raw = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"cannot read model manifest {manifest}: {exc}") from exc
    # Both a bare list and {"schema_version": 1, "models": [...]} are accepted.
    items = raw.get("models") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ManifestError(f"model manifest {manifest} must be a list of models")
    entries: list[ModelEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            entry = ModelEntry.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}" for err in exc.errors()
            )
            raise ManifestError(f"model manifest {manifest}, entry {index}: {problems}") from exc
        if entry.name in seen:
            raise ManifestError(f"model manifest {manifest} lists {entry.name!r} twice")
        seen.add(entry.name)
        entries.append(entry)
    return entries


def write_manifest(model_dir: Path, entries: Sequence[ModelEntry]) -> Path:
    """Write a manifest atomically (used when registering models and by tests/benchmarks)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    document = {
        "schema_version": MANIFEST_SCHEMA_VERSION,
        "models": [entry.model_dump(mode="json", exclude_none=True) for entry in entries],
    }
    target = model_dir / MANIFEST_NAME
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2), encoding="utf-8")
    tmp.replace(target)
    return target


def sha256_file(path: Path) -> str:
    """sha256 read in chunks so a large model never sits in memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_file(entry: ModelEntry, path: Path, spec: ModelFile | None = None) -> None:
    """Size first (cheap), then the streamed sha256 of the weights (or of ``spec``'s file).
    Raises ChecksumMismatchError."""
    expected: ModelEntry | ModelFile = spec or entry
    actual_size = path.stat().st_size
    if actual_size != expected.size:
        raise ChecksumMismatchError(
            f"model {entry.name}: {path.name} is {actual_size} bytes, the manifest says "
            f"{expected.size}; the file was not used"
        )
    actual = sha256_file(path)
    if actual.lower() != expected.sha256.lower():
        raise ChecksumMismatchError(
            f"model {entry.name}: checksum mismatch for {path.name} (sha256 {actual[:12]}…, "
            f"expected {expected.sha256[:12]}…); the file was not used"
        )


def fetch_model(
    entry: ModelEntry,
    model_dir: Path,
    progress: ProgressCallback | None = None,
    *,
    timeout_s: float = DEFAULT_FETCH_TIMEOUT_S,
    cancel: CancelToken | None = None,
) -> Path:
    """Download ``entry.url`` into the model dir, verified, then renamed into place atomically."""
    if not entry.url:
        raise ModelUnavailableError(f"model {entry.name} unavailable offline: no file and no URL")
    target = entry.path_in(model_dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise ModelUnavailableError(f"model {entry.name} cannot be stored in {model_dir}: {exc}") from exc
    tmp = Path(tmp_name)
    log.info("Fetching model %s from %s", entry.name, entry.url)
    try:
        with os.fdopen(handle, "wb") as out:
            digest = _download(entry, out, progress, timeout_s, cancel)
        size = tmp.stat().st_size
        if size != entry.size or digest != entry.sha256.lower():
            raise ChecksumMismatchError(
                f"model {entry.name}: the download from {entry.url} does not match the manifest "
                f"({size} bytes, sha256 {digest[:12]}…; expected {entry.size} bytes, "
                f"{entry.sha256[:12]}…); it was discarded"
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    if progress is not None:
        progress(1.0)
    log.info("Model %s stored at %s", entry.name, target)
    return target


def _download(
    entry: ModelEntry,
    out: Any,
    progress: ProgressCallback | None,
    timeout_s: float,
    cancel: CancelToken | None,
) -> str:
    assert entry.url is not None
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(entry.url, timeout=timeout_s) as response:
            length_header = response.headers.get("Content-Length") if response.headers else None
            total = int(length_header) if length_header and length_header.isdigit() else entry.size
            received = 0
            while chunk := response.read(256 * 1024):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if received > max(entry.size, total) * 2 + _CHUNK:
                    raise ChecksumMismatchError(
                        f"model {entry.name}: the download is far larger than the manifest's "
                        f"{entry.size} bytes; it was discarded"
                    )
                if progress is not None and total > 0:
                    progress(min(received / total, 0.999))
    except urllib.error.HTTPError as exc:
        raise ModelUnavailableError(
            f"model {entry.name} unavailable: {entry.url} answered HTTP {exc.code} {exc.reason}"
        ) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelUnavailableError(f"model {entry.name} unavailable offline: {reason}") from exc
    except ValueError as exc:  # an unsupported or malformed URL
        raise ModelUnavailableError(f"model {entry.name} unavailable: {exc}") from exc
    return digest.hexdigest()


def ensure_model_file(
    entry: ModelEntry,
    model_dir: Path,
    progress: ProgressCallback | None = None,
    *,
    allow_fetch: bool = True,
    cancel: CancelToken | None = None,
) -> Path:
    """The verified local file of ``entry``: present and intact, or fetched when a URL is given."""
    if entry.package:
        return packaged_model_file(entry)
    path = entry.path_in(model_dir)
    if path.is_file():
        verify_model_file(entry, path)
        return path
    if not allow_fetch or not entry.url:
        raise ModelUnavailableError(
            f"model {entry.name} unavailable offline: {path} is missing"
            + ("" if entry.url else " and the manifest gives no URL")
        )
    return fetch_model(entry, model_dir, progress, cancel=cancel)


def packaged_model_file(entry: ModelEntry) -> Path:
    """The verified file of a model that ships inside an installed Python package."""
    path = entry.path_in(_package_folder(entry))
    if not path.is_file():
        raise ModelUnavailableError(f"model {entry.name} unavailable: {path} is missing from its package")
    verify_model_file(entry, path)
    return path


def _package_folder(entry: ModelEntry) -> Path:
    assert entry.package is not None
    folder = package_dir(entry.package)
    if folder is None:
        raise ModelUnavailableError(
            f"model {entry.name} unavailable: the Python package {entry.package} is not installed "
            "(installers/bootstrap.sh installs it)"
        )
    return folder


def ensure_graph_file(entry: ModelEntry, model_dir: Path) -> Path:
    """The verified graph file of an ncnn model, beside its weights (in its package or the dir)."""
    assert entry.graph is not None
    folder = _package_folder(entry) if entry.package else model_dir
    path = folder / PurePosixPath(entry.graph.file.replace("\\", "/"))
    if not path.is_file():
        raise ModelUnavailableError(f"model {entry.name} unavailable: {path} is missing")
    verify_model_file(entry, path, entry.graph)
    return path


def load_model(
    entry: ModelEntry,
    model_dir: Path,
    device: str,
    progress: ProgressCallback | None = None,
    *,
    allow_fetch: bool = True,
) -> nn.Module:
    """Verify (or fetch) the file, then load it onto ``device`` in eval mode."""
    if entry.format == "numpy-npz":
        raise ModelError(f"model {entry.name} is a kinds head, not a torch network (core/ai/kind_head.py)")
    path = ensure_model_file(entry, model_dir, progress, allow_fetch=allow_fetch)
    import torch

    try:
        if entry.format == "torchscript":
            # torch 2.13 marks TorchScript deprecated (torch.export is its successor) but it still
            # loads the files studios ship; the warning would only alarm users, so it is silenced.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", r"`torch\.jit\.load` is deprecated", DeprecationWarning)
                module: nn.Module = torch.jit.load(  # type: ignore[no-untyped-call]
                    str(path), map_location=device
                )
        else:
            assert entry.architecture is not None  # enforced by the manifest validator
            params = dict(entry.architecture_params)
            if entry.task == "classify":
                params.setdefault("num_classes", len(entry.labels))
            module = build_architecture(entry.architecture, params)
            module.load_state_dict(_read_state_dict(entry, path), strict=True)
            module = module.to(device)
    except ArchitectureError as exc:
        raise ModelError(f"model {entry.name}: {exc}") from exc
    except (RuntimeError, OSError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        # torch/safetensors report corrupt files and shape mismatches as RuntimeError; torch.load
        # with weights_only refuses anything but tensors with UnpicklingError.
        raise ModelError(f"model {entry.name} cannot be loaded from {path.name}: {exc}") from exc
    module.eval()
    log.info("Loaded model %s (%s, %s) on %s", entry.name, entry.task, entry.format, device)
    return module


def _read_state_dict(entry: ModelEntry, path: Path) -> dict[str, Any]:
    if entry.format == "safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path), device="cpu"))
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ModelError(f"model {entry.name}: {path.name} holds a {type(state).__name__}, not weights")
    return state


def entry_for_file(path: Path, **fields: Any) -> ModelEntry:
    """A manifest entry describing an existing file (its size and sha256 measured here)."""
    return ModelEntry.model_validate(
        {"file": path.name, "size": path.stat().st_size, "sha256": sha256_file(path), **fields}
    )
