"""The viewer's keyboard: what each key does, in one table. The keys work while the viewer or one of
its children has focus."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ui.viewer.image_canvas import WHEEL_STEP

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtCore import SignalInstance

    from ui.viewer.colour_bar import ColourBar
    from ui.viewer.image_canvas import ImageCanvas
    from ui.viewer.picture_stage import PictureStage
    from ui.viewer.viewer_bar import ViewerBar


class KeyedViewer(Protocol):
    """What the keys drive: the viewer as its keyboard sees it (the viewer module imports this one)."""

    @property
    def navigate(self) -> SignalInstance: ...
    @property
    def stage(self) -> PictureStage: ...
    @property
    def canvas(self) -> ImageCanvas: ...
    @property
    def bar(self) -> ViewerBar: ...
    @property
    def colour_bar(self) -> ColourBar: ...

    def escape(self) -> None: ...
    def toggle_enhance(self) -> None: ...
    def toggle_turntable(self) -> None: ...


def viewer_shortcuts(viewer: KeyedViewer) -> list[tuple[str, Callable[[], None]]]:
    """The key sequences and what each does, for ``QShortcut``."""
    return [
        ("Esc", viewer.escape),
        ("Left", lambda: viewer.navigate.emit(-1)),
        ("Right", lambda: viewer.navigate.emit(1)),
        # A focused video player keeps Left/Right for frame steps; these always change asset.
        ("PgUp", lambda: viewer.navigate.emit(-1)),
        ("PgDown", lambda: viewer.navigate.emit(1)),
        ("0", viewer.stage.fit),
        ("Ctrl+0", viewer.stage.fit),
        ("1", viewer.canvas.actual_size),
        ("+", lambda: viewer.canvas.zoom_by(WHEEL_STEP)),
        ("=", lambda: viewer.canvas.zoom_by(WHEEL_STEP)),
        ("-", lambda: viewer.canvas.zoom_by(1 / WHEEL_STEP)),
        ("E", viewer.toggle_enhance),
        ("F", viewer.bar.focus_button.toggle),
        ("T", viewer.toggle_turntable),
        ("C", viewer.colour_bar.cycle_channel),
        ("[", lambda: viewer.bar.versions.step(-1)),
        ("]", lambda: viewer.bar.versions.step(1)),
    ]
