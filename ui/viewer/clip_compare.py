"""A/B compare of two playing clips: wipe, side by side, difference or onion skin, frame-locked.

Clip A plays in a normal ``VideoPlayer`` (controls, J/K/L, in/out, sound, notes all work on A); its
picture goes to a ``PairCanvas`` instead of the player's own. Clip B has a decode thread of its own,
asked for A's frame number every time A shows one. A picture is painted only as a *pair* with the same
frame number on both sides: A's recent pictures are kept until B's matching one arrives, so a slower
B delays the pair by its decode time rather than ever showing frame n beside frame n+1. When B cannot
keep up, the decode thread drops the requests it did not reach, and pairs are shown less often.
Frames pair by number from each clip's start when the rates agree, else by time (``paired_frame``); a B
shorter than A holds on its last frame.

The modes are the still compare's (``core.media.compare.CompareMode``), done with QPainter here
(difference is ``CompositionMode_Difference``, exactly |A - B| per channel) because compositing
arrays per frame would cost more than decoding them.
"""

from __future__ import annotations

import functools
import logging
import math
from collections import OrderedDict
from fractions import Fraction
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from core.media.compare import CompareMode
from ui.viewer.frame_canvas import FrameCanvas
from ui.viewer.player import VideoPlayer
from ui.viewer.player_decoder import DecodeThread, ShowRequest, finish_thread

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtGui import QMouseEvent, QPaintEvent

    from ui.viewer.audio_feed import AudioTrackFactory
    from ui.viewer.player_decoder import ClipInfo, SourceFactory
    from ui.viewer.player_sound import SinkFactory

log = logging.getLogger(__name__)

_KEPT_A_PICTURES = 12  # A's pictures awaiting their B: a few frames of B's decode latency


class PairCanvas(FrameCanvas):
    """Paints A and B of one frame number in the chosen mode; the player gives it A's pictures."""

    pair_shown = Signal(int)  # A's frame number of the pair now painted

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = CompareMode.WIPE
        self.position = 0.5  # the wipe divider, a fraction of the picture's width
        self.swapped = False
        self.names = ("A", "B")
        self._kept: OrderedDict[int, QImage] = OrderedDict()
        self._latest_a = QImage()
        self._pair: tuple[int, QImage, QImage] | None = None

    # -- pictures -------------------------------------------------------------------------------

    def set_image(self, image: QImage) -> None:
        self._latest_a = image  # its frame number follows in ``a_shown``

    def a_shown(self, frame: int) -> None:
        self._kept[frame] = self._latest_a
        while len(self._kept) > _KEPT_A_PICTURES:
            self._kept.popitem(last=False)

    def b_decoded(self, a_frame: int, image: QImage) -> None:
        """B's picture for A's frame ``a_frame`` (B's own frame may be its last, if it is shorter)."""
        a_image = self._kept.get(a_frame)
        if a_image is None:
            return  # A has long moved on
        self._pair = (a_frame, a_image, image)
        self.update()
        self.pair_shown.emit(a_frame)

    @property
    def pair_frame(self) -> int | None:
        """The frame number of the pair on screen."""
        return self._pair[0] if self._pair is not None else None

    def image(self) -> QImage:
        return self._pair[1] if self._pair is not None else QImage()

    def b_image(self) -> QImage:
        return self._pair[2] if self._pair is not None else QImage()

    def image_rect(self) -> QRectF:
        """Where A is drawn (notes' drawings lie over A)."""
        if self._pair is None:
            return QRectF()
        return QRectF(self._targets()[0])

    # -- painting -------------------------------------------------------------------------------

    def _targets(self) -> tuple[QRect, QRect]:
        """A's and B's rectangles: both the fitted picture, or the two halves side by side."""
        assert self._pair is not None
        _, a, b = self._pair
        if self.mode != CompareMode.SIDE_BY_SIDE:
            target = _fitted(a.size().width(), a.size().height(), self.rect())
            return target, _fitted(b.width(), b.height(), target)
        half = self.width() // 2
        left, right = QRect(0, 0, half, self.height()), QRect(half, 0, self.width() - half, self.height())
        return _fitted(a.width(), a.height(), left), _fitted(b.width(), b.height(), right)

    def paintEvent(self, event: QPaintEvent) -> None:
        del event
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._pair is None:
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        _, a, b = self._pair
        a_rect, b_rect = self._targets()
        first, second = (b, a) if self.swapped else (a, b)
        if self.mode == CompareMode.SIDE_BY_SIDE:
            painter.drawImage(a_rect, first)
            painter.drawImage(b_rect, second)
        elif self.mode == CompareMode.WIPE:
            painter.drawImage(a_rect, first)
            split = round(a_rect.left() + self.position * a_rect.width())
            painter.setClipRect(QRect(split, 0, self.width() - split, self.height()))
            painter.drawImage(b_rect, second)
            painter.setClipping(False)
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.drawLine(split, a_rect.top(), split, a_rect.bottom())
        elif self.mode == CompareMode.ONION:
            painter.drawImage(a_rect, first)
            painter.setOpacity(0.5)
            painter.drawImage(b_rect, second)
        else:
            painter.drawImage(a_rect, first)
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Difference)
            painter.drawImage(b_rect, second)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        painter.setOpacity(1.0)
        self._paint_captions(painter, a_rect, b_rect)
        painter.end()

    def _paint_captions(self, painter: QPainter, a_rect: QRect, b_rect: QRect) -> None:
        """Which clip is where: over each half side by side and in a wipe, once for the blends."""
        first, second = (f"B \u00b7 {self.names[1]}", f"A \u00b7 {self.names[0]}")
        if not self.swapped:
            first, second = second, first
        if self.mode == CompareMode.DIFFERENCE:
            captions = [(a_rect, "|A \u2212 B|", Qt.AlignmentFlag.AlignLeft)]
        elif self.mode == CompareMode.ONION:
            captions = [(a_rect, f"{second} at 50% over {first}", Qt.AlignmentFlag.AlignLeft)]
        else:
            right = b_rect if self.mode == CompareMode.SIDE_BY_SIDE else a_rect
            captions = [
                (a_rect, first, Qt.AlignmentFlag.AlignLeft),
                (right, second, Qt.AlignmentFlag.AlignRight),
            ]
        metrics = painter.fontMetrics()
        for area, text, align in captions:
            box = metrics.boundingRect(text).adjusted(-6, -3, 6, 3)
            box.moveTop(area.top() + 6)
            if align == Qt.AlignmentFlag.AlignLeft:
                box.moveLeft(area.left() + 6)
            else:
                box.moveRight(area.right() - 6)
            painter.fillRect(box, QColor(0, 0, 0, 150))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._drag_wipe(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._drag_wipe(event)

    def _drag_wipe(self, event: QMouseEvent) -> None:
        shown = self.image_rect()
        if self.mode == CompareMode.WIPE and shown.width() > 0:
            self.position = min(1.0, max(0.0, (event.position().x() - shown.left()) / shown.width()))
            self.update()


def _fitted(width: int, height: int, area: QRect) -> QRect:
    if width <= 0 or height <= 0:
        return QRect()
    scale = min(area.width() / width, area.height() / height)
    target = QRect(0, 0, round(width * scale), round(height * scale))
    target.moveCenter(area.center())
    return target


class ClipComparePage(QWidget):
    """A viewer page: A's player over a ``PairCanvas``, B decoded alongside, a mode bar on top."""

    b_opened = Signal(object)  # B's ClipInfo

    def __init__(
        self,
        names: tuple[str, str],
        pictures: tuple[SourceFactory, SourceFactory],
        a_sound: AudioTrackFactory | None,
        sound_output: SinkFactory | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.pair_canvas = PairCanvas()
        self.player = VideoPlayer(self, sound_output=sound_output, canvas=self.pair_canvas)
        self.setFocusProxy(self.player)
        self._names = names
        self._b_info: ClipInfo | None = None
        self._b_generation = 0
        self.mode_combo = QComboBox()
        self.mode_combo.addItems([mode.value for mode in CompareMode])
        self.mode_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.mode_combo.currentTextChanged.connect(self._on_mode)
        self.swap_button = QToolButton()
        self.swap_button.setText("\u21c4 Swap")
        self.swap_button.setCheckable(True)
        self.swap_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.swap_button.toggled.connect(self._on_swap)
        self.labels = QLabel()
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 2, 8, 2)
        for widget in (self.labels, self.swap_button, self.mode_combo):
            bar.addWidget(widget)
        bar.insertStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.player, 1)
        self._update_labels()

        self._b_thread = DecodeThread(pictures[1])
        self._b_thread.opened.connect(self._on_b_opened)
        self._b_thread.failed.connect(self._on_b_failed)
        self._b_thread.frame_ready.connect(self._on_b_frame)
        self._b_reaper: functools.partial[None] | None = functools.partial(finish_thread, self._b_thread)
        self.destroyed.connect(self._b_reaper)
        self._b_thread.start()
        self.player.frame_shown.connect(self._on_a_shown)
        self.player.open_clip(pictures[0], audio=a_sound)

    # -- as a viewer page (notes anchor to A) ----------------------------------------------------

    def page_widget(self) -> QWidget:
        return self

    @property
    def current_frame(self) -> int:
        return self.player.current_frame

    def seek(self, frame: int) -> None:
        self.player.seek(frame)

    @property
    def display_frame(self) -> int:
        return self.player.display_frame

    def seek_display(self, number: int) -> None:
        self.player.seek_display(number)

    def picture_widget(self) -> QWidget:
        return self.pair_canvas

    def picture_rect(self) -> QRectF:
        return self.pair_canvas.image_rect()

    def watch_frames(self, on_frame_shown: Callable[[int], object]) -> None:
        self.player.frame_shown.connect(on_frame_shown)

    def close_page(self) -> None:
        self.player.close_clip()
        thread = self._b_thread
        if self._b_reaper is not None:
            self.destroyed.disconnect(self._b_reaper)
            self._b_reaper = None
            for signal in (thread.opened, thread.failed, thread.frame_ready):
                signal.disconnect()
            finish_thread(thread)

    # -- modes ------------------------------------------------------------------------------------

    def set_mode(self, mode: CompareMode) -> None:
        self.mode_combo.setCurrentText(mode.value)

    def _on_mode(self, text: str) -> None:
        self.pair_canvas.mode = CompareMode(text)
        self.pair_canvas.update()

    def _on_swap(self, swapped: bool) -> None:
        self.pair_canvas.swapped = swapped
        self._update_labels()
        self.pair_canvas.update()

    def _update_labels(self) -> None:
        a, b = self._names
        self.pair_canvas.names = self._names
        self.labels.setText(f"A  {a}     B  {b}")

    # -- B follows A --------------------------------------------------------------------------------

    def _on_a_shown(self, frame: int) -> None:
        self.pair_canvas.a_shown(frame)
        info = self._b_info
        if info is None:
            return
        self._b_generation += 1
        b_frame = paired_frame(frame, self.player.fps, info.fps, info.frame_count)
        # The tick carries A's frame number back with B's picture (B's own may be its last frame).
        self._b_thread.command(self._b_generation, ShowRequest(b_frame, tick=frame), self._b_side())

    def _b_side(self) -> int | None:
        side = max(self.pair_canvas.width(), self.pair_canvas.height()) * self.devicePixelRatioF()
        return max(256, int(side))

    def _on_b_opened(self, info: ClipInfo) -> None:
        self._b_info = info
        self.b_opened.emit(info)
        if self.player.frame_count:
            self._on_a_shown(self.player.current_frame)

    def _on_b_failed(self, message: str) -> None:
        log.warning("Compare: clip B cannot be shown: %s", message)
        self.pair_canvas.set_message(f"B cannot be shown: {message}")

    def _on_b_frame(self, generation: int, a_frame: int, b_frame: int, image: QImage) -> None:
        del generation, b_frame  # any answer pairs with A's frame it was asked for, if still kept
        self.pair_canvas.b_decoded(a_frame, image)


def paired_frame(a_frame: int, a_fps: Fraction | None, b_fps: Fraction, b_count: int) -> int:
    """B's frame to show beside A's ``a_frame``: the same number when the rates agree (or one is
    unknown); otherwise the frame B shows at A's frame's start time, so a 25 fps version of a 24 fps
    shot stays in step over the whole clip instead of drifting a frame a second. A B shorter than A
    holds its last frame."""
    if a_fps is None or a_fps <= 0 or b_fps <= 0 or a_fps == b_fps:
        frame = a_frame
    else:
        # Exact fractions: frame 48 of 24 fps is 2 s, frame 50 of 25 fps, with no float rounding.
        frame = math.floor(Fraction(a_frame) / a_fps * b_fps)
    return max(0, min(frame, b_count - 1))
