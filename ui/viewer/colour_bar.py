"""The viewer's colour bar: exposure, gamma, channel, OCIO display/view and input space, and a pixel probe.

The shown still is kept as float RGBA (``FloatImage``); each control change schedules a re-render of
the display pixels on the viewer's decode pool, debounced so dragging the exposure slider renders
once it settles rather than per step. A generation counter drops renders that a newer change (or a new
asset) overtook. The probe reads the float values under the cursor from the kept image: no decode,
nothing in ``paint()``. The input space chosen for an asset is stored in its metadata.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QWidget,
)

from core.media.colour import (
    BUILTIN_CONFIG,
    INPUT_SPACE_KEY,
    Channel,
    ColourConfigError,
    ColourView,
    config_choices,
    default_view,
    guess_input_space,
    render_display,
)
from ui.viewer.image_canvas import Decoded, pixels_to_qimage

if TYPE_CHECKING:
    from pathlib import Path

    from PySide6.QtCore import QThreadPool

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.media.decode import FloatImage
    from core.media.limits import MediaLimits
    from ui.viewer.image_canvas import ImageCanvas
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)

RENDER_DEBOUNCE_MS = 60
SLIDER_STEPS_PER_STOP = 10
MAX_STOPS = 10.0


@dataclass(frozen=True)
class Rendered:
    """A colour re-render's outcome: display pixels, or a null image and why."""

    generation: int
    image: QImage
    error: str = ""


def _to_qimage(image: FloatImage, view: ColourView, source: str) -> QImage:
    return pixels_to_qimage(render_display(image, view, source))


def decode_float_for_viewer(
    request: int, path: Path, limits: MediaLimits, view: ColourView, source: str
) -> Decoded:
    """A pool thread's work: decode to float, keep it, and render it through ``view``."""
    from core.media.decode import load_image_float  # lazy: numpy/cv2/OpenEXR

    try:
        image = load_image_float(path, limits)
        return Decoded(request, _to_qimage(image, view, source), float_image=image)
    except Exception as exc:  # noqa: BLE001 - any decoder or colour failure is shown to the user
        log.warning("Viewer cannot decode %s: %s", path, exc)
        return Decoded(request, QImage(), str(exc) or type(exc).__name__)


def render_for_viewer(generation: int, image: FloatImage, view: ColourView, source: str) -> Rendered:
    try:
        return Rendered(generation, _to_qimage(image, view, source))
    except ColourConfigError as exc:
        return Rendered(generation, QImage(), str(exc))


class ColourBar(QFrame):
    """Colour controls for the still on ``canvas``; hidden while no float image is shown."""

    rendered = Signal()  # the canvas shows pixels for the current controls
    probed = Signal(str)  # the probe's text (tests, status)

    def __init__(
        self,
        catalog: Catalog,
        background: BackgroundWork,
        canvas: ImageCanvas,
        config: str,
        pool: QThreadPool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ColourBar")
        self._catalog = catalog
        self._background = background
        self._canvas = canvas
        self._pool = pool
        self.source = config
        self._choices_loaded = False
        self._views: dict[str, list[str]] = {}
        self._view_chosen = False  # until the user picks a view, each picture gets its kind's default
        self._record: AssetRecord | None = None
        self._image: FloatImage | None = None
        self._generation = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_DEBOUNCE_MS)
        self._timer.timeout.connect(self._render)

        self.exposure_slider = QSlider(Qt.Orientation.Horizontal)
        limit = int(MAX_STOPS * SLIDER_STEPS_PER_STOP)
        self.exposure_slider.setRange(-limit, limit)
        self.exposure_slider.setFixedWidth(120)
        self.exposure_spin = QDoubleSpinBox()
        self.exposure_spin.setRange(-MAX_STOPS, MAX_STOPS)
        self.exposure_spin.setSingleStep(0.5)
        self.exposure_spin.setDecimals(1)
        self.exposure_spin.setSuffix(" EV")
        self.exposure_spin.setToolTip("Exposure in stops, applied in scene-linear light")
        self.exposure_slider.valueChanged.connect(
            lambda v: self.exposure_spin.setValue(v / SLIDER_STEPS_PER_STOP)
        )
        self.exposure_spin.valueChanged.connect(self._exposure_changed)
        self.gamma_spin = QDoubleSpinBox()
        self.gamma_spin.setRange(0.2, 5.0)
        self.gamma_spin.setSingleStep(0.1)
        self.gamma_spin.setValue(1.0)
        self.gamma_spin.setPrefix("γ ")
        self.gamma_spin.setToolTip("Gamma trim after the display transform")
        self.channel_combo = QComboBox()
        self.channel_combo.addItems([c.value for c in Channel])
        self.channel_combo.setToolTip("Channel to look at (C cycles)")
        self.display_combo = QComboBox()
        self.display_combo.setToolTip("OpenColorIO display")
        self.view_combo = QComboBox()
        self.view_combo.setToolTip("OpenColorIO view")
        self.input_combo = QComboBox()
        self.input_combo.setToolTip("The file's colour space (guessed from its type; saved per asset)")
        self.probe_label = QLabel()
        self.probe_label.setObjectName("Dim")
        self.probe_label.setMinimumWidth(300)
        self.probe_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.gamma_spin.valueChanged.connect(self._schedule)
        self.channel_combo.currentIndexChanged.connect(self._schedule)
        self.view_combo.activated.connect(self._view_picked)
        self.display_combo.currentTextChanged.connect(self._display_changed)
        self.input_combo.activated.connect(self._input_space_chosen)
        canvas.hovered.connect(self._probe)

        row = QHBoxLayout(self)
        row.setContentsMargins(12, 2, 8, 4)
        row.setSpacing(6)
        for label, widget in (
            ("Exposure", self.exposure_slider),
            ("", self.exposure_spin),
            ("", self.gamma_spin),
            ("", self.channel_combo),
            ("Input", self.input_combo),
            ("Display", self.display_combo),
            ("", self.view_combo),
        ):
            if label:
                dim = QLabel(label)
                dim.setObjectName("Dim")
                row.addWidget(dim)
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.probe_label)
        self.hide()

    # ---- what the controls say -------------------------------------------------------------------

    def colour_view(self) -> ColourView:
        return ColourView(
            exposure=self.exposure_spin.value(),
            gamma=self.gamma_spin.value(),
            channel=Channel(self.channel_combo.currentText() or Channel.RGB.value),
            display=self.display_combo.currentText(),
            view=self.view_combo.currentText() if self._view_chosen else "",
            input_space=self.input_combo.currentText(),
        )

    def decode_job(
        self, request: int, path: Path, limits: MediaLimits, record: AssetRecord
    ) -> partial[Decoded]:
        """The decode for a still of ``record``, rendered with the asset's stored input space if any."""
        self._ensure_choices()
        self._generation += 1  # a render of the previous still must not land on this one
        stored = self._stored_input_space(record)
        self._set_input_space(stored)
        view = replace(self.colour_view(), input_space=stored)
        return partial(decode_float_for_viewer, request, path, limits, view, self.source)

    def show_decoded(self, record: AssetRecord, decoded: Decoded) -> None:
        """The viewer shows ``decoded``: keep its float pixels (or hide, for a render or a poster)."""
        self._record, self._image = record, decoded.float_image
        self.setVisible(self._image is not None)
        if self._image is not None and not self.input_combo.currentText():
            self._set_input_space(guess_input_space(self.source, self._image))
        if self._image is not None and not self._view_chosen:
            self.view_combo.blockSignals(True)
            display = self.display_combo.currentText()
            self.view_combo.setCurrentText(default_view(self.source, display, self._image))
            self.view_combo.blockSignals(False)
        self.probe_label.clear()

    def clear(self) -> None:
        self._generation += 1
        self._timer.stop()
        self._record = self._image = None
        self.hide()

    def cycle_channel(self) -> None:
        if self._image is not None:
            following = (self.channel_combo.currentIndex() + 1) % self.channel_combo.count()
            self.channel_combo.setCurrentIndex(following)

    # ---- controls --------------------------------------------------------------------------------

    def _ensure_choices(self) -> None:
        """Fill the combos from the OCIO config the first time a still is shown (not at start-up)."""
        if self._choices_loaded:
            return
        self._choices_loaded = True
        try:
            choices = config_choices(self.source)
        except ColourConfigError as exc:
            log.warning("%s; using OpenColorIO's built-in config", exc)
            self.source = BUILTIN_CONFIG
            choices = config_choices(self.source)
        self.input_combo.addItems(choices.input_spaces)
        self.display_combo.blockSignals(True)
        self.display_combo.addItems(list(choices.displays))
        self.display_combo.setCurrentText(choices.default_display)
        self.display_combo.blockSignals(False)
        self._views = choices.displays
        self._fill_views(choices.default_display)

    def _fill_views(self, display: str) -> None:
        self.view_combo.blockSignals(True)
        self.view_combo.clear()
        self.view_combo.addItems(self._views.get(display, []))
        self.view_combo.blockSignals(False)

    def _view_picked(self, _index: int) -> None:
        self._view_chosen = True
        self._schedule()

    def _display_changed(self, display: str) -> None:
        self._fill_views(display)
        self._schedule()

    def _exposure_changed(self, stops: float) -> None:
        self.exposure_slider.blockSignals(True)
        self.exposure_slider.setValue(round(stops * SLIDER_STEPS_PER_STOP))
        self.exposure_slider.blockSignals(False)
        self._schedule()

    def _set_input_space(self, name: str) -> None:
        self.input_combo.setCurrentIndex(self.input_combo.findText(name))

    def _stored_input_space(self, record: AssetRecord) -> str:
        # Read fresh: the record the library handed over may predate a choice made in this session.
        fresh = self._catalog.get_asset(record.id)
        stored = (fresh or record).metadata.get(INPUT_SPACE_KEY)
        return stored if isinstance(stored, str) and self.input_combo.findText(stored) >= 0 else ""

    def _input_space_chosen(self, _index: int) -> None:
        if self._record is None:
            return
        self._catalog.update_metadata(self._record.id, {INPUT_SPACE_KEY: self.input_combo.currentText()})
        self._schedule()

    # ---- rendering and probing -------------------------------------------------------------------

    def _schedule(self) -> None:
        if self._image is not None:
            self._generation += 1
            self._timer.start()

    def _render(self) -> None:
        if self._image is None:
            return
        work = partial(render_for_viewer, self._generation, self._image, self.colour_view(), self.source)
        self._background.call(work, self._on_rendered, pool=self._pool)

    def _on_rendered(self, rendered: Rendered) -> None:
        if rendered.generation != self._generation or self._image is None:
            return  # a newer change or another asset overtook this render
        if rendered.image.isNull():
            self.probe_label.setText(rendered.error)
            return
        self._canvas.replace_image(rendered.image)
        self.rendered.emit()

    def _probe(self, pixel: tuple[int, int] | None) -> None:
        if self._image is None or pixel is None:
            self.probe_label.clear()
            return
        x, y = pixel
        r, g, b, a = (float(v) for v in self._image.pixels[y, x])
        text = f"x {x}  y {y}   R {r:.4f}  G {g:.4f}  B {b:.4f}  A {a:.4f}"
        self.probe_label.setText(text)
        self.probed.emit(text)
