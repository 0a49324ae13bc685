"""The viewer's A/B compare: a bar (mode, gain, opacity, swap, A/B labels) and a wipe divider.

Both stills are decoded on the viewer's pool and kept as display values (the colour config's default
view for each, as the viewer first shows them), so switching mode or dragging a control only
recomposites, with no decode. The compositing itself is Qt-free (``core.media.compare``); this module
only paints its result on the viewer's canvas. Side by side puts B (fitted to A's size) on the viewer's
second canvas, the one the enhanced copy uses, so zoom and pan stay locked by the viewer's own view sync.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QWidget,
)

from core.media.colour import ColourView, display_values
from core.media.compare import CompareMode, composite, fit_to, to_uint8
from ui.common import theme
from ui.viewer.image_canvas import pixels_to_qimage

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    from PySide6.QtCore import QThreadPool

    from core.catalog.records import AssetRecord
    from core.media.limits import MediaLimits
    from ui.viewer.image_canvas import ImageCanvas
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)

HANDLE_WIDTH = 14  # wide enough to grab; the line drawn in it is 2 px


@dataclass(frozen=True)
class ComparePixels:
    """A compare decode's outcome: both pictures as display values, or why there are none."""

    request: int
    a: np.ndarray | None = None
    b: np.ndarray | None = None
    error: str = ""


def decode_pair(request: int, a_path: Path, b_path: Path, limits: MediaLimits, source: str) -> ComparePixels:
    """A pool thread's work: both stills as float display values; a failure is an outcome to show."""
    from core.media.decode import load_image_float  # lazy: numpy/cv2/OpenEXR

    try:
        a, b = (display_values(load_image_float(p, limits), ColourView(), source) for p in (a_path, b_path))
    except Exception as exc:  # noqa: BLE001 - any decoder or colour failure is shown to the user
        log.warning("Cannot compare %s and %s: %s", a_path, b_path, exc)
        return ComparePixels(request, error=str(exc) or type(exc).__name__)
    return ComparePixels(request, a, b)


class WipeHandle(QWidget):
    """The wipe's divider over the canvas; dragging it reports the canvas x it was dragged to."""

    dragged = Signal(float)

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(canvas)
        self.setObjectName("WipeHandle")
        self.setCursor(Qt.CursorShape.SplitHCursor)
        self.hide()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        centre = self.width() / 2
        painter.fillRect(QRectF(centre - 1, 0, 2, self.height()), theme.TEXT_BRIGHT)
        painter.setPen(QColor(0, 0, 0, 160))
        painter.setBrush(theme.TEXT_BRIGHT)
        painter.drawEllipse(QRectF(1, self.height() / 2 - 12, self.width() - 2, 24))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.dragged.emit(self.mapToParent(event.position()).x())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.dragged.emit(self.mapToParent(event.position()).x())


class CompareBar(QFrame):
    """Compare controls over the viewer's two canvases; hidden while no pair is compared."""

    painted = Signal()  # the canvases show the pair in the current mode
    failed = Signal(str)  # the pair cannot be shown: why
    done = Signal()  # the user asked to leave compare mode

    def __init__(
        self,
        canvas: ImageCanvas,
        side_canvas: ImageCanvas,
        background: BackgroundWork,
        pool: QThreadPool,
        limits: MediaLimits,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("CompareBar")
        self._canvas, self._side = canvas, side_canvas
        self._background, self._pool, self._limits = background, pool, limits
        self._request = 0
        self._records: tuple[AssetRecord, AssetRecord] | None = None
        self._a: np.ndarray | None = None
        self._b: np.ndarray | None = None
        self._refit = False  # the next paint fits the view: a new pair, or A's size changed on a swap
        self.position = 0.5  # the wipe divider, as a fraction of A's width

        self.a_label = QLabel()
        self.b_label = QLabel()
        self.swap_button = QToolButton()
        self.swap_button.setText("⇄ Swap")
        self.swap_button.setToolTip("Swap A and B")
        self.swap_button.clicked.connect(self.swap)
        self.mode_combo = QComboBox()
        self.mode_combo.addItems([mode.value for mode in CompareMode])
        self.mode_combo.setToolTip("How A and B are shown together")
        self.mode_combo.currentIndexChanged.connect(self._paint)
        self.gain_spin = QDoubleSpinBox()
        self.gain_spin.setRange(1.0, 100.0)
        self.gain_spin.setValue(4.0)
        self.gain_spin.setPrefix("gain ×")
        self.gain_spin.setToolTip("Difference |A − B| is multiplied by this so small changes show")
        self.gain_spin.valueChanged.connect(self._paint)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setFixedWidth(120)
        self.opacity_slider.setToolTip("Opacity of B over A")
        self.opacity_slider.valueChanged.connect(self._paint)
        self.opacity_label = QLabel("B opacity")
        self.opacity_label.setObjectName("Dim")
        done = QPushButton("Done")
        done.setToolTip("Leave compare mode (Esc)")
        done.clicked.connect(self.done.emit)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 2, 8, 4)
        row.setSpacing(8)
        for widget in (self.a_label, self.swap_button, self.b_label):
            row.addWidget(widget)
        row.addSpacing(16)
        for control in (self.mode_combo, self.gain_spin, self.opacity_label, self.opacity_slider):
            row.addWidget(control)
        row.addStretch(1)
        row.addWidget(done)

        self.handle = WipeHandle(canvas)
        self.handle.dragged.connect(self._wipe_dragged)
        canvas.view_changed.connect(self._place_handle)
        canvas.installEventFilter(self)  # a resize outside fit mode moves no view but needs a new height
        self.hide()

    @property
    def pair(self) -> tuple[AssetRecord, AssetRecord] | None:
        """(A, B) while comparing, else None."""
        return self._records

    def mode(self) -> CompareMode:
        return CompareMode(self.mode_combo.currentText())

    def start(
        self, a: tuple[AssetRecord, Path | None], b: tuple[AssetRecord, Path | None], source: str
    ) -> None:
        """Compare ``a`` and ``b`` (a record and the still to show for it) through colour ``source``."""
        self._request += 1
        self._records = (a[0], b[0])
        self._a = self._b = None
        self._refit = True
        self.position = 0.5
        self._update_labels()
        self.show()
        (a_record, a_path), (b_record, b_path) = a, b
        if a_path is None or b_path is None:
            missing = a_record if a_path is None else b_record
            self.failed.emit(f"No picture of {missing.name} to compare yet.")
            return
        work = partial(decode_pair, self._request, a_path, b_path, self._limits, source)
        self._background.call(work, self._on_decoded, pool=self._pool)

    def stop(self) -> None:
        self._request += 1  # a decode still running is dropped when it lands
        self._records = self._a = self._b = None
        self.handle.hide()
        self.hide()

    def swap(self) -> None:
        if self._records is None:
            return
        self._records = (self._records[1], self._records[0])
        if self._a is not None and self._b is not None:
            self._refit = self._a.shape != self._b.shape
            self._a, self._b = self._b, self._a
        self._update_labels()
        self._paint()

    def _update_labels(self) -> None:
        if self._records is not None:
            self.a_label.setText(f"A  {self._records[0].name}")
            self.b_label.setText(f"B  {self._records[1].name}")

    def _on_decoded(self, pixels: ComparePixels) -> None:
        if pixels.request != self._request or self._records is None:
            return  # compare mode was left or another pair was asked for
        if pixels.a is None or pixels.b is None:
            self.failed.emit(f"Cannot compare: {pixels.error}")
            return
        self._a, self._b = pixels.a, pixels.b
        self._paint()

    def _paint(self) -> None:
        if self._a is None or self._b is None or self._records is None:
            return
        mode = self.mode()
        self.gain_spin.setVisible(mode == CompareMode.DIFFERENCE)
        self.opacity_label.setVisible(mode == CompareMode.ONION)
        self.opacity_slider.setVisible(mode == CompareMode.ONION)
        a_name, b_name = (record.name for record in self._records)
        if mode == CompareMode.SIDE_BY_SIDE:
            self._show_on_canvas(self._a)
            self._canvas.set_caption(f"A · {a_name}")
            self._side.set_image(pixels_to_qimage(to_uint8(fit_to(self._b, *self._a.shape[:2]))))
            self._side.set_caption(f"B · {b_name}")
            self._side.show()
            self._side.follow(self._canvas)
        else:
            self._side.hide()
            picture = composite(
                mode,
                self._a,
                self._b,
                position=self.position,
                gain=self.gain_spin.value(),
                opacity=self.opacity_slider.value() / 100,
            )
            self._show_on_canvas(picture)
            captions = {
                CompareMode.WIPE: f"A · {a_name}   |   B · {b_name}",
                CompareMode.DIFFERENCE: f"|A − B| × {self.gain_spin.value():g}",
                CompareMode.ONION: f"B over A at {self.opacity_slider.value()}%",
            }
            self._canvas.set_caption(captions[mode])
        self.handle.setVisible(mode == CompareMode.WIPE)
        self._place_handle()
        self.painted.emit()

    def _show_on_canvas(self, pixels: np.ndarray) -> None:
        image = pixels_to_qimage(to_uint8(pixels))
        if self._refit:
            self._refit = False
            self._canvas.set_image(image)
        else:  # a mode or control change keeps the user's zoom and pan
            self._canvas.replace_image(image)

    def _wipe_dragged(self, canvas_x: float) -> None:
        shown = self._canvas.image_rect()
        if shown.width() > 0:
            self.position = min(1.0, max(0.0, (canvas_x - shown.left()) / shown.width()))
            self._paint()

    def _place_handle(self) -> None:
        if self.handle.isHidden():
            return
        shown = self._canvas.image_rect()
        x = shown.left() + self.position * shown.width()
        top, bottom = max(0.0, shown.top()), min(float(self._canvas.height()), shown.bottom())
        self.handle.setGeometry(round(x - HANDLE_WIDTH / 2), round(top), HANDLE_WIDTH, round(bottom - top))
        self.handle.raise_()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._canvas and event.type() == QEvent.Type.Resize:
            self._place_handle()
        return False
