"""Limits that keep one hostile or huge file from eating the machine's memory or time.

Decoded pixels are the memory that matters: a 6 MB PNG can declare 45000 x 45000 pixels (6 GB once
decoded). Every image is sized from its header (width x height x channels x bytes per channel) and
refused when it could not fit the decode budget, before any decoder touches its pixels; the decodes
that do fit take their bytes from a per-process :class:`DecodeBudget`, so a media lane with many
threads still holds at most the budget in decoded pixels at once.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from core.settings import Settings

DEFAULT_MAX_MESH_FACES = 20_000_000
DEFAULT_MAX_MESH_VERTICES = 20_000_000
DEFAULT_DECODE_BUDGET_BYTES = 2048 << 20
DEFAULT_PROBE_TIMEOUT_S = 120.0
DEFAULT_PROBE_MEMORY_MB = 4096
# At its peak a decode holds the decoded array plus two same-sized copies (channels reordered, then
# made contiguous): measured 3x the decoded size on a 12000 x 12000 PNG (bench_ingest_memory.py). So a
# decode reserves three times its decoded bytes, and one image may be at most a third of the budget.
DECODE_WORKING_FACTOR = 3


@dataclass(frozen=True)
class MediaLimits:
    max_file_size_bytes: int
    max_image_pixels: int
    max_mesh_faces: int = DEFAULT_MAX_MESH_FACES
    max_mesh_vertices: int = DEFAULT_MAX_MESH_VERTICES
    decode_budget_bytes: int = DEFAULT_DECODE_BUDGET_BYTES
    # Geometry is probed in a sandboxed child with the render child's limits (see probe_sandbox).
    probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
    probe_memory_mb: int = DEFAULT_PROBE_MEMORY_MB

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(
            max_file_size_bytes=settings.max_file_size_bytes,
            max_image_pixels=settings.max_image_pixels,
            decode_budget_bytes=settings.ingest_memory_mb << 20,
            probe_timeout_s=settings.render_timeout_s,
            probe_memory_mb=settings.render_memory_mb,
        )

    @property
    def max_decoded_bytes(self) -> int:
        """The most decoded pixel bytes one image may have."""
        return self.decode_budget_bytes // DECODE_WORKING_FACTOR


class DecodeBudget:
    """Bytes of decoded pixels the decoding threads of one process may hold together."""

    def __init__(self, total_bytes: int) -> None:
        self.total_bytes = total_bytes
        self._used = 0
        self._condition = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        """Wait until ``nbytes`` fit beside the decodes in flight, hold them for the block."""
        wanted = min(nbytes, self.total_bytes)  # larger images were refused from their header
        with self._condition:
            self._condition.wait_for(lambda: self._used + wanted <= self.total_bytes)
            self._used += wanted
        try:
            yield
        finally:
            with self._condition:
                self._used -= wanted
                self._condition.notify_all()


_budgets: dict[int, DecodeBudget] = {}
_budgets_lock = threading.Lock()


def decode_budget(limits: MediaLimits) -> DecodeBudget:
    """The process's budget for ``limits``. Memory belongs to a process, not to whoever built a
    ``MediaLimits`` (the thumbnail, AI and viewer steps each build their own from settings), so every
    limits object with the same budget shares one."""
    with _budgets_lock:
        budget = _budgets.get(limits.decode_budget_bytes)
        if budget is None:
            budget = _budgets[limits.decode_budget_bytes] = DecodeBudget(limits.decode_budget_bytes)
        return budget
