"""The interface every render backend implements inside the render child process.

A backend is created once per child (it may own a GL context), renders many requests, and is closed
when the child exits. It never runs in the app's process: ``RenderService`` talks to it over a pipe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.render.api import RenderRequest, RenderResult

# (fraction 0..1, message) -> None
ProgressCallback = Callable[[float, str], None]


class Renderer(Protocol):
    name: str

    def render(self, request: RenderRequest, on_progress: ProgressCallback) -> RenderResult:
        """Render ``request.output`` (atomically) or raise a ``RenderError`` subclass."""
        ...

    def describe(self) -> dict[str, Any]:
        """What this backend runs on (platform, renderer, version) for logs and `doctor`."""
        ...

    def close(self) -> None: ...
