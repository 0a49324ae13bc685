"""Real pyrender renders (headless EGL/llvmpipe) of every supported format through one warm child."""

from __future__ import annotations

from typing import TYPE_CHECKING

import av
import pytest

from core.render import RenderRequest, RenderService
from tests.core.render.image_checks import assert_framed, coverage

if TYPE_CHECKING:
    from pathlib import Path

SIZE = 128
FORMATS = [
    "obj_textured",
    "obj_missing_texture",
    "obj_plain",
    "stl_binary_tall",
    "stl_ascii",
    "ply_vertex_colors",
    "off",
    "glb_multi_mesh",
    "gltf",
    "3mf",
]


def _thumbnail(service: RenderService, source: Path, output: Path, **kwargs: object) -> Path:
    request = RenderRequest(source=source, output=output, size=SIZE, product="thumbnail", **kwargs)  # type: ignore[arg-type]
    result = service.render(request)
    assert result.output == output
    assert (result.width, result.height, result.frames) == (SIZE, SIZE, 1)
    return output


@pytest.mark.parametrize("name", FORMATS)
def test_each_format_renders_a_framed_model(
    name: str, models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    output = _thumbnail(render_service, models[name], tmp_path / f"{name}.png")
    assert_framed(coverage(output))


def test_textured_models_show_their_texture_colour(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    red = coverage(_thumbnail(render_service, models["obj_textured"], tmp_path / "obj.png"))
    r, g, b = red.mean_rgb
    assert r > 2 * g, f"OBJ with a red texture rendered {red.mean_rgb}"
    assert r > 2 * b, f"OBJ with a red texture rendered {red.mean_rgb}"
    blue = coverage(_thumbnail(render_service, models["glb_multi_mesh"], tmp_path / "glb.png"))
    r, g, b = blue.mean_rgb
    assert b > 2 * r, f"GLB with a blue texture rendered {blue.mean_rgb}"
    assert b > 2 * g, f"GLB with a blue texture rendered {blue.mean_rgb}"


def test_vertex_colours_are_used(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    found = coverage(_thumbnail(render_service, models["ply_vertex_colors"], tmp_path / "ply.png"))
    r, g, b = found.mean_rgb
    assert g > 1.5 * max(r, b), f"green PLY rendered {found.mean_rgb}"


def test_missing_texture_is_magenta_and_reported(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    request = RenderRequest(
        source=models["obj_missing_texture"], output=tmp_path / "m.png", size=SIZE, product="thumbnail"
    )
    result = render_service.render(request)
    r, g, b = coverage(result.output).mean_rgb
    assert min(r, b) > 120, f"missing texture rendered {(r, g, b)}"
    assert g < 0.4 * min(r, b), f"missing texture rendered {(r, g, b)}"
    assert any("magenta" in warning for warning in result.warnings)


def test_untextured_model_is_neutral_clay(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    r, g, b = coverage(_thumbnail(render_service, models["obj_plain"], tmp_path / "c.png")).mean_rgb
    assert max(r, g, b) - min(r, g, b) < 30, f"clay should be near grey, got {(r, g, b)}"
    assert min(r, g, b) > 90, "clay should be lighter than the background"


def test_z_up_stl_stands_upright(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    found = coverage(_thumbnail(render_service, models["stl_binary_tall"], tmp_path / "t.png"))
    assert found.content_height > 1.8 * found.content_width, (
        f"a 1x1x4 Z-up box should look tall, got {found.content_width}x{found.content_height}"
    )
    lying = coverage(_thumbnail(render_service, models["stl_binary_tall"], tmp_path / "l.png", up_axis="y"))
    assert lying.content_width > lying.content_height, "up_axis='y' should lay the box down"


def test_transparent_background_png_has_alpha(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    from PIL import Image

    output = _thumbnail(render_service, models["obj_plain"], tmp_path / "a.png", transparent=True)
    with Image.open(output) as image:
        assert image.mode == "RGBA"
        corner_alpha = image.getpixel((0, 0))[3]  # type: ignore[index]
        centre_alpha = image.getpixel((SIZE // 2, SIZE // 2))[3]  # type: ignore[index]
    assert (corner_alpha, centre_alpha) == (0, 255)
    assert_framed(coverage(output))


def test_turntable_mp4_has_requested_frames(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    progress: list[float] = []
    request = RenderRequest(
        source=models["glb_multi_mesh"],
        output=tmp_path / "spin.mp4",
        size=95,  # odd on purpose: yuv420p needs even dimensions
        product="turntable",
        frames=8,
        fps=12,
    )
    result = render_service.render(request, on_progress=lambda fraction, _text: progress.append(fraction))
    with av.open(str(result.output)) as container:
        stream = container.streams.video[0]
        decoded = list(container.decode(stream))
        assert stream.codec_context.name in ("h264", "mpeg4")
        assert stream.codec_context.pix_fmt == "yuv420p"
    assert len(decoded) == 8 == result.frames
    assert (decoded[0].width, decoded[0].height) == (96, 96)
    assert progress
    assert progress[-1] == pytest.approx(1.0)
    first, quarter = decoded[0].to_ndarray(format="rgb24"), decoded[2].to_ndarray(format="rgb24")
    assert abs(first.astype(int) - quarter.astype(int)).mean() > 1.0, "a quarter turn should differ"


def test_batch_reuses_one_warm_child(
    models: dict[str, Path], render_service: RenderService, tmp_path: Path
) -> None:
    render_service.start()
    pid = render_service.pid
    for index, name in enumerate(("obj_plain", "off", "gltf")):
        _thumbnail(render_service, models[name], tmp_path / f"{index}.png")
    assert render_service.pid == pid
