"""Geometry rendering (Qt-free): pyrender or Blender in sandboxed child processes.

Importing this package is cheap: pyrender, trimesh and PyAV load only inside the render child.
"""

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
