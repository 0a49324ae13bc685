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


def _checkerboard(cell: int = 10) -> QPixmap:
    tile = QPixmap(cell * 2, cell * 2)
    tile.fill(theme.CHECKER_DARK)
    painter = QPainter(tile)
    painter.fillRect(0, 0, cell, cell, theme.CHECKER_LIGHT)
    painter.fillRect(cell, cell, cell, cell, theme.CHECKER_LIGHT)
    painter.end()
    return tile


class ImageCanvas(QWidget):
    """Paints one image at a zoom and offset; fit mode follows the widget's size."""

    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pixmap = QPixmap()
        self._has_alpha = False
        self._zoom = 1.0
        self._offset = QPointF(0, 0)  # top-left of the image in widget coordinates
        self._fit_mode = True
        self._drag_from: QPointF | None = None
        self._checker = QBrush(_checkerboard())

    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def fit_mode(self) -> bool:
        return self._fit_mode

    def image_size(self) -> QSize:
        return self._pixmap.size()

    def set_image(self, image: QImage) -> None:
        self._pixmap = QPixmap.fromImage(image)
        self._has_alpha = image.hasAlphaChannel()
        self.fit()

    def clear(self) -> None:
        self._pixmap = QPixmap()
        self.update()

    def fit(self) -> None:
        """Whole image in view; small images stay at 1:1 rather than being blown up soft."""
        self._fit_mode = True
        if self._pixmap.isNull() or self.width() < 2 or self.height() < 2:
            self._set_zoom(1.0)
            return
        scale = min(self.width() / self._pixmap.width(), self.height() / self._pixmap.height(), 1.0)
        self._set_zoom(scale)
        self._centre()

    def actual_size(self) -> None:
        self._fit_mode = False
        self.zoom_at(1.0, QPointF(self.width() / 2, self.height() / 2))

    def zoom_at(self, zoom: float, anchor: QPointF) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coordinates) where it is."""
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        image_point = (anchor - self._offset) / self._zoom
        self._fit_mode = False
        self._set_zoom(zoom)
        self._offset = anchor - image_point * zoom
        self.update()

    def zoom_by(self, factor: float) -> None:
        self.zoom_at(self._zoom * factor, QPointF(self.width() / 2, self.height() / 2))

    def image_rect(self) -> QRectF:
        size = self._pixmap.size()
        return QRectF(
            self._offset.x(), self._offset.y(), size.width() * self._zoom, size.height() * self._zoom
        )

    def _set_zoom(self, zoom: float) -> None:
        if zoom != self._zoom:
            self._zoom = zoom
            self.zoom_changed.emit(zoom)
        self.update()

    def _centre(self) -> None:
        size = self._pixmap.size()
        self._offset = QPointF(
            (self.width() - size.width() * self._zoom) / 2, (self.height() - size.height() * self._zoom) / 2
        )
        self.update()

    def resizeEvent(self, event: object) -> None:  # type: ignore[override]
        if self._fit_mode:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps and not self._pixmap.isNull():
            self.zoom_at(self._zoom * WHEEL_STEP**steps, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self._offset += event.position() - self._drag_from
            self._drag_from = event.position()
            self._fit_mode = False
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._fit_mode:
            self.zoom_at(1.0, event.position())
        else:
            self.fit()

    def paintEvent(self, event: object) -> None:  # type: ignore[override]
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.BASE)
        if self._pixmap.isNull():
            return
        target = self.image_rect()
        if self._has_alpha:
            painter.fillRect(target, self._checker)
        # Smooth when shrinking; nearest when magnifying so pixels stay inspectable.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 1.0)
        painter.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))


class _DecodeRelay(QObject):
    done = Signal(int, QImage, str)  # request id, image (null on error), error text


class _DecodeTask(QRunnable):
    def __init__(self, request: int, path: Path, limits: MediaLimits | None, relay: _DecodeRelay) -> None:
        super().__init__()
        self._request, self._path, self._limits, self._relay = request, path, limits, relay

    def run(self) -> None:
        try:
            image = decode_to_qimage(self._path, self._limits)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is shown to the user, not raised
            log.warning("Viewer cannot decode %s: %s", self._path, exc)
            self._relay.done.emit(self._request, QImage(), str(exc) or type(exc).__name__)
            return
        self._relay.done.emit(self._request, image, "")


def decode_to_qimage(path: Path, limits: MediaLimits | None) -> QImage:
    """Full-size pixels as a QImage (worker thread). Our own JPEG/PNG renders go straight to Qt."""
    if limits is None:
        image = QImage(str(path))
        if image.isNull():
            raise ValueError(f"Cannot read {path.name}")
        return image
    from core.media.decode import load_image_rgba  # lazy: numpy/cv2/OpenEXR

    pixels = load_image_rgba(path, limits)
    height, width = pixels.shape[:2]
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    formats = {
        1: QImage.Format.Format_Grayscale8,
        3: QImage.Format.Format_RGB888,
        4: QImage.Format.Format_RGBA8888,
    }
    contiguous = pixels if pixels.flags["C_CONTIGUOUS"] else pixels.copy()
    # copy(): the QImage must own its pixels once the numpy array goes away.
    return QImage(contiguous.data, width, height, width * channels, formats[channels]).copy()


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
