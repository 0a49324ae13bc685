"""What decimation and edge splitting change in real renders (one warm child, EGL/llvmpipe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import trimesh
from PIL import Image

from core.render import RenderRequest, RenderResult, RenderService
from tests.core.render.image_checks import assert_framed, coverage

if TYPE_CHECKING:
    from pathlib import Path


def _render(service: RenderService, source: Path, output: Path, size: int, **kwargs: object) -> RenderResult:
    request = RenderRequest(source=source, output=output, size=size, product="thumbnail", **kwargs)  # type: ignore[arg-type]
    return service.render(request)


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.int32)


def _mask(rgb: np.ndarray) -> np.ndarray:
    return np.abs(rgb - rgb[0, 0]).sum(axis=2) > 24


def test_big_mesh_is_drawn_decimated_with_the_same_silhouette_and_colour(
    render_service: RenderService, tmp_path: Path
) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=6)  # 81,920 faces: over the 50k budget
    sphere.visual.vertex_colors = np.tile(np.array([40, 170, 60, 255], np.uint8), (len(sphere.vertices), 1))
    source = tmp_path / "sphere.ply"
    sphere.export(source)

    decimated = _render(render_service, source, tmp_path / "decimated.png", 256)
    full = _render(render_service, source, tmp_path / "full.png", 256, decimate=False)

    assert decimated.faces == full.faces == 81_920
    assert full.faces_drawn == 81_920
    assert decimated.faces_drawn < 0.8 * decimated.faces, "a thumbnail should not draw every face"
    fast, exact = _pixels(decimated.output), _pixels(full.output)
    changed = float((_mask(fast) != _mask(exact)).mean())
    assert changed < 0.01, f"silhouette changed on {changed:.2%} of the pixels"
    assert np.abs(fast - exact).mean() < 2.0, "shading should look the same"
    r, g, b = coverage(decimated.output).mean_rgb
    assert g > 1.5 * max(r, b), f"vertex colours lost in decimation: {(r, g, b)}"


def test_small_meshes_are_drawn_in_full(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    result = _render(render_service, models["ply_vertex_colors"], tmp_path / "small.png", 512)
    assert result.faces_drawn == result.faces == 320


def test_cad_box_with_shared_vertices_has_flat_sides(render_service: RenderService, tmp_path: Path) -> None:
    box = trimesh.creation.box(extents=(1.0, 0.6, 0.8))
    source = tmp_path / "box.obj"
    box.export(source, include_normals=False, include_texture=False)
    assert trimesh.load(source, process=False).vertices.shape == (8, 3), "the shared-corner case"

    result = _render(render_service, source, tmp_path / "box.png", 128)
    found = coverage(result.output)
    assert_framed(found)
    rgb = _pixels(result.output)
    grey = rgb[_mask(rgb)].mean(axis=1)
    _, counts = np.unique(np.round(grey / 4), return_counts=True)
    # Three visible sides, each evenly lit: three grey levels cover nearly every model pixel.
    # (Smooth normals across the corners shade each side as a gradient: about a third.)
    share = np.sort(counts)[-3:].sum() / counts.sum()
    assert share > 0.8, f"the box sides look soft: three grey levels cover only {share:.0%}"
