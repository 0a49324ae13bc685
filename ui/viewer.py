"""The full-size viewer: zoom around the cursor, pan, 1:1, fit, a checkerboard under alpha.

Pixels are decoded on a worker thread with ``core.media.decode.load_image_rgba`` (EXR tone mapping,
16-bit, PSD...) while a "loading" page shows; a stale decode (the user already moved on) is dropped.
Each kind picks what to show: images and sequences their pixels (a sequence its first frame), videos
their poster frame, geometry its best render. A kind can get its own page instead (a video player):
``AssetViewer.register_page(kind, factory)``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QBrush, QImage, QKeySequence, QMouseEvent, QPainter, QPixmap, QShortcut, QWheelEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.files import asset_files
from ui.formatting import KIND_LABELS

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.media.limits import MediaLimits

log = logging.getLogger(__name__)

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
WHEEL_STEP = 1.25
# Best first: what to show for geometry (renders) and video (poster) instead of decoding the file.
GEOMETRY_ARTIFACTS = ("preview", "render_thumbnail", "thumbnail")
VIDEO_ARTIFACTS = ("poster", "thumbnail")


class PageFactory(Protocol):
    def __call__(self, record: AssetRecord, parent: QWidget) -> QWidget: ...


class AssetViewer(QWidget):
    closed = Signal()
    navigate = Signal(int)  # -1 previous, +1 next
    loaded = Signal(object)  # AssetRecord whose pixels are now shown (tests, status)

    def __init__(self, catalog: Catalog, limits: MediaLimits, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._limits = limits
        self._record: AssetRecord | None = None
        self._request = 0
        self._page_factories: dict[str, PageFactory] = {}
        self._custom_page: QWidget | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _DecodeRelay(self)
        self._relay.done.connect(self._on_decoded)

        bar = QFrame()
        bar.setObjectName("ViewerBar")
        self.title = QLabel()
        self.title.setObjectName("AssetTitle")
        self.info = QLabel()
        self.info.setObjectName("Dim")
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("Dim")
        self.zoom_label.setMinimumWidth(50)
        self.canvas = ImageCanvas()
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        buttons = [
            self._tool("fit", "Fit (F)", self.canvas.fit),
            self._tool("actual", "Actual pixels 1:1 (1)", self.canvas.actual_size),
            self._tool("close", "Close viewer (Esc)", self.close_viewer),
        ]
        row = QHBoxLayout(bar)
        row.setContentsMargins(12, 6, 8, 6)
        row.addWidget(self.title)
        row.addSpacing(10)
        row.addWidget(self.info, 1)
        row.addWidget(self.zoom_label)
        for button in buttons:
            row.addWidget(button)

        self.loading_label = QLabel("Loading…")
        self.message_label = QLabel()
        for label in (self.loading_label, self.message_label):
            label.setObjectName("EmptyState")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
        self.pages = QStackedWidget()
        for page in (self.loading_label, self.canvas, self.message_label):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.pages, 1)

        shortcuts: list[tuple[str | QKeySequence.StandardKey, Callable[[], None]]] = [
            ("Esc", self.close_viewer),
            ("Left", lambda: self.navigate.emit(-1)),
            ("Right", lambda: self.navigate.emit(1)),
            ("F", self.canvas.fit),
            ("1", self.canvas.actual_size),
            ("+", lambda: self.canvas.zoom_by(WHEEL_STEP)),
            ("=", lambda: self.canvas.zoom_by(WHEEL_STEP)),
            ("-", lambda: self.canvas.zoom_by(1 / WHEEL_STEP)),
        ]
        for key, slot in shortcuts:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    def _tool(self, icon_name: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setObjectName("Flat")
        button.setIcon(theme.icon(icon_name))
        button.setIconSize(QSize(18, 18))
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    @property
    def record(self) -> AssetRecord | None:
        return self._record

    @property
    def is_loading(self) -> bool:
        return self.pages.currentWidget() is self.loading_label

    def register_page(self, kind: str, factory: PageFactory) -> None:
        """Show ``factory(record, parent)`` for assets of ``kind`` instead of a still (e.g. a player)."""
        self._page_factories[kind] = factory

    def show_asset(self, record: AssetRecord, position: str = "") -> None:
        self._record = record
        self._request += 1
        self.title.setText(record.name)
        self.info.setText("  ·  ".join(p for p in (KIND_LABELS.get(record.kind, record.kind), position) if p))
        self._drop_custom_page()
        factory = self._page_factories.get(record.kind)
        if factory is not None:
            self._custom_page = factory(record, self.pages)
            self.pages.addWidget(self._custom_page)
            self.pages.setCurrentWidget(self._custom_page)
            return
        source, limits = self._still_for(record)
        if source is None:
            self._show_message(self._nothing_to_show(record))
            return
        self.canvas.clear()
        self.pages.setCurrentWidget(self.loading_label)
        self.loading_label.setText(f"Loading {record.name}…")
        self._pool.start(_DecodeTask(self._request, source, limits, self._relay))

    def _still_for(self, record: AssetRecord) -> tuple[Path | None, MediaLimits | None]:
        """What file to decode for this asset, and whether it needs the full media decoder."""
        if record.kind == "image":
            return Path(record.path), self._limits
        if record.kind == "sequence":
            return asset_files(record)[0], self._limits
        wanted = GEOMETRY_ARTIFACTS if record.kind == "geometry" else VIDEO_ARTIFACTS
        artifacts = {a.kind: a.path for a in self._catalog.artifacts(record.id)}
        for kind in wanted:
            if kind in artifacts and Path(artifacts[kind]).exists():
                return Path(artifacts[kind]), None
        if record.thumbnail:
            return Path(record.thumbnail), None
        return None, None

    def _nothing_to_show(self, record: AssetRecord) -> str:
        if record.status == "failed":
            return f"{record.name} failed:\n{record.error or 'no details'}"
        if record.status == "pending":
            return f"{record.name} is still being processed; its preview appears when ready."
        return f"No preview for {KIND_LABELS.get(record.kind, record.kind).lower()} files yet."

    def _on_decoded(self, request: int, image: QImage, error: str) -> None:
        if request != self._request or self._record is None:
            return  # the user moved on; this decode is stale
        if image.isNull():
            self._show_message(f"Cannot show {self._record.name}:\n{error}")
            return
        self.pages.setCurrentWidget(self.canvas)
        self.canvas.set_image(image)
        size = self.canvas.image_size()
        self.info.setText(f"{self.info.text()}  ·  {size.width()} × {size.height()}")
        self.canvas.setFocus()
        self.loaded.emit(self._record)

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.pages.setCurrentWidget(self.message_label)

    def _drop_custom_page(self) -> None:
        if self._custom_page is not None:
            self.pages.removeWidget(self._custom_page)
            self._custom_page.deleteLater()
            self._custom_page = None

    def close_viewer(self) -> None:
        self._request += 1
        self._drop_custom_page()
        self.canvas.clear()
        self._record = None
        self.closed.emit()

    def shutdown(self) -> None:
        self._pool.clear()
        self._pool.waitForDone(3000)
