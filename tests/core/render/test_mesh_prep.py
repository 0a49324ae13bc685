"""Shading normals (crisp edges on CAD, smooth on organic) and vertex clustering, in-process."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from core.render.mesh_prep import (
    MAX_CLUSTER_PIXELS,
    cluster_cell_size,
    cluster_vertices,
    estimated_surface_area,
    face_budget,
    shading_normals,
)


def _unit_face_normals(mesh: trimesh.Trimesh) -> np.ndarray:
    return np.asarray(mesh.face_normals, dtype=np.float64)


def test_shared_vertex_box_gets_flat_faces() -> None:
    box = trimesh.creation.box(extents=(2.0, 1.0, 0.5))
    assert len(box.vertices) == 8, "the CAD case: corners shared by three perpendicular sides"
    shading = shading_normals(box.vertices, box.faces)
    corner_normals = shading.normals[shading.faces]  # (faces, 3 corners, 3)
    expected = _unit_face_normals(box)[:, None, :]
    np.testing.assert_allclose(corner_normals, np.broadcast_to(expected, corner_normals.shape), atol=1e-5)
    np.testing.assert_array_equal(box.vertices[shading.source_vertex[shading.faces]], box.triangles)
    assert len(np.unique(shading.faces)) == 24, "one vertex per corner and side, not per triangle corner"


def test_smooth_sphere_stays_smooth_and_unsplit() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=3)
    shading = shading_normals(sphere.vertices, sphere.faces)
    assert len(shading.source_vertex) == len(sphere.vertices)
    radial = sphere.vertices / np.linalg.norm(sphere.vertices, axis=1, keepdims=True)
    assert np.einsum("ij,ij->i", shading.normals, radial).min() > 0.999


def test_cylinder_sides_smooth_caps_flat() -> None:
    cylinder = trimesh.creation.cylinder(radius=1.0, height=1.0, sections=64)
    shading = shading_normals(cylinder.vertices, cylinder.faces)
    corner_normals = shading.normals[shading.faces].astype(np.float64)
    face_normals = _unit_face_normals(cylinder)
    caps = np.abs(face_normals[:, 2]) > 0.99
    assert np.allclose(corner_normals[caps], face_normals[caps][:, None, :], atol=1e-5)
    # Side corners point radially (smooth), not along their flat face normal.
    side_corners = cylinder.vertices[cylinder.faces[~caps]]
    radial = side_corners * np.array([1.0, 1.0, 0.0])
    radial /= np.linalg.norm(radial, axis=2, keepdims=True)
    # (a flat face normal is 2.8 degrees off radial at its corners: cos = 0.9988)
    assert np.einsum("ijk,ijk->ij", corner_normals[~caps], radial).min() > 0.9995


def test_unshared_vertices_take_their_face_normal() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=2)
    triangles = sphere.triangles.reshape(-1, 3)  # STL-style: three own vertices per face
    faces = np.arange(len(triangles)).reshape(-1, 3)
    shading = shading_normals(triangles, faces)
    expected = np.repeat(_unit_face_normals(sphere), 3, axis=0)
    np.testing.assert_allclose(shading.normals, expected, atol=1e-5)


def test_dense_noisy_surface_keeps_smooth_normals() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=5)  # 20k faces
    rng = np.random.default_rng(7)
    noisy = sphere.vertices * (1.0 + rng.normal(scale=0.01, size=(len(sphere.vertices), 1)))
    shading = shading_normals(noisy, sphere.faces)
    assert len(shading.source_vertex) == len(sphere.vertices), "scan noise is not a CAD edge"


def test_degenerate_faces_do_not_produce_nan() -> None:
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 0]], dtype=np.float64)
    faces = np.array([[0, 1, 2], [0, 1, 3]])  # the second face has no area
    shading = shading_normals(vertices, faces)
    assert np.isfinite(shading.normals).all()
    np.testing.assert_allclose(np.linalg.norm(shading.normals, axis=1), 1.0, atol=1e-5)


def test_clustering_respects_budget_and_stays_within_a_cell() -> None:
    sphere = trimesh.creation.icosphere(subdivisions=6)  # 81,920 faces
    budget = 20_000
    area = estimated_surface_area(sphere.vertices, sphere.faces)
    assert area == pytest.approx(4 * math.pi, rel=0.02)
    cell = cluster_cell_size(area, budget, pixel_size=1.0)
    clustered = cluster_vertices(sphere.vertices, sphere.faces, cell)
    assert 0.5 * budget < len(clustered.faces) < 1.3 * budget
    # Every original vertex lies within one cell diagonal of the vertex that replaces it.
    moved = np.linalg.norm(sphere.vertices - clustered.vertices[clustered.cluster_of_vertex], axis=1)
    assert moved.max() <= cell * math.sqrt(3)
    a, b, c = clustered.faces.T
    assert ((a != b) & (b != c) & (a != c)).all(), "collapsed faces are dropped"
    assert clustered.faces.max() < len(clustered.vertices)


def test_cluster_cell_never_exceeds_the_pixel_cap() -> None:
    assert cluster_cell_size(1e6, budget=10, pixel_size=0.01) == pytest.approx(MAX_CLUSTER_PIXELS * 0.01)


def test_clustered_colours_are_cluster_means() -> None:
    vertices = np.array([[0.0, 0, 0], [0.1, 0, 0], [5.0, 0, 0], [5.0, 5.0, 0]])
    faces = np.array([[0, 2, 3], [1, 2, 3]])
    clustered = cluster_vertices(vertices, faces, cell=1.0)
    assert len(clustered.vertices) == 3
    assert len(clustered.faces) == 2, "two faces on the same clusters both remain drawable"
    colours = np.array([[0, 0, 0], [200, 100, 50], [10, 10, 10], [20, 20, 20]], dtype=np.float64)
    averaged = clustered.average(colours)
    merged = clustered.cluster_of_vertex[0]
    assert clustered.cluster_of_vertex[1] == merged
    np.testing.assert_allclose(averaged[merged], [100, 50, 25])


def test_face_budget_grows_with_size() -> None:
    assert face_budget(128) == face_budget(256), "small renders share the floor"
    assert face_budget(2048) == 4 * face_budget(1024)
