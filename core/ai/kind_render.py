"""Child process: pyrender renders of procedural trimesh scenes, the "cg-render" training images.

Run by core.ai.kind_samples.cg_renders as ``python -m core.ai.kind_render '<json request>'`` with
``PYOPENGL_PLATFORM`` set, so the OpenGL context lives and dies here (one renderer, reused for every
seed). Two looks, alternating by seed:

- Scenes: primitives and random compositions of them on a floor, with varied materials, lights and
  backgrounds.
- Model thumbnails: one procedural organic mesh (a lumpy rock, a creature of overlapping blobs, a range
  scan with holes and sensor noise, displaced primitives) drawn by the app's own thumbnail path
  (core.render.pyrender_backend: grey clay, three-point rig, default camera, grey or transparent
  background composited as classify does), since renders of real models dropped in the library look
  like that and were being taken for roughness maps.

No mesh file is read: real meshes are kept for held-out evaluation.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from core.render.framing import look_at


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


def _fractal_displacement(
    rng: np.random.Generator, points: npt.NDArray[np.float64], octaves: int, amplitude: float
) -> npt.NDArray[np.float64]:
    """Sum of random plane waves, each octave twice the frequency and half the amplitude: a smooth,
    lumpy field over 3-D points (rock, flesh, eroded ground)."""
    total = np.zeros(len(points))
    frequency = rng.uniform(1.5, 3.0)
    for _ in range(octaves):
        directions = rng.normal(size=(3, 6))
        phases = rng.uniform(0, 2 * math.pi, size=6)
        total += amplitude * np.sin(points @ directions * frequency + phases).mean(axis=1)
        frequency *= 2.0
        amplitude *= 0.5
    return total


def _blob(centre: npt.NDArray[np.float64], radii: npt.NDArray[np.float64]) -> Any:
    import trimesh

    blob = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
    blob.vertices *= radii
    blob.vertices += centre
    return blob


def _creature(rng: np.random.Generator) -> Any:
    """Overlapping ellipsoids along a bent spine with legs: the silhouette of a figurine or a sculpt."""
    import trimesh

    parts = []
    count = int(rng.integers(4, 9))
    heading = rng.normal(size=3) * [1.0, 0.3, 1.0]
    position = np.zeros(3)
    for index in range(count):
        heading = heading / np.linalg.norm(heading) + rng.normal(0, 0.35, size=3)
        heading /= np.linalg.norm(heading)
        size = 0.35 * (1.0 - 0.6 * abs(index / max(count - 1, 1) - 0.4)) * rng.uniform(0.7, 1.2)
        position = position + heading * size * 1.1
        parts.append(_blob(position.copy(), size * rng.uniform([1.0, 0.6, 0.6], [1.6, 1.0, 1.0])))
    for _ in range(int(rng.integers(0, 5))):  # legs or spikes hanging from the spine
        anchor = parts[int(rng.integers(0, len(parts)))].centroid
        leg = trimesh.creation.capsule(height=rng.uniform(0.3, 0.8), radius=rng.uniform(0.04, 0.1))
        leg.apply_transform(
            trimesh.transformations.rotation_matrix(math.pi / 2 + rng.normal(0, 0.3), [1, 0, 0])  # type: ignore[no-untyped-call]
        )
        leg.apply_translation(anchor - [0, 0.4, 0])
        parts.append(leg)
    mesh: Any = trimesh.util.concatenate(parts)
    mesh.vertices += mesh.vertex_normals * _fractal_displacement(rng, mesh.vertices, 3, 0.04)[:, None]
    return mesh


def _rock(rng: np.random.Generator) -> Any:
    """A subdivided icosphere stretched and displaced by several octaves: a stone, a bust, a fruit."""
    import trimesh

    rock = trimesh.creation.icosphere(subdivisions=int(rng.integers(4, 6)), radius=1.0)
    rock.vertices *= rng.uniform(0.5, 1.5, size=3)
    lumps = _fractal_displacement(rng, rock.vertices, int(rng.integers(2, 6)), rng.uniform(0.08, 0.35))
    rock.vertices += rock.vertex_normals * lumps[:, None]
    return rock


def _range_scan(rng: np.random.Generator) -> Any:
    """A scanner's view of a table top or a wall: a height field with objects on it, holes where
    the scanner saw nothing and per-point depth noise."""
    import trimesh

    cells = int(rng.integers(80, 160))
    u, v = np.meshgrid(np.linspace(-1, 1, cells), np.linspace(-1, 1, cells))
    grid = np.stack([u.ravel(), v.ravel(), np.zeros(u.size)], axis=1)
    height = _fractal_displacement(rng, grid, 4, rng.uniform(0.02, 0.15))
    for _ in range(int(rng.integers(0, 6))):  # objects standing on the surface
        centre, radius = rng.uniform(-0.7, 0.7, size=2), rng.uniform(0.1, 0.4)
        distance = np.hypot(grid[:, 0] - centre[0], grid[:, 1] - centre[1]) / radius
        height += rng.uniform(0.1, 0.5) * np.sqrt(np.clip(1 - distance**2, 0, None))
    grid[:, 2] = height + rng.normal(0, rng.uniform(0.0, 0.006), size=len(height))
    index = np.arange(cells * cells).reshape(cells, cells)
    a, b, c, d = (
        index[:-1, :-1].ravel(),
        index[:-1, 1:].ravel(),
        index[1:, :-1].ravel(),
        index[1:, 1:].ravel(),
    )
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([b, d, c], 1)])  # normals towards +z
    seen = _fractal_displacement(rng, grid[faces[:, 0]] * [2, 2, 0], 2, 1.0) > rng.uniform(-0.9, -0.3)
    return trimesh.Trimesh(grid, faces[seen], process=False)


def _displaced_primitives(rng: np.random.Generator) -> Any:
    """A few primitives pushed together and roughened: a kitbash or a blocked-out sculpt."""
    import trimesh

    parts = []
    for _ in range(int(rng.integers(2, 6))):
        part = _primitive(rng).subdivide()
        transform = trimesh.transformations.random_rotation_matrix(rng.random(3))
        transform[:3, 3] = rng.uniform(-0.5, 0.5, size=3)
        part.apply_transform(transform)
        parts.append(part)
    mesh: Any = trimesh.util.concatenate(parts)
    if rng.random() < 0.6:
        mesh.vertices += mesh.vertex_normals * _fractal_displacement(rng, mesh.vertices, 3, 0.03)[:, None]
    return mesh


_ORGANIC = (_rock, _creature, _range_scan, _displaced_primitives)


def organic_mesh(seed: int) -> Any:
    """One procedural model, the same for the same seed."""
    rng = np.random.default_rng([seed, 104729])
    return _ORGANIC[int(rng.integers(0, len(_ORGANIC)))](rng)


def render_thumbnail(renderer: Any, seed: int, size: int, folder: Path) -> npt.NDArray[np.uint8]:
    """organic_mesh(seed) as the app thumbnails a model file: written as PLY, read and drawn by the
    pyrender backend's public render call, half of them with a transparent background."""
    from PIL import Image

    from core.ai.classify import as_rgb_uint8
    from core.render.api import RenderRequest, UpAxis

    rng = np.random.default_rng([seed, 15485863])
    source, output = folder / f"{seed}.ply", folder / f"{seed}.png"
    organic_mesh(seed).export(source)
    transparent = bool(rng.random() < 0.5)
    up_axis: UpAxis = "z" if rng.random() < 0.5 else "y"
    request = RenderRequest(source, output, size, "thumbnail", transparent=transparent, up_axis=up_axis)
    renderer.render(request, lambda _fraction, _message: None)
    with Image.open(output) as image:
        pixels = np.asarray(image)
    return as_rgb_uint8(pixels)


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
    camera_pose = look_at(eye, np.array([0.0, 0.0, 0.0]))
    scene.add(pyrender.PerspectiveCamera(yfov=float(rng.uniform(0.5, 1.0))), pose=camera_pose)
    for _ in range(int(rng.integers(1, 4))):
        light_eye = rng.uniform([-4, 1, -4], [4, 6, 4])
        colour = np.clip(1.0 - rng.uniform(0, 0.4, size=3), 0, 1)
        if rng.random() < 0.5:
            light = pyrender.DirectionalLight(color=colour, intensity=float(rng.uniform(1.5, 5.0)))
        else:
            light = pyrender.PointLight(color=colour, intensity=float(rng.uniform(10.0, 60.0)))
        scene.add(light, pose=look_at(light_eye, np.zeros(3)))
    flags = pyrender.RenderFlags.RGBA | (
        pyrender.RenderFlags.SHADOWS_DIRECTIONAL if rng.random() < 0.5 else 0
    )
    colour, _ = renderer.render(scene, flags=flags)
    alpha = colour[:, :, 3:4].astype(np.float64) / 255.0
    composite = colour[:, :, :3] * alpha + _background(rng, size, clay) * (1 - alpha)
    return np.asarray(np.clip(composite + 0.5, 0, 255), np.uint8)


def main(argv: list[str]) -> int:
    from core.render.pyrender_backend import PyrenderRenderer

    request = json.loads(argv[0])
    size = int(request["size"])
    seeds = [int(seed) for seed in request["seeds"]]
    made: dict[int, npt.NDArray[np.uint8]] = {}
    # One OpenGL context at a time: EGL will not switch between two in one process.
    pyrender = _import_pyrender()
    renderer = pyrender.OffscreenRenderer(size, size)
    try:
        made.update((seed, render_scene(pyrender, renderer, seed, size)) for seed in seeds if not seed % 2)
    finally:
        renderer.delete()
    if any(seed % 2 for seed in seeds):
        thumbnails = PyrenderRenderer(os.environ["PYOPENGL_PLATFORM"])
        try:
            with tempfile.TemporaryDirectory(prefix="kind-thumbnails-") as folder:
                made.update(
                    (seed, render_thumbnail(thumbnails, seed, size, Path(folder)))
                    for seed in seeds
                    if seed % 2
                )
        finally:
            thumbnails.close()
    renders = [made[seed] for seed in seeds]
    np.save(request["out"], np.stack(renders) if renders else np.zeros((0, size, size, 3), np.uint8))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
