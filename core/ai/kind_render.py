"""Child process: pyrender renders of procedural trimesh scenes, the "cg-render" training images.

Run by core.ai.kind_samples.cg_renders as ``python -m core.ai.kind_render '<json request>'`` with
``PYOPENGL_PLATFORM`` set, so the OpenGL context lives and dies here (one renderer, reused for every
seed). Scenes are primitives and random compositions of them on a floor, with varied materials,
lights and backgrounds; no mesh file is read (real meshes are kept for held-out evaluation).
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np
import numpy.typing as npt


def _import_pyrender() -> Any:
    if not hasattr(np, "infty"):  # pyrender 0.1.45 still uses np.infty, removed in numpy 2
        np.infty = np.inf  # type: ignore[attr-defined]
    import pyrender

    return pyrender


def _primitive(rng: np.random.Generator) -> Any:
    import trimesh

    choice = int(rng.integers(0, 7))
    if choice == 0:
        return trimesh.creation.box(extents=rng.uniform(0.3, 1.2, size=3))
    if choice == 1:
        return trimesh.creation.icosphere(subdivisions=int(rng.integers(1, 4)), radius=rng.uniform(0.2, 0.6))
    if choice == 2:
        return trimesh.creation.cylinder(radius=rng.uniform(0.1, 0.5), height=rng.uniform(0.3, 1.5))
    if choice == 3:
        return trimesh.creation.capsule(height=rng.uniform(0.2, 1.0), radius=rng.uniform(0.1, 0.4))
    if choice == 4:
        return trimesh.creation.cone(radius=rng.uniform(0.2, 0.6), height=rng.uniform(0.4, 1.2))
    if choice == 5:
        return trimesh.creation.torus(major_radius=rng.uniform(0.3, 0.6), minor_radius=rng.uniform(0.06, 0.2))
    # a lumpy blob: a sphere displaced along its normals
    blob = trimesh.creation.icosphere(subdivisions=3, radius=0.45)
    bumps = np.sin(blob.vertices @ rng.normal(0, 4, size=(3, 3))).sum(axis=1)
    blob.vertices += blob.vertex_normals * (0.06 * bumps)[:, None]
    return blob


def _material(pyrender: Any, rng: np.random.Generator, clay: bool) -> Any:
    # Clay: the untextured grey look of a model preview (what core/render makes of a mesh).
    grey = rng.uniform(0.55, 0.85)
    colour = (
        [grey, grey * 0.98, grey * 0.94, 1.0] if clay else [*rng.uniform(0.05, 1.0, size=3).tolist(), 1.0]
    )
    return pyrender.MetallicRoughnessMaterial(
        baseColorFactor=colour,
        metallicFactor=float(rng.choice([0.0, 0.0, rng.uniform(0, 0.5)])),
        roughnessFactor=float(rng.uniform(0.15, 1.0)),
    )


def _look_at(eye: npt.NDArray[np.float64], target: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    forward = eye - target
    forward /= np.linalg.norm(forward)
    right = np.cross([0.0, 1.0, 0.0], forward)
    right /= np.linalg.norm(right)
    up = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, up, forward, eye
    return pose


def _background(rng: np.random.Generator, size: int, clay: bool) -> npt.NDArray[np.float64]:
    if clay:  # flat grey, or transparent shown on the mid grey as_rgb_uint8 composites alpha onto
        return np.full((size, size, 3), 128.0 if rng.random() < 0.4 else rng.uniform(40, 200))
    top, bottom = rng.uniform(0, 255, size=(2, 3)) * rng.uniform(0.2, 1.0)
    t = np.linspace(0, 1, size)[:, None, None]
    gradient: npt.NDArray[np.float64] = np.broadcast_to(top * (1 - t) + bottom * t, (size, size, 3))
    return gradient


def render_scene(pyrender: Any, renderer: Any, seed: int, size: int) -> npt.NDArray[np.uint8]:
    import trimesh

    rng = np.random.default_rng([seed, 7919])
    clay = bool(rng.random() < 0.35)
    scene = pyrender.Scene(ambient_light=rng.uniform(0.02, 0.3, size=3), bg_color=[0, 0, 0, 0])
    for _ in range(int(rng.integers(1, 7))):
        mesh = _primitive(rng)
        transform = trimesh.transformations.random_rotation_matrix(rng.random(3))
        transform[:3, 3] = [rng.uniform(-1, 1), rng.uniform(0.0, 0.6), rng.uniform(-1, 1)]
        smooth = bool(rng.random() < 0.7)
        scene.add(
            pyrender.Mesh.from_trimesh(mesh, material=_material(pyrender, rng, clay), smooth=smooth),
            pose=transform,
        )
    if rng.random() < 0.7:  # a floor
        floor = trimesh.creation.box(extents=[8, 0.05, 8])
        pose = np.eye(4)
        pose[1, 3] = -0.6
        scene.add(pyrender.Mesh.from_trimesh(floor, material=_material(pyrender, rng, clay)), pose=pose)
    distance, azimuth, elevation = rng.uniform(2.5, 4.5), rng.uniform(0, 2 * math.pi), rng.uniform(0.1, 0.9)
    eye = distance * np.array(
        [
            math.cos(azimuth) * math.cos(elevation),
            math.sin(elevation),
            math.sin(azimuth) * math.cos(elevation),
        ]
    )
    camera_pose = _look_at(eye, np.array([0.0, 0.0, 0.0]))
    scene.add(pyrender.PerspectiveCamera(yfov=float(rng.uniform(0.5, 1.0))), pose=camera_pose)
    for _ in range(int(rng.integers(1, 4))):
        light_eye = rng.uniform([-4, 1, -4], [4, 6, 4])
        colour = np.clip(1.0 - rng.uniform(0, 0.4, size=3), 0, 1)
        if rng.random() < 0.5:
            light = pyrender.DirectionalLight(color=colour, intensity=float(rng.uniform(1.5, 5.0)))
        else:
            light = pyrender.PointLight(color=colour, intensity=float(rng.uniform(10.0, 60.0)))
        scene.add(light, pose=_look_at(light_eye, np.zeros(3)))
    flags = pyrender.RenderFlags.RGBA | (
        pyrender.RenderFlags.SHADOWS_DIRECTIONAL if rng.random() < 0.5 else 0
    )
    colour, _ = renderer.render(scene, flags=flags)
    alpha = colour[:, :, 3:4].astype(np.float64) / 255.0
    composite = colour[:, :, :3] * alpha + _background(rng, size, clay) * (1 - alpha)
    return np.asarray(np.clip(composite + 0.5, 0, 255), np.uint8)


def main(argv: list[str]) -> int:
    request = json.loads(argv[0])
    size = int(request["size"])
    pyrender = _import_pyrender()
    renderer = pyrender.OffscreenRenderer(size, size)
    try:
        renders = [render_scene(pyrender, renderer, int(seed), size) for seed in request["seeds"]]
    finally:
        renderer.delete()
    np.save(request["out"], np.stack(renders) if renders else np.zeros((0, size, size, 3), np.uint8))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
