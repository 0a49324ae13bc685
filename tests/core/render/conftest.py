"""Shared fixtures for render tests: generated models, one warm render service, a fake Blender."""

from __future__ import annotations

import stat
import struct
import sys
from typing import TYPE_CHECKING

import numpy as np
import pytest
import trimesh
from PIL import Image

from core.render import RenderService

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

RED = (255, 0, 0)
BLUE = (0, 0, 255)
GREEN = (0, 200, 0)


def _textured_box(color: tuple[int, int, int]) -> trimesh.Trimesh:
    box = trimesh.creation.box()
    uv = np.random.default_rng(1).random((len(box.vertices), 2))
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.new("RGB", (16, 16), color))
    return box


def make_models(root: Path) -> dict[str, Path]:
    """Every format the renderer promises, generated with trimesh; returns name -> path."""
    models: dict[str, Path] = {}

    textured = root / "textured"
    textured.mkdir()
    _textured_box(RED).export(textured / "box.obj")
    models["obj_textured"] = textured / "box.obj"

    missing = root / "missing"
    missing.mkdir()
    _textured_box(RED).export(missing / "box.obj")
    for png in missing.glob("*.png"):
        png.unlink()
    models["obj_missing_texture"] = missing / "box.obj"

    plain = root / "plain"
    plain.mkdir()
    trimesh.creation.icosphere(subdivisions=2).export(plain / "sphere.obj", include_texture=False)
    models["obj_plain"] = plain / "sphere.obj"

    tall = trimesh.creation.box(extents=(1.0, 1.0, 4.0))  # tall along Z, as CAD/3D-print files are
    tall.export(root / "tall.stl")
    models["stl_binary_tall"] = root / "tall.stl"
    (root / "ascii.stl").write_text(trimesh.exchange.stl.export_stl_ascii(trimesh.creation.box()))
    models["stl_ascii"] = root / "ascii.stl"

    colored = trimesh.creation.icosphere(subdivisions=2)
    colored.visual.vertex_colors = np.tile(np.array([*GREEN, 255], np.uint8), (len(colored.vertices), 1))
    colored.export(root / "colored.ply")
    models["ply_vertex_colors"] = root / "colored.ply"

    trimesh.creation.cylinder(radius=0.5, height=1.0).export(root / "cylinder.off")
    models["off"] = root / "cylinder.off"

    # Two blue boxes placed by node transforms far apart: framing must include both.
    scene = trimesh.Scene()
    scene.add_geometry(
        _textured_box(BLUE),
        node_name="left",
        transform=trimesh.transformations.translation_matrix((-3, 0, 0)),
    )
    scene.add_geometry(
        _textured_box(BLUE),
        node_name="right",
        transform=trimesh.transformations.translation_matrix((3, 0, 0)),
    )
    scene.export(root / "pair.glb")
    models["glb_multi_mesh"] = root / "pair.glb"

    gltf_dir = root / "gltf"
    gltf_dir.mkdir()
    for name, data in trimesh.Scene(_textured_box(BLUE)).export(file_type="gltf").items():
        (gltf_dir / name).write_bytes(data)
    models["gltf"] = gltf_dir / "model.gltf"

    trimesh.creation.capsule(height=1.0, radius=0.4).export(root / "capsule.3mf")
    models["3mf"] = root / "capsule.3mf"
    return models


def make_hostile(root: Path) -> dict[str, Path]:
    hostile: dict[str, Path] = {}
    box = trimesh.creation.box()
    vertices = box.vertices.copy()
    vertices[0, 0] = np.nan
    trimesh.Trimesh(vertices, box.faces, process=False).export(root / "nan.ply")
    hostile["nan_vertices"] = root / "nan.ply"

    glb = trimesh.Scene(box).export(file_type="glb")
    (root / "bad_header.glb").write_bytes(b"glTX" + glb[4:])
    hostile["broken_glb_header"] = root / "bad_header.glb"
    (root / "truncated.glb").write_bytes(glb[: len(glb) // 2])
    hostile["truncated_glb"] = root / "truncated.glb"

    # Claims 50M faces (a 2.5 GB file) but is 584 bytes long.
    (root / "bomb.stl").write_bytes(b"\0" * 80 + struct.pack("<I", 50_000_000) + b"\0" * 500)
    hostile["stl_50m_faces"] = root / "bomb.stl"
    (root / "truncated.stl").write_bytes(b"\0" * 80 + struct.pack("<I", 1000) + b"\0" * 500)
    hostile["truncated_stl"] = root / "truncated.stl"
    (root / "empty.obj").write_bytes(b"")
    hostile["empty_file"] = root / "empty.obj"
    (root / "notes.obj").write_text("this is not geometry\n")
    hostile["no_geometry"] = root / "notes.obj"
    return hostile


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def hostile_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_hostile(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def render_service() -> Iterator[RenderService]:
    """One warm child for a whole test module, as the app keeps one for a batch."""
    with RenderService(timeout_s=60, memory_mb=1024, allow_fault_injection=True) as service:
        yield service


FAKE_BLENDER = '''#!{python}
"""Stands in for Blender's CLI: --version, or render_model.py's JSON contract."""
import json, os, signal, sys, time
from PIL import Image

if "--version" in sys.argv:
    print("Blender 9.9.9 (fake)")
    sys.exit(0)
args = json.loads(sys.argv[sys.argv.index("--") + 1])
name = os.path.basename(args["source"])
with open(args["source"] + ".pid", "w") as handle:
    handle.write(str(os.getpid()))
if "hang" in name:
    time.sleep(3600)
if "crash" in name:
    os.kill(os.getpid(), signal.SIGSEGV)
if "broken" in name:
    print("STRATOPIPE_ERROR " + json.dumps({{"message": "Blender could not import the file"}}))
    sys.exit(2)
size = args["size"]
image = Image.new("RGB", (size, size), (82, 82, 84))
image.paste((200, 40, 40), (size // 4, size // 4, 3 * size // 4, 3 * size // 4))
if args["product"] == "turntable":
    for index in range(args["frames"]):
        image.save(os.path.join(args["frames_dir"], "frame_%04d.png" % index))
        print("STRATOPIPE_PROGRESS " + json.dumps({{"fraction": (index + 1) / args["frames"]}}))
else:
    image.save(args["output"], format="PNG")
print("STRATOPIPE_RESULT " + json.dumps({{"device": "cycles-cpu", "engine": "CYCLES",
      "version": "Blender 9.9.9", "frames": args.get("frames", 1)}}))
'''


@pytest.fixture
def fake_blender(tmp_path: Path) -> Path:
    """A `blender` executable in its own folder (put it on PATH or pass it as blender_path)."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    script = folder / "blender"
    script.write_text(FAKE_BLENDER.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script
