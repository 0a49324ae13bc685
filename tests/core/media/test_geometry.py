from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING

import numpy as np
import pytest
import trimesh

from core.media.errors import InvalidMediaError
from core.media.kinds import AssetKind
from core.media.limits import MediaLimits
from core.media.probe import probe
from core.media.thumbnails import make_thumbnail

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("file_type", "extension"),
    [("obj", ".obj"), ("stl", ".stl"), ("stl_ascii", ".stl"), ("ply", ".ply"), ("off", ".off"),
     ("glb", ".glb"), ("3mf", ".3mf")],
)  # fmt: skip
def test_box_counts_and_bounds(tmp_path: Path, limits: MediaLimits, file_type: str, extension: str) -> None:
    box = trimesh.creation.box(extents=(2.0, 4.0, 6.0))
    path = tmp_path / f"box{extension}"
    box.export(path, file_type=file_type)
    meta = probe(path, AssetKind.GEOMETRY, limits)
    assert meta["faces"] == 12
    # STL stores three corners per triangle; the others share the cube's 8 corners.
    assert meta["vertices"] in (8, 36)
    assert meta["parts"] == 1
    assert np.allclose(meta["bounds"], [[-1, -2, -3], [1, 2, 3]])
    json.dumps(meta)


def test_ply_with_vertex_colours_and_two_part_glb(tmp_path: Path, limits: MediaLimits) -> None:
    coloured = trimesh.creation.icosphere(subdivisions=1)
    coloured.visual.vertex_colors = np.tile([255, 0, 0, 255], (len(coloured.vertices), 1))
    ply = tmp_path / "painted.ply"
    coloured.export(ply)
    meta = probe(ply, AssetKind.GEOMETRY, limits)
    assert meta["has_vertex_colors"] is True
    assert meta["vertices"] == 42
    assert meta["faces"] == 80

    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(), node_name="crate")
    scene.add_geometry(trimesh.creation.cylinder(radius=0.5, height=2, sections=16), node_name="pipe")
    glb = tmp_path / "props.glb"
    scene.export(glb)
    meta = probe(glb, AssetKind.GEOMETRY, limits)
    assert meta["parts"] == 2
    assert meta["up_axis"] == "Y"
    assert meta["has_vertex_colors"] is False


def test_huge_binary_stl_refused_from_header(tmp_path: Path) -> None:
    """A header claiming 50 million triangles is refused without loading (or allocating) them."""
    faces = 50_000_000
    path = tmp_path / "scan.stl"
    with path.open("wb") as stream:
        stream.write(b"\x00" * 80 + struct.pack("<I", faces))
        stream.truncate(84 + 50 * faces)  # sparse file: 2.5 GB on paper, nothing on disk
    limits = MediaLimits(max_file_size_bytes=4 << 30, max_image_pixels=10**8)
    with pytest.raises(InvalidMediaError, match=r"50,000,000 faces, which exceeds the limit"):
        probe(path, AssetKind.GEOMETRY, limits)


def test_ply_header_counts_are_checked_first(tmp_path: Path) -> None:
    path = tmp_path / "points.ply"
    path.write_bytes(
        b"ply\nformat binary_little_endian 1.0\nelement vertex 90000000\n"
        b"property float x\nproperty float y\nproperty float z\nend_header\n" + b"\x00" * 120
    )
    limits = MediaLimits(max_file_size_bytes=1 << 30, max_image_pixels=10**8)
    with pytest.raises(InvalidMediaError, match=r"90,000,000 vertices"):
        probe(path, AssetKind.GEOMETRY, limits)


def test_nan_vertices_are_a_clear_error(tmp_path: Path, limits: MediaLimits) -> None:
    path = tmp_path / "broken.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n", encoding="utf-8")
    with pytest.raises(InvalidMediaError, match=r"broken\.obj has vertices with invalid"):
        probe(path, AssetKind.GEOMETRY, limits)


def test_truncated_binary_stl(tmp_path: Path, limits: MediaLimits) -> None:
    path = tmp_path / "cut.stl"
    trimesh.creation.box().export(path, file_type="stl")
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(InvalidMediaError, match=r"cut\.stl is a damaged binary STL"):
        probe(path, AssetKind.GEOMETRY, limits)


def test_uninspectable_formats_are_still_catalogued(tmp_path: Path, limits: MediaLimits) -> None:
    fbx = tmp_path / "rig.fbx"
    fbx.write_bytes(b"Kaydara FBX Binary  \x00\x1a\x00" + b"\x00" * 64)
    meta = probe(fbx, AssetKind.GEOMETRY, limits)
    assert meta == {"kind": "geometry", "size_bytes": 87, "format": "fbx", "inspected": False}


def test_geometry_thumbnail_is_a_marked_placeholder(tmp_path: Path, limits: MediaLimits) -> None:
    path = tmp_path / "box.glb"
    trimesh.creation.box().export(path)
    result = make_thumbnail(path, AssetKind.GEOMETRY, tmp_path / "t", "34" * 16, 200, limits)
    assert (result.width, result.height) == (200, 200)
    assert result.placeholder is True
    assert result.source == "geometry-placeholder"
    cached = make_thumbnail(path, AssetKind.GEOMETRY, tmp_path / "t", "34" * 16, 200, limits)
    assert cached.placeholder is True  # read back from the JPEG comment
    assert cached.source == "geometry-placeholder"
