"""Camera framing and the light rig: pure geometry, shared by every backend that renders in-process.

Conventions: Y is up, a camera looks down its local -Z axis (OpenGL/glTF), poses are 4x4 world
matrices. The Blender script mirrors these numbers in its own (Z-up) world.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]

CAMERA_YFOV_DEG = 35.0
CAMERA_ELEVATION_DEG = 25.0
CAMERA_AZIMUTH_DEG = 40.0
# Extra room around the bounding sphere so silhouettes never touch the frame edge.
FRAMING_MARGIN = 1.12
BACKGROUND_GREY = (0.32, 0.32, 0.33)


@dataclass(frozen=True)
class BoundingSphere:
    center: Matrix
    radius: float


@dataclass(frozen=True)
class LightSpec:
    name: str
    intensity: float
    pose: Matrix


def sphere_from_bounds(bounds: Matrix) -> BoundingSphere:
    """Sphere around an axis-aligned box; degenerate boxes (a point, a flat quad) still get a size."""
    low, high = np.asarray(bounds[0], dtype=np.float64), np.asarray(bounds[1], dtype=np.float64)
    center = (low + high) / 2.0
    radius = float(np.linalg.norm(high - low) / 2.0)
    if not math.isfinite(radius) or radius <= 1e-12:
        radius = 1.0
    return BoundingSphere(center=center, radius=radius)


def look_at(eye: Matrix, target: Matrix, up: Matrix | None = None) -> Matrix:
    """Pose whose -Z axis points from ``eye`` to ``target``."""
    up_vector = np.array([0.0, 1.0, 0.0]) if up is None else np.asarray(up, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - np.asarray(eye, dtype=np.float64)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up_vector)
    if np.linalg.norm(right) < 1e-9:  # looking straight up or down: any perpendicular will do
        right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right)
    true_up = np.cross(right, forward)
    pose = np.eye(4)
    pose[:3, 0] = right
    pose[:3, 1] = true_up
    pose[:3, 2] = -forward
    pose[:3, 3] = eye
    return pose


def camera_distance(radius: float, yfov_deg: float = CAMERA_YFOV_DEG) -> float:
    """Distance at which a sphere of ``radius`` fills the vertical field of view, plus the margin."""
    return radius / math.sin(math.radians(yfov_deg) / 2.0) * FRAMING_MARGIN


def orbit_camera_pose(
    sphere: BoundingSphere,
    azimuth_deg: float = CAMERA_AZIMUTH_DEG,
    elevation_deg: float = CAMERA_ELEVATION_DEG,
    yfov_deg: float = CAMERA_YFOV_DEG,
) -> Matrix:
    """A three-quarter view from above at a distance that fits the whole bounding sphere."""
    azimuth, elevation = math.radians(azimuth_deg), math.radians(elevation_deg)
    direction = np.array(
        [
            math.sin(azimuth) * math.cos(elevation),
            math.sin(elevation),
            math.cos(azimuth) * math.cos(elevation),
        ]
    )
    eye = sphere.center + direction * camera_distance(sphere.radius, yfov_deg)
    return look_at(eye, sphere.center)


def world_units_per_pixel(sphere: BoundingSphere, size: int, yfov_deg: float = CAMERA_YFOV_DEG) -> float:
    """Width of one pixel, in world units, at the depth of the model's centre."""
    visible_height = 2.0 * camera_distance(sphere.radius, yfov_deg) * math.tan(math.radians(yfov_deg) / 2)
    return visible_height / max(size, 1)


def clip_planes(sphere: BoundingSphere, yfov_deg: float = CAMERA_YFOV_DEG) -> tuple[float, float]:
    distance = camera_distance(sphere.radius, yfov_deg)
    znear = max(distance - sphere.radius * 1.5, distance * 1e-3)
    zfar = distance + sphere.radius * 1.5
    return znear, zfar


def _light_pose_from_camera(
    camera_pose: Matrix, sphere: BoundingSphere, yaw_deg: float, pitch_deg: float
) -> Matrix:
    """A light placed around the target relative to the camera (yaw right, pitch up) aiming at it."""
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    local = np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])
    world_direction = camera_pose[:3, :3] @ local
    eye = sphere.center + world_direction * sphere.radius * 3.0
    return look_at(eye, sphere.center)


def three_point_rig(camera_pose: Matrix, sphere: BoundingSphere) -> list[LightSpec]:
    """Key (upper left), fill (right, soft) and rim (behind, above) that move with the camera.

    Tying the rig to the camera keeps every thumbnail and every turntable frame lit the same way,
    whatever the model's orientation.
    """
    return [
        LightSpec("key", 3.2, _light_pose_from_camera(camera_pose, sphere, -40.0, 35.0)),
        LightSpec("fill", 1.3, _light_pose_from_camera(camera_pose, sphere, 55.0, 5.0)),
        LightSpec("rim", 2.2, _light_pose_from_camera(camera_pose, sphere, 160.0, 40.0)),
    ]


def turntable_azimuths(frames: int, start_deg: float = CAMERA_AZIMUTH_DEG) -> list[float]:
    """Evenly spaced azimuths for one full revolution; the last frame stops short of the first."""
    return [start_deg + 360.0 * index / frames for index in range(frames)]
