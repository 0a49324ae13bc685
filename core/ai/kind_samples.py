"""Seeded images of every artist kind that can be made by a program, with the kind as the label.

The kind head (core/ai/kind_head.py) is trained on these by ``python -m core.ai.train_kinds`` and the
tests check it on seeds the training never saw, so both read this one module. Each generator varies
what an artist's real files vary (frequencies, palettes, themes, paper, lighting) from its ``rng``;
photographs cannot be generated and come from real camera files (core/ai/train_kinds.py). CG renders
are made by pyrender in a child process (core/ai/kind_render.py): an OpenGL context and its
``PYOPENGL_PLATFORM`` belong to one process, not to the caller's.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from core.ai.classify import (
    ALBEDO,
    CG_RENDER,
    DOCUMENT_SCAN,
    HDR_PANORAMA,
    LINE_ART,
    NORMAL_MAP,
    ROUGHNESS_OR_MASK,
    UI_SCREENSHOT,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy as np
    import numpy.typing as npt

    Image = npt.NDArray[np.uint8]
    Field = npt.NDArray[np.float64]

WORDS = (
    "render",
    "asset",
    "texture",
    "shot",
    "layer",
    "frame",
    "scene",
    "camera",
    "light",
    "mesh",
    "export",
    "import",
    "version",
    "review",
    "the",
    "of",
    "and",
    "to",
    "in",
    "for",
    "with",
    "on",
    "at",
    "by",
    "from",
    "project",
    "folder",
    "settings",
    "apply",
    "cancel",
    "open",
    "save",
    "delivery",
)


def periodic_noise(rng: np.random.Generator, height: int, width: int, falloff: float) -> Field:
    """1/f^falloff noise in [0, 1] made in the frequency domain: it tiles seamlessly by construction."""
    import numpy as np

    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    spectrum = (rng.normal(size=(height, width)) + 1j * rng.normal(size=(height, width))) / (radius**falloff)
    spectrum[0, 0] = 0.0
    field = np.real(np.fft.ifft2(spectrum))
    field -= field.min()
    result: Field = field / max(float(field.max()), 1e-9)
    return result


def _to_uint8(image: npt.NDArray[np.floating] | Field) -> Image:
    import numpy as np

    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _wrap_blur(field: Field, sigma: float) -> Field:
    """Gaussian blur that wraps around the edges, so a tileable field stays tileable."""
    import cv2
    import numpy as np

    pad = int(3 * sigma) + 1
    padded = np.pad(field, pad, mode="wrap")
    blurred = cv2.GaussianBlur(padded, (0, 0), sigma)[pad:-pad, pad:-pad]
    return np.asarray(blurred, np.float64)


def _bricks(rng: np.random.Generator, size: int) -> tuple[Field, npt.NDArray[np.int64]]:
    """A tileable brick or tile layout: height (1 on a brick, 0 in the mortar) and a brick id map."""
    import numpy as np

    rows = int(rng.choice([2, 4, 6, 8, 12]))
    offset = bool(rng.random() < 0.6)  # running bond of bricks twice as long as high; else square tiles
    cols = max(1, rows // 2) if offset else rows
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    row = np.floor(yy / size * rows)
    shifted = xx / size * cols + (0.5 * (row % 2) if offset else 0.0)
    col = np.floor(shifted) % cols
    fy = yy / size * rows - row
    fx = shifted - np.floor(shifted)
    mortar = rng.uniform(0.03, 0.09)
    edge = np.minimum(np.minimum(fx, 1 - fx) * rows / cols, np.minimum(fy, 1 - fy))
    height = np.clip((edge - mortar) / 0.05, 0.0, 1.0)
    height = _wrap_blur(height, 1.0)
    return height, (row * cols + col).astype(np.int64)


def normal_map(rng: np.random.Generator, size: int = 256) -> Image:
    """Tangent-space normals of a random height field (noise, bricks or tiles), as bakers export."""
    import numpy as np

    if rng.random() < 0.5:
        height = periodic_noise(rng, size, size, rng.uniform(1.4, 3.0))
    else:
        bricks, _ = _bricks(rng, size)
        height = bricks + rng.uniform(0.05, 0.3) * periodic_noise(rng, size, size, rng.uniform(1.0, 2.0))
    strength = rng.uniform(3.0, 25.0)
    dy, dx = np.gradient(height * strength)
    normals = np.dstack([-dx, -dy if rng.random() < 0.5 else dy, np.ones_like(height)])  # OpenGL/DirectX
    normals /= np.linalg.norm(normals, axis=2, keepdims=True)
    return _to_uint8((normals * 0.5 + 0.5) * 255.0)


def roughness_or_mask(rng: np.random.Generator, size: int = 256) -> Image:
    """Grey data maps: roughness noise, grunge, ambient occlusion of bricks, or a hard mask."""
    import cv2
    import numpy as np

    style = int(rng.integers(0, 4))
    if style == 0:
        grey = periodic_noise(rng, size, size, rng.uniform(1.0, 3.0))
    elif style == 1:  # grunge: broad stains with speckles
        stains = periodic_noise(rng, size, size, 2.5)
        speckle = (rng.random((size, size)) < rng.uniform(0.005, 0.05)).astype(np.float64)
        grey = np.clip(stains * 1.3 - 0.2, 0, 1) * (1 - 0.6 * cv2.GaussianBlur(speckle, (0, 0), 0.8))
    elif style == 2:  # ambient occlusion: light surfaces, dark crevices
        bricks, _ = _bricks(rng, size)
        grey = 0.35 + 0.65 * _wrap_blur(bricks, rng.uniform(1.5, 5.0))
    else:  # a mask: thresholded noise, softened
        noise = periodic_noise(rng, size, size, rng.uniform(1.8, 3.0))
        grey = (noise > rng.uniform(0.35, 0.65)).astype(np.float64)
        grey = _wrap_blur(grey, rng.uniform(0.5, 3.0))
    low, high = sorted(rng.uniform(0.0, 1.0, size=2))
    grey = low * 0.6 + grey * (0.4 + high * 0.6 - low * 0.6)
    grey = grey ** rng.uniform(0.6, 1.6)
    return np.repeat(_to_uint8(grey * 255.0)[:, :, None], 3, axis=2)


def albedo(rng: np.random.Generator, size: int = 256) -> Image:
    """Tileable base colour: coloured noise, bricks, wood grain or tiles, lit flat (no shading)."""
    import numpy as np

    palette = rng.uniform(20, 235, size=(2, 3))
    detail = periodic_noise(rng, size, size, rng.uniform(0.8, 1.6))
    style = int(rng.integers(0, 4))
    if style == 0:
        mix = periodic_noise(rng, size, size, rng.uniform(1.5, 2.8))
    elif style in (1, 3):  # bricks (1) or ceramic tiles (3): one colour a piece, grout between
        height, ids = _bricks(rng, size)
        per_piece = rng.random(int(ids.max()) + 1)[ids]
        mix = np.where(height > 0.5, 0.2 + 0.6 * per_piece * (0.4 if style == 3 else 1.0), 0.95)
    else:  # wood: rings around a far centre, warped by noise
        yy = np.mgrid[0:size, 0:size][0].astype(np.float64)
        warp = periodic_noise(rng, size, size, 2.0)
        rings = int(rng.integers(4, 14))
        mix = 0.5 + 0.5 * np.sin(2 * math.pi * (rings * yy / size + 1.5 * warp))
        palette = np.array([[140, 90, 50], [200, 150, 95]]) * rng.uniform(0.6, 1.15)
    mix = np.clip(mix + rng.uniform(0.05, 0.3) * (detail - 0.5), 0, 1)
    colour = palette[0] * (1 - mix[:, :, None]) + palette[1] * mix[:, :, None]
    return _to_uint8(colour)


def _photo_patch(photo: Image, rng: np.random.Generator, size: int) -> Field:
    """A square crop of a photograph at ``size``, its lighting divided out (what an artist does
    before a photo becomes a texture), as float 0..255."""
    import cv2
    import numpy as np

    height, width = photo.shape[:2]
    side = int(min(height, width) * rng.uniform(0.15, 0.5))  # a patch of surface, not the scene
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    crop = cv2.resize(photo[top : top + side, left : left + side], (size, size), interpolation=cv2.INTER_AREA)
    values = crop.astype(np.float64) + 1.0
    lighting = cv2.GaussianBlur(values, (0, 0), size / 8)
    flat: Field = values / lighting * values.mean(axis=(0, 1))
    return flat


def _seamless(field: Field) -> Field:
    """Cross-fade the image with itself shifted by half a tile: the classic way to hide seams."""
    import numpy as np

    size = field.shape[0]
    ramp = np.abs(np.linspace(-1.0, 1.0, size))
    weight = np.minimum(ramp[:, None], ramp[None, :])  # 1 at the borders, 0 in the middle
    if field.ndim == 3:
        weight = weight[:, :, None]
    shifted = np.roll(field, (size // 2, size // 2), axis=(0, 1))
    blended: Field = field * (1 - weight) + shifted * weight
    return blended


def albedo_from_photo(photo: Image, rng: np.random.Generator, size: int = 256) -> Image:
    """A tileable base colour made from a photograph: a crop, its lighting flattened, made seamless."""
    return _to_uint8(_seamless(_photo_patch(photo, rng, size)))


def roughness_from_photo(photo: Image, rng: np.random.Generator, size: int = 256) -> Image:
    """A grey data map made from a photograph's detail, stretched to full contrast."""
    import numpy as np

    grey = _seamless(_photo_patch(photo, rng, size).mean(axis=2))
    low, high = np.percentile(grey, [2, 98])
    stretched = np.clip((grey - low) / max(float(high - low), 1e-3), 0, 1)
    if rng.random() < 0.5:
        stretched = 1.0 - stretched  # roughness is often the inverted detail
    return np.repeat(_to_uint8(stretched * 255.0)[:, :, None], 3, axis=2)


def _paper(rng: np.random.Generator, height: int, width: int, tone: float) -> Field:
    import numpy as np

    tint = np.array([tone, tone - rng.uniform(0, 6), tone - rng.uniform(0, 16)])
    grain = (periodic_noise(rng, height, width, 1.0) - 0.5) * rng.uniform(0, 10)
    paper: Field = np.broadcast_to(tint, (height, width, 3)) + grain[:, :, None]
    return paper


def line_art(rng: np.random.Generator, size: int = 256) -> Image:
    """Pen or pencil strokes, outlines and hatching on white or off-white paper."""
    import cv2
    import numpy as np

    page = _paper(rng, size, size, rng.uniform(232, 255)).copy()
    ink = float(rng.choice([10.0, 40.0, rng.uniform(70, 140)]))  # pen, marker, pencil grey
    colour = (ink, ink, ink)
    for _ in range(int(rng.integers(4, 16))):
        thickness = int(rng.integers(1, 3))
        shape = rng.random()
        if shape < 0.45:  # a smooth freehand curve
            control = rng.uniform(10, size - 10, size=(4, 2))
            t = np.linspace(0, 1, 40)[:, None]
            curve = ((1 - t) ** 3 * control[0] + 3 * (1 - t) ** 2 * t * control[1]
                     + 3 * (1 - t) * t**2 * control[2] + t**3 * control[3])  # fmt: skip
            cv2.polylines(page, [curve.astype(np.int32)], False, colour, thickness, cv2.LINE_AA)
        elif shape < 0.7:
            centre = tuple(int(v) for v in rng.integers(30, size - 30, size=2))
            axes = tuple(int(v) for v in rng.integers(8, size // 3, size=2))
            cv2.ellipse(
                page, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, thickness, cv2.LINE_AA
            )
        else:  # hatching: a patch of parallel lines
            x0, y0 = (int(v) for v in rng.integers(0, size - 60, size=2))
            spacing, angle = int(rng.integers(3, 8)), rng.uniform(-1.0, 1.0)
            for k in range(int(rng.integers(5, 14))):
                start = (x0 + k * spacing, y0)
                end = (int(start[0] + 40 * angle), y0 + 50)
                cv2.line(page, start, end, colour, 1, cv2.LINE_AA)
    if ink > 60:  # graphite is patchy
        page = 255 - (255 - page) * (0.6 + 0.4 * periodic_noise(rng, size, size, 0.5)[:, :, None])
    return _to_uint8(page)


def _text(rng: np.random.Generator, words: int) -> str:
    return " ".join(str(rng.choice(WORDS)) for _ in range(words))


def ui_screenshot(rng: np.random.Generator, size: int = 256) -> Image:
    """An application window: bars, panels, buttons, list rows, fields and thumbnails, dark or light."""
    import cv2
    import numpy as np

    width, height = int(size * rng.choice([1.25, 1.5, 1.6])), size
    dark = rng.random() < 0.5
    base = rng.uniform(35, 60) if dark else rng.uniform(225, 245)
    text = (220.0,) * 3 if dark else (25.0,) * 3
    panel = base + (12 if dark else -18)
    accent = tuple(float(v) for v in rng.uniform(40, 230, size=3))
    shot = np.full((height, width, 3), base, np.float64)
    bar = int(rng.integers(18, 30))
    shot[:bar] = base - 10 if dark else base - 30
    font = cv2.FONT_HERSHEY_SIMPLEX
    for x in range(8, width - 40, int(rng.integers(40, 60))):  # menu bar
        cv2.putText(shot, str(rng.choice(WORDS)).title(), (x, bar - 7), font, 0.33, text, 1, cv2.LINE_AA)
    side = int(width * rng.uniform(0.18, 0.3))
    shot[bar:, :side] = panel
    row_height = int(rng.integers(16, 24))
    for index, y in enumerate(range(bar + 8, height - row_height, row_height)):
        if index == int(rng.integers(0, 6)):
            shot[y - 2 : y + row_height - 4, 2 : side - 2] = accent
        cv2.putText(shot, _text(rng, 2), (10, y + row_height // 2 + 2), font, 0.32, text, 1, cv2.LINE_AA)
    left = side + 10
    if rng.random() < 0.5:  # a grid of thumbnails, as asset browsers show
        tile = int(rng.integers(36, 60))
        for y in range(bar + 10, height - tile, tile + 8):
            for x in range(left, width - tile, tile + 8):
                colour = periodic_noise(rng, tile, tile, 2.0)[:, :, None] * rng.uniform(60, 255, size=3)
                shot[y : y + tile, x : x + tile] = colour
    else:  # a form: labels, fields, buttons
        for y in range(bar + 20, height - 40, int(rng.integers(22, 32))):
            cv2.putText(shot, _text(rng, 1).title(), (left, y + 12), font, 0.34, text, 1, cv2.LINE_AA)
            cv2.rectangle(shot, (left + 80, y), (width - 16, y + 16), (base + (25 if dark else 10),) * 3, -1)
            cv2.rectangle(shot, (left + 80, y), (width - 16, y + 16), (panel - 20,) * 3, 1)
        cv2.rectangle(shot, (width - 90, height - 30), (width - 16, height - 10), accent, -1)
        cv2.putText(shot, "Apply", (width - 74, height - 15), font, 0.38, (255.0,) * 3, 1, cv2.LINE_AA)
    return _to_uint8(shot)


def document_scan(rng: np.random.Generator, size: int = 256) -> Image:
    """A scanned page: heading, paragraphs in one or two columns, paper tone, skew, scan noise."""
    import cv2
    import numpy as np

    width, height = size, int(size * rng.uniform(1.25, 1.45))
    page = _paper(rng, height, width, rng.uniform(215, 250)).copy()
    ink = (rng.uniform(10, 70),) * 3
    margin = int(width * rng.uniform(0.06, 0.12))
    font = int(rng.choice([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX_SMALL]))
    scale = rng.uniform(0.28, 0.4) if font != cv2.FONT_HERSHEY_PLAIN else rng.uniform(0.55, 0.8)
    cv2.putText(page, _text(rng, 3).title(), (margin, margin + 14), font, scale * 1.8, ink, 2, cv2.LINE_AA)
    columns = 2 if rng.random() < 0.35 else 1
    column_width = (width - 2 * margin) // columns
    step = int(rng.integers(9, 14))
    for column in range(columns):
        x = margin + column * column_width
        y = margin + 40
        while y < height - margin:
            if rng.random() < 0.12:  # paragraph break
                y += step
                continue
            words = max(1, int(column_width / 28 * rng.uniform(0.6, 1.1)))
            cv2.putText(page, _text(rng, words), (x, y), font, scale, ink, 1, cv2.LINE_AA)
            y += step
    angle = rng.uniform(-2.0, 2.0)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    skewed = cv2.warpAffine(page, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    shade = 1.0 - rng.uniform(0, 0.12) * np.linspace(0, 1, width)[None, :, None]  # scanner lid shadow
    scanned = cv2.GaussianBlur(skewed * shade, (0, 0), rng.uniform(0.3, 0.9))
    return _to_uint8(scanned + rng.normal(0, rng.uniform(1, 5), size=scanned.shape))


def hdr_panorama(rng: np.random.Generator, size: int = 256) -> Image:
    """A tonemapped 2:1 equirectangular sky: gradient, sun, clouds, a horizon of hills or sea."""
    import numpy as np

    height, width = size // 2, size
    yy = np.linspace(0.0, 1.0, height)[:, None]
    xx = np.linspace(0.0, 1.0, width)[None, :]
    zenith = rng.uniform([0.1, 0.2, 0.5], [0.5, 0.7, 1.6])
    horizon_colour = rng.uniform([0.6, 0.5, 0.4], [2.0, 1.6, 1.4])
    blend = np.clip(yy / 0.5, 0, 1)[:, :, None]
    radiance = zenith * (1 - blend) + horizon_colour * blend
    sun_x, sun_y = rng.uniform(0, 1), rng.uniform(0.1, 0.45)
    distance = np.minimum(np.abs(xx - sun_x), 1 - np.abs(xx - sun_x)) * 2  # wraps around
    sun = rng.uniform(20, 200) * np.exp(-((distance / 0.015) ** 2 + ((yy - sun_y) / 0.03) ** 2))
    radiance = (
        radiance
        + sun[:, :, None]
        + 3.0 * np.exp(-((distance / 0.1) ** 2 + ((yy - sun_y) / 0.15) ** 2))[:, :, None]
    )
    clouds = np.clip(periodic_noise(rng, height, width, 2.2) * 1.8 - rng.uniform(0.5, 1.1), 0, 1)
    radiance = radiance * (1 - clouds[:, :, None]) + clouds[:, :, None] * rng.uniform(0.8, 2.5)
    ridge = 0.5 + 0.06 * (periodic_noise(rng, 1, width, 2.0)[0] - 0.5) * rng.uniform(0, 2)
    ground = yy > ridge[None, :]
    ground_colour = rng.uniform([0.05, 0.05, 0.03], [0.3, 0.35, 0.4])
    texture = 0.6 + 0.8 * periodic_noise(rng, height, width, 1.3)
    radiance[ground] = (ground_colour * texture[ground][:, None]) * rng.uniform(0.5, 2.0)
    mapped = radiance * rng.uniform(0.6, 1.5)
    mapped = (mapped / (1.0 + mapped)) ** (1 / 2.2)
    return _to_uint8(mapped * 255.0)


GENERATORS: dict[str, Callable[[np.random.Generator, int], Image]] = {
    NORMAL_MAP: normal_map,
    ROUGHNESS_OR_MASK: roughness_or_mask,
    ALBEDO: albedo,
    LINE_ART: line_art,
    UI_SCREENSHOT: ui_screenshot,
    DOCUMENT_SCAN: document_scan,
    HDR_PANORAMA: hdr_panorama,
}
GENERATED_KINDS = (*GENERATORS, CG_RENDER)


def sample(kind: str, seed: int, size: int = 256) -> Image:
    """One image of ``kind`` (not a CG render: see :func:`cg_renders`), the same for the same seed."""
    import numpy as np

    # The kind's name is part of the seed so seed 3 of two kinds share no random numbers.
    rng = np.random.default_rng([seed, zlib.crc32(kind.encode())])
    return GENERATORS[kind](rng, size)


def cg_renders(seeds: Sequence[int], size: int = 256, *, timeout_s: float = 300.0) -> list[Image]:
    """pyrender renders of procedural scenes (even seeds) and clay model thumbnails (odd seeds, the
    app's own renderer), one per seed, made in a child process (core/ai/kind_render.py).

    Raises RuntimeError with the child's message when it cannot render (no EGL, no pyrender).
    """
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="kind-render-") as folder:
        out = Path(folder) / "renders.npy"
        request = json.dumps({"seeds": list(seeds), "size": size, "out": str(out)})
        environment = {**os.environ, "PYOPENGL_PLATFORM": os.environ.get("KIND_RENDER_GL", "egl")}
        done = subprocess.run(
            [sys.executable, "-m", "core.ai.kind_render", request],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=environment,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"the CG render child failed ({done.returncode}): {done.stderr.strip()[-600:]}"
            )
        renders = np.load(out, allow_pickle=False)
    return list(renders)
