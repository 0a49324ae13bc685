"""Generated images with known answers for the AI tests and the benchmark.

These are single fixed pictures the classical rules are checked against; the varied, seeded images
the kind head is trained and tested on are made by core/ai/kind_samples.py, which
also owns the seamless noise both use.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from core.ai.kind_samples import periodic_noise

Image = npt.NDArray[np.uint8]


def normal_map(seed: int = 0, size: int = 256) -> Image:
    rng = np.random.default_rng(seed)
    height = periodic_noise(rng, size, size, 2.0) * 12.0
    dy, dx = np.gradient(height)
    normals = np.dstack([-dx, -dy, np.ones_like(height)])
    normals /= np.linalg.norm(normals, axis=2, keepdims=True)
    return np.clip((normals * 0.5 + 0.5) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def grey_mask(seed: int = 0, size: int = 256) -> Image:
    rng = np.random.default_rng(seed)
    field = periodic_noise(rng, size, size, 2.5)
    grey = (field * 200 + 30).astype(np.uint8)
    return np.dstack([grey, grey, grey])


def albedo_texture(seed: int = 0, size: int = 256) -> Image:
    rng = np.random.default_rng(seed)
    detail = periodic_noise(rng, size, size, 1.2)
    broad = periodic_noise(rng, size, size, 2.0)
    base = np.array([150.0, 85.0, 55.0])  # brick/earth
    shade = 0.55 + 0.6 * detail[:, :, None] + 0.25 * (broad[:, :, None] - 0.5)
    tint = np.dstack([broad * 30, broad * 10, -broad * 10])
    return np.clip(base * shade + tint, 0, 255).astype(np.uint8)


def photo_scene(seed: int = 0, width: int = 320, height: int = 240) -> Image:
    """Sky, hills, a few coloured objects, natural texture and sensor noise."""
    rng = np.random.default_rng(seed)
    yy = np.linspace(0.0, 1.0, height)[:, None, None]
    sky = np.array([110.0, 160.0, 230.0]) * (1.0 - 0.3 * yy) + np.array([40.0, 30.0, 0.0]) * yy
    image = np.broadcast_to(sky, (height, width, 3)).copy()
    horizon = (height * (0.5 + 0.08 * np.sin(np.linspace(0, 6, width) + seed))).astype(int)
    texture = periodic_noise(rng, height, width, 1.0)
    for x in range(width):
        image[horizon[x] :, x] = np.array([70.0, 110.0, 40.0]) + 30.0 * rng.normal(size=3) * 0.2
    ground = np.arange(height)[:, None] >= horizon[None, :]
    image[ground] *= (0.6 + 0.8 * texture[ground])[:, None]
    for _ in range(5):
        centre = (int(rng.integers(20, width - 20)), int(rng.integers(height // 2, height - 10)))
        colour = tuple(float(c) for c in rng.integers(30, 230, size=3))
        cv2.circle(image, centre, int(rng.integers(8, 30)), colour, -1, lineType=cv2.LINE_AA)
    image = np.asarray(cv2.GaussianBlur(image, (3, 3), 0.7), np.float64)
    image += rng.normal(0.0, 6.0, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def cg_render(width: int = 320, height: int = 240) -> Image:
    """A shaded sphere on a smooth gradient floor, no noise: what a renderer gives."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    background = np.dstack([60 + 80 * yy / height, 70 + 60 * yy / height, 120 - 40 * yy / height])
    cx, cy, radius = width * 0.45, height * 0.5, height * 0.32
    dx, dy = (xx - cx) / radius, (yy - cy) / radius
    inside = dx**2 + dy**2 < 1.0
    dz = np.sqrt(np.clip(1.0 - dx**2 - dy**2, 0.0, 1.0))
    light = np.array([-0.4, -0.5, 0.77])
    diffuse = np.clip(dx * light[0] + dy * light[1] + dz * light[2], 0.0, 1.0)
    sphere = np.array([220.0, 90.0, 40.0])[None, None, :] * (0.15 + 0.85 * diffuse[:, :, None])
    image = np.where(inside[:, :, None], sphere, background)
    return np.clip(image, 0, 255).astype(np.uint8)


def document_page(width: int = 340, height: int = 440) -> Image:
    page = np.full((height, width, 3), 246, np.uint8)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while"]
    y = 40
    index = 0
    while y < height - 30:
        line = " ".join(words[(index + k) % len(words)] for k in range(6))
        cv2.putText(page, line, (24, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (20, 20, 20), 1, cv2.LINE_AA)
        y += 22
        index += 3
    return page


def line_art(seed: int = 0, size: int = 300) -> Image:
    rng = np.random.default_rng(seed)
    canvas = np.full((size, size, 3), 255, np.uint8)
    for _ in range(6):
        points = rng.integers(20, size - 20, size=(5, 2)).astype(np.int32)
        cv2.polylines(canvas, [points], False, (0, 0, 0), 2, lineType=cv2.LINE_AA)
    cv2.circle(canvas, (size // 2, size // 3), size // 6, (0, 0, 0), 2, lineType=cv2.LINE_AA)
    return canvas


def ui_screenshot(width: int = 480, height: int = 320) -> Image:
    shot = np.full((height, width, 3), 236, np.uint8)
    shot[:36] = (40, 90, 170)  # title/tool bar
    shot[36:, :110] = (52, 56, 62)  # dark side bar
    for row in range(5):
        top = 50 + row * 34
        cv2.rectangle(shot, (10, top), (100, top + 24), (80, 86, 95), -1)
        cv2.putText(shot, f"Item {row}", (16, top + 17), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (230, 230, 230), 1)
    cv2.rectangle(shot, (130, 60), (460, 200), (255, 255, 255), -1)
    cv2.rectangle(shot, (130, 60), (460, 200), (180, 180, 180), 1)
    cv2.putText(shot, "Render settings", (140, 84), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (20, 20, 20), 1)
    cv2.rectangle(shot, (360, 250), (460, 284), (40, 120, 220), -1)
    cv2.putText(shot, "Apply", (388, 272), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
    cv2.putText(shot, "StratoPipe", (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
    return shot


def hdr_panorama_float(width: int = 512, height: int = 256) -> npt.NDArray[np.float32]:
    yy = np.linspace(0.0, 1.0, height)[:, None]
    xx = np.linspace(0.0, 1.0, width)[None, :]
    sky = 0.4 + 1.5 * (1.0 - yy) + 0.0 * xx
    sun = 60.0 * np.exp(-(((xx - 0.3) / 0.02) ** 2 + ((yy - 0.2) / 0.04) ** 2))
    radiance = np.dstack([sky * 0.8 + sun, sky * 0.9 + sun, sky * 1.2 + sun])
    return radiance.astype(np.float32)


def tonemap(radiance: npt.NDArray[np.float32]) -> Image:
    mapped = radiance / (1.0 + radiance)
    return (np.clip(mapped, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)


def salient_object_scene(
    seed: int = 0, width: int = 400, height: int = 300
) -> tuple[Image, tuple[int, int, int, int]]:
    """Muted textured background with one bright object off centre; returns image and its box."""
    rng = np.random.default_rng(seed)
    background = 110 + 12 * periodic_noise(rng, height, width, 1.5)[:, :, None]
    image = np.repeat(background, 3, axis=2) + rng.normal(0, 3, size=(height, width, 3))
    cx, cy, radius = int(width * 0.78), int(height * 0.28), 28
    cv2.circle(image, (cx, cy), radius, (230.0, 40.0, 30.0), -1, lineType=cv2.LINE_AA)
    box = (cx - radius, cy - radius, 2 * radius, 2 * radius)
    return np.clip(image, 0, 255).astype(np.uint8), box
