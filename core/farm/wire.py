"""What travels between this machine and a farm worker: plain, picklable data only.

Files reach a worker by path when a path mapping covers them, else as bytes (with the files a model
references: an OBJ's materials and textures, a glTF's buffers), up to a size cap. Products come back
the same way: written through a mapped cache folder, or returned as bytes and written here.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Literal

from core.farm.paths import pure_path, relative_parts
from core.jobs.steps import InvalidInputError, RecoverableError

if TYPE_CHECKING:
    from core.farm.paths import PathMapping

log = logging.getLogger(__name__)

# Long-lived objects of the local lanes (a warm render child, the inference engine): the worker has
# its own; the outputs of earlier steps are local paths the step does not read.
LOCAL_ONLY_PARAMS = frozenset({"render_service", "inference_engine", "classify_batcher", "outputs"})
# Params that name a file the step reads.
FILE_PARAMS = ("preview_image",)
# Settings that name this machine's programs or folders: a worker uses its own (or its env pins).
MACHINE_SETTINGS = ("blender_path", "model_dir", "ocio_config", "roots", "open_with", "ca_file")

OutcomeStatus = Literal["completed", "cancelled", "invalid", "recoverable"]


@dataclass(frozen=True)
class RemoteInput:
    """One input file: a worker path (mapped) or its bytes and its sidecars' (relative path, bytes)."""

    name: str
    remote_path: str | None = None
    data: bytes | None = None
    sidecars: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class RemoteAsset:
    id: int
    kind: str
    content_hash: str
    metadata: dict[str, Any]
    path: RemoteInput
    frames: tuple[RemoteInput, ...] = ()


@dataclass(frozen=True)
class RemoteStepCall:
    key: str
    step: str
    source: tuple[str, str]  # (module, function) the worker imports the step from
    asset: RemoteAsset | None
    params: dict[str, Any]
    file_params: dict[str, RemoteInput]
    settings: dict[str, Any]
    cancel_event: str
    progress_topic: str
    # The worker's name for this machine's cache folder when a mapping covers it (products are then
    # written there directly); None: products come back as bytes.
    remote_cache_dir: str | None = None
    # Earlier products a step reads from the cache (a model's render, a clip's poster) when the worker
    # cannot see this machine's cache: posix path under the cache -> bytes.
    cache_inputs: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteBatchCall:
    """Small steps of several jobs sent as one Dask task (core/farm/coalesce.py): each call keeps its
    own key, cancel Event and outcome; ``doorbell`` is an Event the client sets after setting one
    call's cancel Event, so the worker long-polls one Event for the whole batch."""

    key: str
    doorbell: str
    calls: tuple[RemoteStepCall, ...]


@dataclass(frozen=True)
class RemoteStepOutcome:
    status: OutcomeStatus
    worker: str
    output: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    device: str | None = None
    cache_dir: str = ""  # the worker's cache folder, as the worker names it
    files: dict[str, bytes] = field(default_factory=dict)  # posix path under cache_dir -> bytes


class ShipBudget:
    """Bytes one step may send to a worker; over it, the step fails with what to do about it."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0

    def take(self, path: Path) -> bytes:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InvalidInputError(f"{path.name} cannot be read: {exc} ({path})") from exc
        if self.used + size > self.max_bytes:
            raise InvalidInputError(
                f"{path.name} needs {(self.used + size) / 2**20:.1f} MB sent to the farm, over the "
                f"{self.max_bytes / 2**20:.0f} MB limit (farm_ship_max_mb): add a path mapping for its "
                f"folder so that workers read it from the shared storage ({path})"
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise RecoverableError(f"{path.name} cannot be read: {exc}") from exc
        self.used += len(data)
        return data


def ship_input(path: Path, mapping: PathMapping, budget: ShipBudget, *, sidecars: bool) -> RemoteInput:
    remote = mapping.to_remote(path)
    if remote is not None:
        return RemoteInput(name=path.name, remote_path=remote)
    if not path.is_file():
        raise InvalidInputError(f"{path.name} cannot be read: the file does not exist ({path})")
    extra: list[tuple[str, bytes]] = []
    if sidecars:
        from core.media.sidecars import model_sidecars

        for sidecar in model_sidecars(path):
            relative = Path(os.path.relpath(sidecar, path.parent))
            if ".." in relative.parts:
                log.warning("%s is outside %s's folder: not sent to the farm", sidecar, path.name)
                continue
            extra.append((relative.as_posix(), budget.take(sidecar)))
    return RemoteInput(name=path.name, data=budget.take(path), sidecars=tuple(extra))


def materialize(item: RemoteInput, folder: Path) -> Path:
    """The worker's path for an input: the mapped one, or the bytes written under ``folder``."""
    if item.remote_path is not None:
        return Path(item.remote_path)
    assert item.data is not None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / Path(item.name).name
    target.write_bytes(item.data)
    for relative, data in item.sidecars:
        sidecar = folder.joinpath(*PurePath(relative).parts)
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        sidecar.write_bytes(data)
    return target


def portable_params(params: dict[str, Any]) -> dict[str, Any]:
    """The params a worker can use: JSON values only, without this machine's lane objects."""
    kept: dict[str, Any] = {}
    for name, value in params.items():
        if name in LOCAL_ONLY_PARAMS or name in FILE_PARAMS:
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            log.debug("Param %s stays local: not plain data", name)
            continue
        kept[name] = value
    return kept


def _walk_strings(value: Any, change: Any) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: _walk_strings(item, change) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_walk_strings(item, change) for item in value]
    return value


def files_under(output: dict[str, Any], cache_dir: Path) -> dict[str, bytes]:
    """Worker side: the files the output names inside ``cache_dir``, as posix path -> bytes."""
    found: dict[str, bytes] = {}

    def collect(text: str) -> str:
        rest = relative_parts(pure_path(text), pure_path(str(cache_dir)))
        if rest:
            candidate = cache_dir.joinpath(*rest)
            if candidate.is_file():
                found[PurePath(*rest).as_posix()] = candidate.read_bytes()
        return text

    _walk_strings(output, collect)
    return found


def localize_output(outcome: RemoteStepOutcome, local_cache_dir: Path) -> dict[str, Any]:
    """Client side: write returned files under the local cache folder and point the output at them."""
    for relative, data in outcome.files.items():
        target = local_cache_dir.joinpath(*PurePath(relative).parts)
        if ".." in PurePath(relative).parts:
            raise RecoverableError(f"a farm worker returned a path outside the cache: {relative}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.farm-part")
        partial.write_bytes(data)
        partial.replace(target)
    remote_cache = pure_path(outcome.cache_dir) if outcome.cache_dir else None

    def relocate(text: str) -> str:
        if remote_cache is None:
            return text
        rest = relative_parts(pure_path(text), remote_cache)
        return str(local_cache_dir.joinpath(*rest)) if rest else text

    localized: dict[str, Any] = _walk_strings(outcome.output, relocate)
    return localized
