"""The numpy fast path reads exactly what trimesh reads, and hands anything unusual back to trimesh."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import trimesh

from core.render.api import InvalidModelError
from core.render.fast_loaders import read_simple_mesh
from core.render.scene_loading import load_model

if TYPE_CHECKING:
    from pathlib import Path


def _noisy_sphere(subdivisions: int = 3) -> trimesh.Trimesh:
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    rng = np.random.default_rng(3)
    sphere.vertices = sphere.vertices * 123.456 + rng.normal(scale=0.01, size=sphere.vertices.shape)
    return sphere


def _trimesh_geometry(path: Path) -> trimesh.Trimesh:
    scene = trimesh.load(str(path), force="scene", process=False)
    (geometry,) = scene.geometry.values()
    return geometry


def _write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def _exports(root: Path) -> dict[str, Path]:
    mesh = _noisy_sphere()
    colored = _noisy_sphere()
    colors = np.random.default_rng(5).integers(0, 256, size=(len(colored.vertices), 4), dtype=np.uint8)
    colored.visual.vertex_colors = colors
    rgb_only = trimesh.exchange.ply.export_ply(colored, encoding="ascii").decode()
    rgb_only = rgb_only.replace("property uchar alpha\n", "")
    rgb_only = "\n".join(
        " ".join(line.split()[:6]) if line.count(" ") == 6 else line for line in rgb_only.split("\n")
    )
    obj_text = trimesh.exchange.obj.export_obj(mesh, include_normals=False, include_texture=False)
    return {
        "off": _write(root / "mesh.off", trimesh.exchange.off.export_off(mesh)),
        "ply_ascii": _write(root / "mesh.ply", trimesh.exchange.ply.export_ply(mesh, encoding="ascii")),
        "ply_rgba": _write(root / "rgba.ply", trimesh.exchange.ply.export_ply(colored, encoding="ascii")),
        "ply_rgb": _write(root / "rgb.ply", rgb_only),
        "obj": _write(root / "mesh.obj", obj_text),
        # a vertex no face uses: trimesh drops it, and so must we
        "obj_unused_vertex": _write(root / "unused.obj", "v 9 9 9\n" + obj_text),
    }


@pytest.mark.parametrize("name", ["off", "ply_ascii", "ply_rgba", "ply_rgb", "obj", "obj_unused_vertex"])
def test_fast_path_matches_trimesh_exactly(name: str, tmp_path: Path) -> None:
    path = _exports(tmp_path)[name]
    fast = read_simple_mesh(path, min_bytes=0)
    assert fast is not None, f"{name} should take the fast path"
    reference = _trimesh_geometry(path)
    assert fast.vertices.dtype == np.float64
    np.testing.assert_array_equal(fast.vertices, reference.vertices)
    np.testing.assert_array_equal(fast.faces, reference.faces)
    if name.startswith("ply_rgb"):
        assert reference.visual.kind == "vertex"
        assert fast.vertex_colors is not None
        np.testing.assert_array_equal(fast.vertex_colors, reference.visual.vertex_colors)
    else:
        assert fast.vertex_colors is None


def test_load_model_takes_fast_path_for_big_files_and_keeps_geometry(tmp_path: Path) -> None:
    mesh = _noisy_sphere(subdivisions=5)  # 20k faces, ~800 KB of OFF text
    path = _write(tmp_path / "big.off", trimesh.exchange.off.export_off(mesh))
    assert read_simple_mesh(path) is not None
    loaded = load_model(path)
    (geometry,) = loaded.scene.geometry.values()
    reference = _trimesh_geometry(path)
    assert loaded.face_count == len(mesh.faces)
    np.testing.assert_array_equal(geometry.vertices, reference.vertices)
    np.testing.assert_array_equal(geometry.faces, reference.faces)


OUTSIDE_SUBSET = {
    "quads.off": "OFF\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n",
    "comment_in_body.off": "OFF\n3 1 0\n0 0 0\n# a comment\n1 0 0\n0 1 0\n3 0 1 2\n",
    "coloured.off": "COFF\n3 1 0\n0 0 0 255 0 0 255\n1 0 0 0 255 0 255\n0 1 0 0 0 255 255\n3 0 1 2\n",
    "short.off": "OFF\n5 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
    "bad_index.off": "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n",
    "uv.obj": "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/1\n",
    "normals.obj": "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//1\n",
    "relative.obj": "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3 -2 -1\n",
    "quad.obj": "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n",
    "material.obj": "mtllib a.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl red\nf 1 2 3\n",
    "interleaved.obj": "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nv 0 0 1\nf 1 2 4\n",
    "vertex_colours.obj": "v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 1\nf 1 2 3\n",
    "normals.ply": (
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
        "property float z\nproperty float nx\nproperty float ny\nproperty float nz\n"
        "element face 1\nproperty list uchar int vertex_indices\nend_header\n"
        "0 0 0 0 0 1\n1 0 0 0 0 1\n0 1 0 0 0 1\n3 0 1 2\n"
    ),
}


@pytest.mark.parametrize("name", sorted(OUTSIDE_SUBSET))
def test_files_outside_the_subset_go_to_trimesh(name: str, tmp_path: Path) -> None:
    path = _write(tmp_path / name, OUTSIDE_SUBSET[name])
    assert read_simple_mesh(path, min_bytes=0) is None


def test_binary_ply_and_small_files_go_to_trimesh(tmp_path: Path) -> None:
    mesh = _noisy_sphere()
    binary = _write(tmp_path / "binary.ply", trimesh.exchange.ply.export_ply(mesh))
    assert read_simple_mesh(binary, min_bytes=0) is None
    small = _write(tmp_path / "small.off", trimesh.exchange.off.export_off(trimesh.creation.box()))
    assert read_simple_mesh(small) is None, "below the size threshold trimesh is quick enough"


def test_truncated_big_off_still_fails_clearly(tmp_path: Path) -> None:
    text = trimesh.exchange.off.export_off(_noisy_sphere(subdivisions=5))
    path = _write(tmp_path / "truncated.off", text[: len(text) // 2])
    assert read_simple_mesh(path) is None
    with pytest.raises(InvalidModelError, match=r"truncated\.off"):
        load_model(path)
