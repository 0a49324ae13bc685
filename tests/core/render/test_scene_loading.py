"""Loading and framing in-process (no GL): orientation, guards and the camera fit."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pytest

from core.render.api import InvalidModelError
from core.render.framing import (
    CAMERA_YFOV_DEG,
    orbit_camera_pose,
    sphere_from_bounds,
    three_point_rig,
)
from core.render.scene_loading import load_model, precheck_file

if TYPE_CHECKING:
    from pathlib import Path


def test_z_up_formats_are_turned_y_up(models: dict[str, Path]) -> None:
    loaded = load_model(models["stl_binary_tall"])
    extents = loaded.scene.extents
    assert extents[1] == pytest.approx(4.0), "the 4-unit Z extent of the STL becomes Y"
    assert load_model(models["stl_binary_tall"], up_axis="y").scene.extents[2] == pytest.approx(4.0)


def test_multi_mesh_glb_keeps_node_transforms(models: dict[str, Path]) -> None:
    loaded = load_model(models["glb_multi_mesh"])
    assert loaded.face_count == 24
    assert loaded.scene.extents[0] == pytest.approx(7.0), "boxes at x=-3 and x=+3, 1 unit wide"


def test_missing_texture_is_listed(models: dict[str, Path]) -> None:
    loaded = load_model(models["obj_missing_texture"])
    assert loaded.missing_textures
    assert loaded.missing_textures[0].endswith(".png")


def test_header_guard_refuses_bomb_without_reading_it(hostile_models: dict[str, Path]) -> None:
    with pytest.raises(InvalidModelError, match="claims 50,000,000 faces"):
        precheck_file(hostile_models["stl_50m_faces"], max_faces=20_000_000)


def test_missing_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(InvalidModelError, match="file not found"):
        load_model(tmp_path / "gone.glb")


def test_camera_fits_bounding_sphere_from_above() -> None:
    sphere = sphere_from_bounds(np.array([[-1.0, 0.0, -1.0], [1.0, 6.0, 1.0]]))
    pose = orbit_camera_pose(sphere)
    eye = pose[:3, 3]
    to_center = sphere.center - eye
    distance = float(np.linalg.norm(to_center))
    # The whole sphere subtends less than the vertical field of view.
    assert math.degrees(2 * math.asin(sphere.radius / distance)) < CAMERA_YFOV_DEG
    assert eye[1] > sphere.center[1], "three-quarter view from above"
    forward = -pose[:3, 2]
    assert np.allclose(forward, to_center / distance)
    names = [light.name for light in three_point_rig(pose, sphere)]
    assert names == ["key", "fill", "rim"]
