"""Limits that keep one hostile or huge file from eating the machine's memory or time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings

DEFAULT_MAX_MESH_FACES = 20_000_000
DEFAULT_MAX_MESH_VERTICES = 20_000_000


@dataclass(frozen=True)
class MediaLimits:
    max_file_size_bytes: int
    max_image_pixels: int
    max_mesh_faces: int = DEFAULT_MAX_MESH_FACES
    max_mesh_vertices: int = DEFAULT_MAX_MESH_VERTICES

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaLimits:
        return cls(
            max_file_size_bytes=settings.max_file_size_bytes,
            max_image_pixels=settings.max_image_pixels,
        )
