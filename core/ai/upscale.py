"""Super-resolution part by part: bounded memory, cancellable at any time, with progress.

Whatever runs the network (a torch module on the engine's device, or Real-ESRGAN through ncnn in a
child process) is an :class:`Upscaler`: one small RGB block in, the same block ``scale`` times larger
out. :func:`upscale_tiled` cuts the image into blocks of ``upscaler.block`` pixels with ``tile_pad``
pixels of neighbouring context (cropped away again, so blocks join without seams) and writes each
result straight into the output. A torch module's block is one tile; the ncnn runtime tiles a block
of several tiles itself, with real context between them. The working memory is one tile's, whatever
the image's size; only the input and the output arrays grow with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from core.ai.models import ModelError

if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from contextlib import AbstractContextManager

    import numpy as np
    import numpy.typing as npt

    from core.ai.models import ModelEntry
    from core.jobs.steps import CancelToken


class Upscaler(Protocol):
    entry: ModelEntry
    device: str  # where it really runs: "cuda:0", "cpu", "vulkan:0"
    tile: int  # input pixels a side per tile on that device
    block: int  # input pixels a side per call (a whole number of tiles)

    @property
    def running(self) -> bool: ...

    def upscale(self, rgb: npt.NDArray[np.uint8], cancel: CancelToken | None = None) -> npt.NDArray[np.uint8]:
        """One block; may raise JobCancelledError before it is done when ``cancel`` fires."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class TileProgress:
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total


def tile_boxes(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    """(top, left, bottom, right) of each tile, row by row."""
    return [
        (top, left, min(top + tile, height), min(left + tile, width))
        for top in range(0, height, tile)
        for left in range(0, width, tile)
    ]


def upscale_tiled(
    rgb: npt.NDArray[np.uint8],
    upscaler: Upscaler,
    lock: AbstractContextManager[object],
    *,
    cancel: CancelToken | None = None,
) -> Generator[TileProgress, None, npt.NDArray[np.uint8]]:
    """Yield after every block; return the upscaled image. Raises ModelError on a bad result and
    JobCancelledError once ``cancel`` fired (between blocks, or within one where the upscaler can).

    ``lock`` is held for one block at a time: the device's other work (a classify batch) runs
    between two blocks instead of waiting for a whole enhancement.
    """
    import numpy as np

    entry = upscaler.entry
    pad = entry.tile_pad
    height, width = rgb.shape[:2]
    boxes = tile_boxes(height, width, upscaler.block)
    scale = entry.scale
    output: npt.NDArray[np.uint8] | None = None
    for index, (top, left, bottom, right) in enumerate(boxes):
        if cancel is not None:
            cancel.raise_if_cancelled()
        pad_top, pad_left = max(0, top - pad), max(0, left - pad)
        pad_bottom, pad_right = min(height, bottom + pad), min(width, right + pad)
        crop = np.ascontiguousarray(rgb[pad_top:pad_bottom, pad_left:pad_right])
        with lock:
            result = upscaler.upscale(crop, cancel)
        if scale is None:  # a studio model that does not state its factor: its first tile tells
            scale = result.shape[0] // max(crop.shape[0], 1)
        if scale < 1 or result.shape != (crop.shape[0] * scale, crop.shape[1] * scale, 3):
            raise ModelError(
                f"model {entry.name} returned {result.shape} for a {crop.shape} tile; an enhance "
                f"model must return the tile at its scale ({scale}x)"
            )
        if output is None:
            output = np.empty((height * scale, width * scale, 3), np.uint8)
        output[top * scale : bottom * scale, left * scale : right * scale] = result[
            (top - pad_top) * scale : (bottom - pad_top) * scale,
            (left - pad_left) * scale : (right - pad_left) * scale,
        ]
        yield TileProgress(index + 1, len(boxes))
    assert output is not None
    return output


class TorchUpscaler:
    """A torch super-resolution module; ``forward`` runs one normalised (1, 3, h, w) batch."""

    def __init__(
        self,
        entry: ModelEntry,
        forward: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]],
        device: str,
        gpu: bool,
    ) -> None:
        self.entry = entry
        self.device = device
        self.tile = (entry.gpu_tile or entry.tile) if gpu else entry.tile
        self.block = self.tile  # the module has no tiling of its own: a block is one tile
        self._forward = forward

    @property
    def running(self) -> bool:
        return True

    def upscale(self, rgb: npt.NDArray[np.uint8], cancel: CancelToken | None = None) -> npt.NDArray[np.uint8]:
        import numpy as np

        mean = np.asarray(self.entry.mean, np.float32)
        std = np.asarray(self.entry.std, np.float32)
        normalised = (rgb.astype(np.float32) / 255.0 - mean) / std
        output = self._forward(np.ascontiguousarray(normalised.transpose(2, 0, 1))[None])
        restored = (output.transpose(1, 2, 0) * std + mean) * 255.0 + 0.5
        tile: npt.NDArray[np.uint8] = np.clip(restored, 0.0, 255.0).astype(np.uint8)
        return tile

    def close(self) -> None:
        """Nothing to release: the engine owns the module."""
