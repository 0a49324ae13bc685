"""The video player: plays a clip at its native frame rate, steps frames, scrubs, shows timecode.

Embedding (e.g. as a viewer page)::

    player = VideoPlayer(parent)
    player.open_clip(lambda: VideoFrameSource(path))   # called on the decode thread
    player.frame_shown.connect(...)                     # the frame now on screen
    player.current_frame                                # anchor for comments

Keys (while the player has focus; it claims them over window shortcuts): Space play/pause,
Left/Right and ,/. step one frame, Home/End first/last frame, L loop.

Threads: a :class:`~ui.viewer.player_decoder.DecodeThread` (a QThread) owns the clip's
:class:`~core.video.frames.FrameSource` (made by ``source_factory`` on that thread) and hands finished
QImages to the UI thread through queued signals; the UI never decodes. Timing comes from a
:class:`~core.video.clock.PlaybackClock` on the monotonic clock: each frame has a due time, the
decoder reads a few frames ahead (``READ_AHEAD``), and a frame that is late is skipped rather than
shown late, so playback never drifts from real time.
"""

from __future__ import annotations

import bisect
import functools
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QImage, QKeyEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.video.clock import PlaybackClock
from core.video.timecode import frame_to_timecode
from ui.viewer.player_decoder import (
    ClipInfo,
    DecodeThread,
    PlayRequest,
    ShowRequest,
    finish_thread,
    live_decode_threads,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtGui import QCloseEvent, QHideEvent, QResizeEvent

    from ui.viewer.player_decoder import SourceFactory

log = logging.getLogger(__name__)

_SIDE_STEP = 256  # decode sizes are rounded up to this, so resizing the window rarely re-decodes

__all__ = ["ClipInfo", "VideoPlayer", "live_decode_threads"]


class _FrameCanvas(QWidget):
    """Paints the current picture fitted to the widget on black, or a message."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self._message = ""
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_image(self, image: QImage) -> None:
        self._image, self._message = image, ""
        self.update()

    def set_message(self, text: str) -> None:
        self._message = text
        self.update()

    def image(self) -> QImage:
        return self._image

    def image_rect(self) -> QRectF:
        """Where ``paintEvent`` puts the picture: fitted, centred (empty when there is none)."""
        if self._image.isNull():
            return QRectF()
        return QRectF(self._fitted_target())

    def _fitted_target(self) -> QRect:
        size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(self.rect().center())
        return target

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    def paintEvent(self, event: QPaintEvent) -> None:
        del event
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._message:
            painter.setPen(Qt.GlobalColor.lightGray)
            painter.drawText(
                self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message
            )
        elif not self._image.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(self._fitted_target(), self._image)
        painter.end()


class VideoPlayer(QWidget):
    """Plays a :class:`FrameSource` frame-accurately. See the module docstring for the API."""

    frame_shown = Signal(int)  # a frame's picture is on screen
    clip_opened = Signal(object)  # ClipInfo
    playing_changed = Signal(bool)
    error_occurred = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._thread: DecodeThread | None = None
        self._reaper: functools.partial[None] | None = None
        self._info: ClipInfo | None = None
        self._generation = 0
        self._playing = False
        self._loop = False
        self._position = 0  # the frame the player is on (requested while paused, shown while playing)
        self._shown = -1  # the frame whose picture is on screen
        self._shown_tick = -1
        self._clock: PlaybackClock | None = None
        self._buffer: deque[tuple[int, int, QImage]] = deque()
        self._ended = False
        self._dropped = 0
        self._resume_after_scrub = False
        self._requested_side: int | None = None
        self._source_numbers: tuple[int, ...] = ()

        self._present_timer = QTimer(self)
        self._present_timer.setSingleShot(True)
        self._present_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._present_timer.timeout.connect(self._present)

        self.canvas = _FrameCanvas(self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderPressed.connect(self._on_scrub_start)
        self.slider.sliderReleased.connect(self._on_scrub_end)
        style = self.style()
        self.start_button = self._button(
            QStyle.StandardPixmap.SP_MediaSkipBackward, "First frame (Home)", self.go_to_start
        )
        self.back_button = self._button(
            QStyle.StandardPixmap.SP_MediaSeekBackward, "Previous frame (Left, ,)", lambda: self.step(-1)
        )
        self.play_button = self._button(
            QStyle.StandardPixmap.SP_MediaPlay, "Play/pause (Space)", self.toggle_play
        )
        self.forward_button = self._button(
            QStyle.StandardPixmap.SP_MediaSeekForward, "Next frame (Right, .)", lambda: self.step(1)
        )
        self.end_button = self._button(
            QStyle.StandardPixmap.SP_MediaSkipForward, "Last frame (End)", self.go_to_end
        )
        self.loop_button = self._button(
            QStyle.StandardPixmap.SP_BrowserReload, "Loop (L)", self._on_loop_clicked
        )
        self.loop_button.setCheckable(True)
        self._play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self.timecode_label = QLabel("--:--:--:--", self)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.timecode_label.setFont(mono)
        self.timecode_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        controls = QHBoxLayout()
        controls.setContentsMargins(6, 0, 6, 4)
        for button in (
            self.start_button,
            self.back_button,
            self.play_button,
            self.forward_button,
            self.end_button,
        ):
            controls.addWidget(button)
        controls.addSpacing(8)
        controls.addWidget(self.loop_button)
        controls.addStretch(1)
        controls.addWidget(self.timecode_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.slider)
        layout.addLayout(controls)
        self._set_controls_enabled(False)

    def _button(self, pixmap: QStyle.StandardPixmap, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(self.style().standardIcon(pixmap))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys keep going to the player
        button.clicked.connect(slot)
        return button

    # -- as a viewer page (ui.common.viewer_page.ViewerPage) ------------------------------------

    def page_widget(self) -> QWidget:
        return self

    def picture_widget(self) -> QWidget:
        return self.canvas

    def picture_rect(self) -> QRectF:
        return self.canvas.image_rect()

    def watch_frames(self, on_frame_shown: Callable[[int], object]) -> None:
        self.frame_shown.connect(on_frame_shown)

    def close_page(self) -> None:
        self.close_clip()

    # -- public API ---------------------------------------------------------------------------

    @property
    def current_frame(self) -> int:
        """The frame the player is on: the one on screen while playing, the chosen one while paused."""
        return self._position

    @property
    def frame_count(self) -> int:
        return self._info.frame_count if self._info else 0

    @property
    def is_playing(self) -> bool:
        return self._playing

    @property
    def loop(self) -> bool:
        return self._loop

    @property
    def dropped_frames(self) -> int:
        """Frames skipped during playback because decoding fell behind real time."""
        return self._dropped

    def open_clip(self, source_factory: SourceFactory, start_frame: int = 0) -> None:
        """Open a clip; ``source_factory`` runs on the decode thread. ``clip_opened`` or
        ``error_occurred`` follows."""
        self.close_clip()
        self._position = max(0, start_frame)
        self.canvas.set_message("Opening…")
        thread = DecodeThread(source_factory)
        thread.opened.connect(self._on_opened)
        thread.failed.connect(self._on_failed)
        thread.frame_ready.connect(self._on_frame_ready)
        thread.stream_ended.connect(self._on_stream_ended)
        thread.set_loop(self._loop)
        self._thread = thread
        # The player may be deleted (the viewer's deleteLater) without a close: stop the thread then
        # too, without touching the dying widget.
        self._reaper = functools.partial(finish_thread, thread)
        self.destroyed.connect(self._reaper)
        thread.start()

    def close_clip(self) -> None:
        """Stop playback and the decode thread (waits for the frame being decoded)."""
        self._stop_playback()
        thread, self._thread = self._thread, None
        self._info = None
        self._shown = -1
        self._set_controls_enabled(False)
        if self._reaper is not None:
            self.destroyed.disconnect(self._reaper)
            self._reaper = None
        if thread is not None:
            for signal in (thread.opened, thread.failed, thread.frame_ready, thread.stream_ended):
                signal.disconnect()
            finish_thread(thread)

    def play(self) -> None:
        info = self._info
        if info is None or self._playing or info.frame_count == 0:
            return
        if not self._loop and self._position >= info.frame_count - 1:
            self._position = 0  # play from the start after the end, as players do
        self._playing = True
        self._ended = False
        self.play_button.setIcon(self._pause_icon)
        self._start_stream(self._position)
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if not self._playing:
            return
        self._stop_playback()
        if self._shown >= 0:
            self._position = self._shown
        self._sync_slider()
        self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def seek(self, frame: int) -> None:
        """Go to ``frame`` (clamped to the clip); playback, if on, continues from there."""
        info = self._info
        if info is None:
            self._position = max(0, frame)
            return
        self._position = min(max(0, frame), info.frame_count - 1)
        self._sync_slider()
        if self._playing:
            self._start_stream(self._position)
        else:
            self._request(ShowRequest(self._position))

    def step(self, delta: int) -> None:
        """Pause and move ``delta`` frames."""
        self.pause()
        self.seek(self._position + delta)

    def go_to_start(self) -> None:
        self.seek(0)

    def go_to_end(self) -> None:
        self.seek(self.frame_count - 1)

    def set_loop(self, loop: bool) -> None:
        self._loop = loop
        self.loop_button.setChecked(loop)
        if self._thread is not None:
            self._thread.set_loop(loop)

    def timecode(self, frame: int) -> str:
        info = self._info
        if info is None:
            return "--:--:--:--"
        return frame_to_timecode(info.timecode_start + frame, info.fps)

    # -- requests to the decode thread ---------------------------------------------------------

    def _start_stream(self, frame: int) -> None:
        assert self._info is not None
        self._buffer.clear()
        self._present_timer.stop()
        self._clock = PlaybackClock.start(self._info.fps, frame)
        self._shown_tick = frame - 1
        self._request(PlayRequest(self._clock))

    def _request(self, request: PlayRequest | ShowRequest | None) -> None:
        self._generation += 1
        self._requested_side = self._decode_side()
        if self._thread is not None:
            self._thread.command(self._generation, request, self._requested_side)

    def _stop_playback(self) -> None:
        was_playing = self._playing
        self._playing = False
        self._clock = None
        self._buffer.clear()
        self._present_timer.stop()
        self.play_button.setIcon(self._play_icon)
        if was_playing:
            self._request(None)

    def _decode_side(self) -> int | None:
        """Decode no bigger than the canvas shows (rounded up), never bigger than the clip."""
        info = self._info
        if info is None:
            return None
        ratio = self.canvas.devicePixelRatioF()
        wanted = max(self.canvas.width(), self.canvas.height()) * ratio
        side = int(-(-wanted // _SIDE_STEP) * _SIDE_STEP)
        return None if side >= max(info.width, info.height) else max(_SIDE_STEP, side)

    # -- from the decode thread ---------------------------------------------------------------

    def _on_opened(self, info: ClipInfo) -> None:
        if info.frame_count <= 0:
            self._on_failed("The clip has no frames")
            return
        self._info = info
        self._set_controls_enabled(True)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, info.frame_count - 1))
        self.slider.blockSignals(False)
        self.canvas.set_message("")
        self.seek(self._position)
        self.clip_opened.emit(info)

    def _on_failed(self, message: str) -> None:
        self._stop_playback()
        self._set_controls_enabled(False)
        self.canvas.set_message(message)
        log.warning("Video player: %s", message)
        self.error_occurred.emit(message)

    def _on_frame_ready(self, generation: int, tick: int, index: int, image: QImage) -> None:
        if generation != self._generation:
            return  # an answer to a request that was since replaced
        if not self._playing:
            self._display(index, image)
            return
        self._buffer.append((tick, index, image))
        self._present()

    def _on_stream_ended(self, generation: int) -> None:
        if generation != self._generation or not self._playing:
            return
        self._ended = True
        self._present()

    # -- presentation -------------------------------------------------------------------------

    def _present(self) -> None:
        """Show the newest decoded frame that is due; schedule the next."""
        clock = self._clock
        if not self._playing or clock is None:
            return
        now = time.monotonic()
        due = clock.tick_at(now)
        chosen: tuple[int, int, QImage] | None = None
        while self._buffer and self._buffer[0][0] <= due:
            chosen = self._buffer.popleft()
        if chosen is not None:
            tick, index, image = chosen
            self._dropped += max(0, tick - self._shown_tick - 1)
            self._shown_tick = tick
            self._position = index
            self._display(index, image)
        if self._buffer:
            delay_ms = (clock.time_of(self._buffer[0][0]) - time.monotonic()) * 1000
            self._present_timer.start(max(0, int(delay_ms + 0.5)))
        elif self._ended:
            self._finish_at_end()

    def _finish_at_end(self) -> None:
        assert self._info is not None
        last = self._info.frame_count - 1
        self.pause()
        if self._shown != last:
            self.seek(last)  # the last frame was skipped as late: land on it anyway

    def _display(self, index: int, image: QImage) -> None:
        self._shown = index
        self.canvas.set_image(image)
        self._sync_slider()
        self.timecode_label.setText(self._label(index))
        self.frame_shown.emit(index)

    def set_source_frame_numbers(self, numbers: tuple[int, ...]) -> None:
        """An image sequence's own frame numbers (``shot.1001.exr`` is frame 1001): shown in the label,
        and what notes are anchored to (``display_frame``)."""
        self._source_numbers = tuple(numbers)

    def frame_number(self, index: int) -> int:
        """The clip's own number of the frame at ``index``: a sequence's file number, else the index."""
        return self._source_numbers[index] if 0 <= index < len(self._source_numbers) else index

    @property
    def display_frame(self) -> int:
        return self.frame_number(self._position)

    def seek_display(self, number: int) -> None:
        """Show the frame numbered ``number``; in a sequence with gaps, the next frame that exists."""
        numbers = self._source_numbers
        self.seek(min(bisect.bisect_left(numbers, number), len(numbers) - 1) if numbers else number)

    def _label(self, index: int) -> str:
        if 0 <= index < len(self._source_numbers):
            number = self._source_numbers[index]
            return f"{self.timecode(index)}  (frame {number} · {index + 1} / {self.frame_count})"
        return f"{self.timecode(index)}  (frame {index} / {self.frame_count})"

    def _sync_slider(self) -> None:
        if self.slider.isSliderDown():
            return
        self.slider.blockSignals(True)
        self.slider.setValue(self._position)
        self.slider.blockSignals(False)

    def _set_controls_enabled(self, enabled: bool) -> None:
        for widget in (
            self.slider, self.start_button, self.back_button, self.play_button,
            self.forward_button, self.end_button,
        ):  # fmt: skip
            widget.setEnabled(enabled)

    # -- user input ---------------------------------------------------------------------------

    def _on_slider(self, value: int) -> None:
        if value != self._position:
            self.seek(value)

    def _on_scrub_start(self) -> None:
        self._resume_after_scrub = self._playing
        self.pause()

    def _on_scrub_end(self) -> None:
        self.seek(self.slider.value())
        if self._resume_after_scrub:
            self.play()

    def _on_loop_clicked(self) -> None:
        self.set_loop(self.loop_button.isChecked())

    _KEYS: ClassVar[dict[Qt.Key, Callable[[VideoPlayer], None]]] = {
        Qt.Key.Key_Space: lambda p: p.toggle_play(),
        Qt.Key.Key_Left: lambda p: p.step(-1),
        Qt.Key.Key_Comma: lambda p: p.step(-1),
        Qt.Key.Key_Right: lambda p: p.step(1),
        Qt.Key.Key_Period: lambda p: p.step(1),
        Qt.Key.Key_Home: lambda p: p.go_to_start(),
        Qt.Key.Key_End: lambda p: p.go_to_end(),
        Qt.Key.Key_L: lambda p: p.set_loop(not p.loop),
    }

    def event(self, event: QEvent) -> bool:
        # Claim our keys before window shortcuts (the viewer's Left/Right = next asset) take them.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and self._handles(event)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        action = self._KEYS.get(Qt.Key(event.key())) if self._handles(event) else None
        if action is None:
            super().keyPressEvent(event)
            return
        action(self)
        event.accept()

    def _handles(self, event: QKeyEvent) -> bool:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        return event.key() in self._KEYS and modifiers == Qt.KeyboardModifier.NoModifier

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # A paused picture decoded for a smaller canvas would stay blurry: decode it again to fit.
        if self._info is not None and not self._playing and self._decode_side() != self._requested_side:
            self._request(ShowRequest(self._position))

    def hideEvent(self, event: QHideEvent) -> None:
        self.pause()  # a hidden player (another viewer page) must not keep decoding
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_clip()
        super().closeEvent(event)
