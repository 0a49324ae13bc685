"""The models an :class:`~core.ai.inference.InferenceEngine` runs: found through the manifests (the
model directory's first, then the built-in ones), checksum-verified and loaded on first use, and kept.

A model that cannot be used is remembered with its reason, so every later call goes straight to the
next model or the classical path with that reason in its note; a model the user switched off
(Preferences ▸ Models) is passed over the same way.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from core.ai.kind_head import KindHead, load_kind_head
from core.ai.models import (
    ModelEntry,
    ModelError,
    ModelTask,
    builtin_manifest_dir,
    ensure_model_file,
    load_manifest,
    load_model,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt
    import torch
    from torch import nn

    from core.ai.device import DeviceChoice
    from core.ai.upscale import Upscaler

log = logging.getLogger(__name__)

MAX_BATCH_SIZE = 1024


class ModelRegistry:
    """The models of one model directory and the built-in ones, loaded for one device on first use
    and kept; thread-safe. ``InferenceEngine`` runs them."""

    def __init__(
        self,
        device_choice: DeviceChoice,
        model_dir: Path | None,
        *,
        batch_size: int = 8,
        allow_fetch: bool = True,
        fetch_progress: Callable[[float], None] | None = None,
    ) -> None:
        self.device_choice = device_choice
        self.model_dir = model_dir
        self.allow_fetch = allow_fetch
        self.fetch_progress = fetch_progress
        self._batch_size = 1
        self.batch_size = batch_size
        self._lock = threading.RLock()
        self._entries: list[ModelEntry] | None = None
        self._entry_dirs: dict[str, Path] = {}  # the folder whose manifest listed each model
        self._kind_heads: dict[str, KindHead] = {}
        self._manifest_problem = ""
        self._models: dict[str, nn.Module] = {}
        self._upscalers: dict[str, Upscaler] = {}
        self._unusable: dict[str, str] = {}
        # Names the user switched off (Preferences ▸ Models); the steps copy the live setting in.
        self.disabled_models: frozenset[str] = frozenset()

    @property
    def device(self) -> str:
        return self.device_choice.device

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        if not 1 <= value <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}, got {value}")
        self._batch_size = value

    def entries(self) -> list[ModelEntry]:
        """The model directory's models, then the built-in ones (so a studio's model of the same
        task wins); a broken manifest is logged once and treated as no models."""
        with self._lock:
            if self._entries is None:
                self._entries = []
                for folder in (self.model_dir, builtin_manifest_dir()):
                    if folder is None:
                        continue
                    try:
                        listed = load_manifest(folder)
                    except ModelError as exc:
                        self._manifest_problem = str(exc)
                        log.warning("%s; classical methods will be used", exc)
                        continue
                    self._entries += listed
                    for entry in listed:
                        self._entry_dirs.setdefault(entry.name, folder)
            return list(self._entries)

    def _folder_of(self, entry: ModelEntry) -> Path:
        """Where ``entry``'s file lives: its manifest's folder (entries with a package ignore it)."""
        self.entries()
        return self._entry_dirs.get(entry.name) or self.model_dir or builtin_manifest_dir()

    def entry_for(self, task: ModelTask) -> ModelEntry | None:
        """The first model for ``task`` that the user has not switched off."""
        return next(
            (e for e in self.entries() if e.task == task and e.name not in self.disabled_models), None
        )

    def _why_none(self, task: ModelTask) -> str:
        switched_off = [e.name for e in self.entries() if e.task == task]
        if switched_off:
            return f"{', '.join(switched_off)} switched off in Preferences"
        return self._manifest_problem or f"no {task} model in the manifest"

    def model_for(self, task: ModelTask) -> tuple[ModelEntry, nn.Module] | str:
        """The loaded model for ``task``, or the reason there is none (for the result's note)."""
        entry = self.entry_for(task)
        if entry is None:
            return self._why_none(task)
        module = self._module(entry)
        return module if isinstance(module, str) else (entry, module)

    def _module(self, entry: ModelEntry) -> nn.Module | str:
        """The torch module of ``entry``, loaded once and kept, or why it cannot be used."""
        with self._lock:
            if entry.name in self._unusable:
                return self._unusable[entry.name]
            module = self._models.get(entry.name)
            if module is None:
                try:
                    module = load_model(
                        entry,
                        self._folder_of(entry),
                        self.device,
                        self.fetch_progress,
                        allow_fetch=self.allow_fetch,
                    )
                except ModelError as exc:
                    return self._mark_unusable(entry, str(exc))
                if self.device_choice.fp16:
                    module = module.half()
                self._models[entry.name] = module
            return module

    def kind_head(self) -> KindHead | str:
        """The loaded kind head, or why there is none (switched off, missing, corrupted)."""
        entry = self.entry_for("kinds")
        if entry is None:
            return self._why_none("kinds")
        with self._lock:
            if entry.name in self._unusable:
                return self._unusable[entry.name]
            head = self._kind_heads.get(entry.name)
            if head is None:
                try:
                    path = ensure_model_file(entry, self._folder_of(entry), allow_fetch=self.allow_fetch)
                    head = load_kind_head(entry, path)
                except ModelError as exc:
                    return self._mark_unusable(entry, str(exc))
                self._kind_heads[entry.name] = head
            return head

    def _mark_unusable(self, entry: ModelEntry, reason: str) -> str:
        with self._lock:
            self._unusable[entry.name] = reason
            self._models.pop(entry.name, None)
            self._kind_heads.pop(entry.name, None)
            upscaler = self._upscalers.pop(entry.name, None)
        if upscaler is not None:
            upscaler.close()
        log.warning("%s; falling back", reason)
        return reason

    # -- tensors --------------------------------------------------------------------------------

    def _to_input(self, batch: npt.NDArray[np.float32]) -> torch.Tensor:
        import torch

        tensor = torch.from_numpy(batch).to(self.device)
        return tensor.half() if self.device_choice.fp16 else tensor
