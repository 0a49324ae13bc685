"""Colour for review: exposure, gamma, channel views and OpenColorIO display/view transforms.

The viewer keeps a still as float RGBA (:class:`core.media.decode.FloatImage`) and turns it into display
pixels here, off the UI thread, each time a control changes:

    file values --channel--(input space -> scene_linear)--> exposure --(display/view)--> gamma --> 8-bit

Exposure is applied in scene-linear light, so +1 stop doubles the light whatever the file's encoding;
gamma is the viewer's display-side trim, applied after the view transform as in Nuke's viewer. Alpha is
data, not colour: the "A" view shows it untransformed. A channel view shows the file's own channel (the
one the probe reads) as grey, so it is picked before the conversion to the working space mixes them.

Configs and processors are built once and cached: building a processor from the ACES configs takes
tens of milliseconds, far longer than applying it to a frame's worth of pixels.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from core.media.decode import FloatImage

log = logging.getLogger(__name__)

# OCIO resolves this name to the newest ACES studio config its wheel bundles (no file, no network).
BUILTIN_CONFIG = "studio-config-latest"
# Where an asset's chosen input space is kept in its metadata.
INPUT_SPACE_KEY = "ocio_input_space"

# Best guesses first; OCIO resolves names, aliases and roles, so a studio config with other names still
# matches through the roles at the end of each list.
_LINEAR_REC709 = ("Linear Rec.709 (sRGB)", "lin_rec709_srgb", "scene_linear")
_SCENE_LINEAR = ("scene_linear",)
# Views that show display-referred pixels as they are encoded (no tone scale), in the configs' names.
_PLAIN_VIEWS = ("Video (colorimetric)", "Un-tone-mapped", "Standard", "Raw")
_SRGB_ENCODED = ("sRGB Encoded Rec.709 (sRGB)", "srgb_tx", "sRGB - Texture", "texture_paint", "default")


class Channel(StrEnum):
    RGB = "RGB"
    R = "R"
    G = "G"
    B = "B"
    A = "A"
    LUMINANCE = "Luminance"


@dataclass(frozen=True)
class ColourView:
    """What the viewer's colour controls say. Empty names mean the config's defaults or the guess."""

    exposure: float = 0.0  # stops
    gamma: float = 1.0
    channel: Channel = Channel.RGB
    display: str = ""
    view: str = ""
    input_space: str = ""


class ColourConfigError(Exception):
    """An OCIO config or colour space that cannot be used (the message is for the user)."""


@dataclass(frozen=True)
class ConfigChoices:
    """What a config offers the controls: displays with their views, and input colour spaces."""

    source: str  # the config file, or BUILTIN_CONFIG
    displays: dict[str, list[str]]
    default_display: str
    input_spaces: list[str]

    def default_view(self, display: str) -> str:
        views = self.displays.get(display, [])
        return views[0] if views else ""


def config_source(setting: str) -> str:
    """The config to use: the ``ocio_config`` setting, else ``$OCIO`` (as every OCIO tool does), else
    the built-in ACES studio config."""
    return setting or os.environ.get("OCIO", "") or BUILTIN_CONFIG


@lru_cache(maxsize=4)
def _config(source: str) -> Any:
    import PyOpenColorIO as ocio

    try:
        if source == BUILTIN_CONFIG or source.startswith("ocio://"):
            return ocio.Config.CreateFromBuiltinConfig(source.removeprefix("ocio://"))
        return ocio.Config.CreateFromFile(source)
    except ocio.Exception as exc:
        raise ColourConfigError(f"Cannot load the OpenColorIO config {source}: {exc}") from exc


def config_choices(source: str) -> ConfigChoices:
    config = _config(source)
    displays = {d: list(config.getViews(d)) for d in config.getDisplays()}
    spaces = [space.getName() for space in config.getColorSpaces()]
    return ConfigChoices(source, displays, config.getDefaultDisplay(), spaces)


def guess_input_space(source: str, image: FloatImage) -> str:
    """The colour space a file's values are most likely in, by its type and header.

    Float data is scene-linear. An EXR without a ``chromaticities`` attribute has Rec.709 primaries by
    the OpenEXR spec, and Radiance HDR files are Rec.709 in practice; an EXR naming other primaries is
    taken to be in the config's working space (ACEScg in the ACES configs). 8/16-bit images are sRGB.
    """
    candidates: tuple[str, ...]
    if not image.is_float:
        candidates = _SRGB_ENCODED
    elif image.format == "EXR" and "custom chromaticities" in str(image.details.get("color_space", "")):
        candidates = _SCENE_LINEAR
    else:
        candidates = _LINEAR_REC709
    config = _config(source)
    for name in candidates:
        space = config.getColorSpace(name)
        if space is not None:
            return str(space.getName())
    return str(next(iter(config.getColorSpaceNames())))


def default_view(source: str, display: str, image: FloatImage) -> str:
    """The config's default view for scene-linear data; for 8/16-bit (display-referred) pictures a
    view without a tone scale, so a JPEG looks as it does everywhere else until the user asks."""
    config = _config(source)
    if not image.is_float:
        views = list(config.getViews(display))
        for name in _PLAIN_VIEWS:
            if name in views:
                return name
    return str(config.getDefaultView(display))


@lru_cache(maxsize=16)
def _processors(source: str, input_space: str, display: str, view: str) -> tuple[Any, Any]:
    """CPU processors: file values -> scene_linear, and scene_linear -> the display/view."""
    import PyOpenColorIO as ocio

    config = _config(source)
    try:
        to_linear = config.getProcessor(input_space, ocio.ROLE_SCENE_LINEAR)
        transform = ocio.DisplayViewTransform(src=ocio.ROLE_SCENE_LINEAR, display=display, view=view)
        to_display = config.getProcessor(transform)
    except ocio.Exception as exc:
        raise ColourConfigError(f"Cannot show {input_space} through {display} / {view}: {exc}") from exc
    return to_linear.getDefaultCPUProcessor(), to_display.getDefaultCPUProcessor()


def apply_exposure(linear: np.ndarray, stops: float) -> np.ndarray:
    """Scale the colour (not alpha) of float RGBA by 2**stops."""
    scaled = linear.copy()
    scaled[:, :, :3] *= np.float32(2.0**stops)
    return scaled


def isolate_channel(linear: np.ndarray, channel: Channel, luma: tuple[float, float, float]) -> np.ndarray:
    """RGBA where colour is the chosen channel as grey (RGB and A return the input unchanged)."""
    if channel in (Channel.RGB, Channel.A):
        return linear
    if channel == Channel.LUMINANCE:
        grey = linear[:, :, :3] @ np.asarray(luma, dtype=np.float32)
    else:
        grey = linear[:, :, "RGB".index(channel.value)]
    out = np.empty_like(linear)
    out[:, :, :3] = grey[:, :, None]
    out[:, :, 3] = linear[:, :, 3]
    return out


def apply_gamma(display: np.ndarray, gamma: float) -> np.ndarray:
    """The viewer's gamma trim on display values (0..1): 2.0 brightens mid-tones, 1.0 does nothing."""
    clipped: np.ndarray = np.clip(display, 0.0, 1.0)
    if gamma == 1.0:
        return clipped
    return np.asarray(np.power(clipped, np.float32(1.0 / gamma)), dtype=np.float32)


def display_values(image: FloatImage, view: ColourView, source: str) -> np.ndarray:
    """Float RGBA display values (0..1 after the gamma trim) for ``view`` of ``image``."""
    # NaN and infinities from a broken render would poison the transforms: show them as 0 / bright.
    pixels = np.nan_to_num(image.pixels, nan=0.0, posinf=65504.0, neginf=-65504.0)
    if view.channel == Channel.A:
        alpha = np.clip(pixels[:, :, 3:4], 0.0, 1.0)
        grey = apply_gamma(np.repeat(alpha, 3, axis=2), view.gamma)
        return np.concatenate([grey, np.ones_like(alpha)], axis=2)
    config = _config(source)
    input_space = view.input_space or guess_input_space(source, image)
    display = view.display or config.getDefaultDisplay()
    view_name = view.view or default_view(source, display, image)
    to_linear, to_display = _processors(source, input_space, display, view_name)
    luma = tuple(config.getDefaultLumaCoefs())
    linear = np.ascontiguousarray(isolate_channel(pixels, view.channel, luma))
    to_linear.applyRGBA(linear)  # in place: nan_to_num made our own copy
    linear = apply_exposure(linear, view.exposure)
    to_display.applyRGBA(linear)
    linear[:, :, :3] = apply_gamma(linear[:, :, :3], view.gamma)
    if view.channel != Channel.RGB:
        linear[:, :, 3] = 1.0  # a single channel is looked at, not composited
    return linear


def render_display(image: FloatImage, view: ColourView, source: str) -> np.ndarray:
    """uint8 HxWx4 RGBA ready to paint."""
    values = display_values(image, view, source)
    return np.asarray(np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
