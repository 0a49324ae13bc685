"""Geometry rendering (Qt-free): pyrender or Blender in sandboxed child processes.

Importing this package is cheap: pyrender, trimesh and PyAV load only inside the render child, and
the names below are resolved on first use (PEP 562), so the render child, which starts as
``python -m core.render.worker_main``, does not import the service side it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.render.api import (
        InvalidModelError,
        RenderBackendUnavailableError,
        RenderCrashedError,
        RenderError,
        RenderMemoryError,
        RenderRequest,
        RenderResult,
        RenderTimeoutError,
    )
    from core.render.blender_backend import find_blender
    from core.render.service import RenderService, describe_backends

_HOMES = {
    "InvalidModelError": "core.render.api",
    "RenderBackendUnavailableError": "core.render.api",
    "RenderCrashedError": "core.render.api",
    "RenderError": "core.render.api",
    "RenderMemoryError": "core.render.api",
    "RenderRequest": "core.render.api",
    "RenderResult": "core.render.api",
    "RenderTimeoutError": "core.render.api",
    "find_blender": "core.render.blender_backend",
    "RenderService": "core.render.service",
    "describe_backends": "core.render.service",
}

__all__ = [
    "InvalidModelError",
    "RenderBackendUnavailableError",
    "RenderCrashedError",
    "RenderError",
    "RenderMemoryError",
    "RenderRequest",
    "RenderResult",
    "RenderService",
    "RenderTimeoutError",
    "describe_backends",
    "find_blender",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
