"""The video player: plays a clip at its native frame rate, steps frames, scrubs, shows timecode.

Embedding (e.g. as a viewer page)::

    player = VideoPlayer(parent)
    player.open_clip(lambda: VideoFrameSource(path))   # called on the decode thread
    player.frame_shown.connect(...)                     # the frame now on screen
    player.current_frame                                # anchor for comments

Keys: ``ui.viewer.player_keys`` (Space, J/K/L, I/O, ...; the player claims them over window shortcuts).

Sound (``open_clip(..., audio=...)``): with a device, the sound card is the clock while playing 1x
forward (``ui.viewer.player_sound``); without one, or with no sound, pictures keep the monotonic clock.

Threads: a :class:`~ui.viewer.player_decoder.DecodeThread` (a QThread) owns the clip's
:class:`~core.video.frames.FrameSource` (made by ``source_factory`` on that thread) and hands finished
QImages to the UI thread through queued signals; the UI never decodes. Which frames to ask for and when
to show them: :class:`~ui.viewer.player_stream.FrameStream`.
"""

from __future__ import annotations

import bisect
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from core.video.play_path import FrameRange, PlayPath, Shuttle, with_in_point, with_out_point
from core.video.timecode import frame_to_timecode
from ui.viewer.frame_canvas import FrameCanvas
from ui.viewer.player_controls import PlayerControls
from ui.viewer.player_decoder import (
    ClipInfo,
    PlayRequest,
    ShowRequest,
    live_decode_threads,
)
from ui.viewer.player_keys import PlayerKeys
from ui.viewer.player_sound import PlayerSound
from ui.viewer.player_stream import FrameStream, decode_side
from ui.viewer.timeline import TimelineSlider

if TYPE_CHECKING:
    from collections.abc import Callable
    from fractions import Fraction

    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QCloseEvent, QHideEvent, QImage, QResizeEvent

    from ui.viewer.audio_feed import AudioTrackFactory
    from ui.viewer.player_decoder import SourceFactory
    from ui.viewer.player_sound import SinkFactory

log = logging.getLogger(__name__)

__all__ = ["ClipInfo", "VideoPlayer", "live_decode_threads"]


class VideoPlayer(QWidget):
    """Plays a :class:`FrameSource` frame-accurately. See the module docstring for the API."""

    frame_shown = Signal(int)  # a frame's picture is on screen
    clip_opened = Signal(object)  # ClipInfo
    playing_changed = Signal(bool)
    error_occurred = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        sound_output: SinkFactory | None = None,
        canvas: FrameCanvas | None = None,
    ) -> None:
        """``sound_output`` makes the device sink (``ui.viewer.audio_output.default_sink_factory``;
        tests pass a ``NullPcmSink``); without it the player is silent. ``canvas`` replaces the
        picture (A/B compare of clips paints both clips on its own canvas)."""
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._keys = PlayerKeys(self)
        self.installEventFilter(self._keys)
        self._info: ClipInfo | None = None
        self._playing = False
        self._loop = False
        self._position = 0  # the frame the player is on (requested while paused, shown while playing)
        self._shown = -1  # the frame whose picture is on screen
        self._resume_after_scrub = False
        self._source_numbers: tuple[int, ...] = ()
        self._shuttle = Shuttle()
        self._in_out: FrameRange | None = None
        self._pause_held = False  # K is down: J/L step frames

        self.canvas = canvas if canvas is not None else FrameCanvas()
        self.canvas.setParent(self)
        self.slider = TimelineSlider(self)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderPressed.connect(self._on_scrub_start)
        self.slider.sliderReleased.connect(self._on_scrub_end)
        self.sound: PlayerSound = PlayerSound(self, sound_output)
        self.sound.failed.connect(self._on_sound_failed)
        self._stream = FrameStream(self, self.sound, lambda: self._shown)
        self._stream.opened.connect(self._on_opened)
        self._stream.failed.connect(self._on_failed)
        self._stream.frame_due.connect(self._on_frame_due)
        self._stream.ended.connect(self._finish_at)
        controls = PlayerControls(
            self,
            self.sound,
            first=self.go_to_start,
            back=lambda: self.step(-1),
            play=self.toggle_play,
            forward=lambda: self.step(1),
            last=self.go_to_end,
            loop=self._on_loop_clicked,
        )
        self._controls = controls
        self.play_button, self.loop_button = controls.play_button, controls.loop_button
        self.timecode_label, self.speed_label = controls.timecode_label, controls.speed_label
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.slider)
        layout.addLayout(controls.row)
        self._set_controls_enabled(False)

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
    def fps(self) -> Fraction | None:
        """The open clip's frame rate; None before one is open."""
        return self._info.fps if self._info else None

    @property
    def is_playing(self) -> bool:
        return self._playing

    @property
    def loop(self) -> bool:
        return self._loop

    @property
    def dropped_frames(self) -> int:
        """Frames skipped during playback because decoding fell behind real time."""
        return self._stream.dropped

    def open_clip(
        self, source_factory: SourceFactory, start_frame: int = 0, *, audio: AudioTrackFactory | None = None
    ) -> None:
        """Open a clip; ``source_factory`` runs on the decode thread, ``audio`` (the clip's sound, if
        it has any) on the sound's decode thread. ``clip_opened`` or ``error_occurred`` follows."""
        self.close_clip()
        self._position = max(0, start_frame)
        self.sound.attach(audio)
        self.canvas.set_message("Opening…")
        self._stream.open(source_factory, loop=self._loop)

    def close_clip(self) -> None:
        """Stop playback and the decode thread (waits for the frame being decoded)."""
        self._stop_playback()
        self._info = None
        self._shown = -1
        self._in_out = None
        self.slider.set_play_range(None)
        self._set_controls_enabled(False)
        self._stream.close()

    def play(self) -> None:
        """Play forward at the native rate (with sound)."""
        self.shuttle(Shuttle(1, 1))

    def shuttle(self, state: Shuttle) -> None:
        """Play in ``state``'s direction at its speed (a paused state pauses)."""
        info = self._info
        if info is None or info.frame_count == 0:
            return
        if not state.playing:
            self.pause()
            return
        if self._playing and state == self._shuttle:
            return
        was_playing = self._playing
        self._shuttle = state
        self._playing = True
        self.play_button.setIcon(self._controls.pause_icon)
        self._controls.show_speed(self.shuttle_state)
        self._start_stream(self._shown if was_playing and self._shown >= 0 else self._position)
        if not was_playing:
            self.playing_changed.emit(True)

    @property
    def shuttle_state(self) -> Shuttle:
        return self._shuttle if self._playing else Shuttle()

    @property
    def in_out(self) -> FrameRange | None:
        """The in/out points (inclusive frame indices), or None for the whole clip."""
        return self._in_out

    def set_in_point(self, frame: int | None) -> None:
        """Set (None: clear) the in point; an out point before it is dropped."""
        self._set_in_out(with_in_point(self._in_out, frame, self.frame_count))

    def set_out_point(self, frame: int | None) -> None:
        """Set (None: clear) the out point; an in point after it is dropped."""
        self._set_in_out(with_out_point(self._in_out, frame, self.frame_count))

    def _set_in_out(self, frames: FrameRange | None) -> None:
        if self._info is None:
            return
        self._in_out = frames
        self.slider.set_play_range(frames)
        if self._playing:
            self._start_stream(self._shown if self._shown >= 0 else self._position)

    def _bounds(self) -> FrameRange:
        return self._in_out or FrameRange(0, max(0, self.frame_count - 1))

    def pause(self) -> None:
        if not self._playing:
            return
        self._stop_playback()
        self._shuttle = Shuttle()
        self._controls.show_speed(self.shuttle_state)
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
        """The in point (or the first frame; from the in point, the first frame)."""
        first = self._bounds().first
        self.seek(first if self._position != first else 0)

    def go_to_end(self) -> None:
        """The out point (or the last frame; from the out point, the last frame)."""
        last = self._bounds().last
        self.seek(last if self._position != last else self.frame_count - 1)

    def set_loop(self, loop: bool) -> None:
        self._loop = loop
        self.loop_button.setChecked(loop)
        self._stream.set_loop(loop)

    def timecode(self, frame: int) -> str:
        info = self._info
        if info is None:
            return "--:--:--:--"
        return frame_to_timecode(info.timecode_start + frame, info.fps)

    # -- requests to the decode thread ---------------------------------------------------------

    def _start_stream(self, frame: int) -> None:
        info = self._info
        assert info is not None
        state = self._shuttle
        path = PlayPath.starting_at(frame, state.direction, self._bounds())
        self._stream.play(path, info.fps, state, decode_side(self.canvas, info))

    def _request(self, request: PlayRequest | ShowRequest | None) -> None:
        self._stream.request(request, decode_side(self.canvas, self._info))

    def _stop_playback(self) -> None:
        was_playing = self._playing
        self._playing = False
        self._stream.stop()
        self.play_button.setIcon(self._controls.play_icon)
        if was_playing:
            self._request(None)

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

    # -- presentation -------------------------------------------------------------------------

    def _on_frame_due(self, index: int, image: QImage) -> None:
        if self._playing:
            self._position = index
        self._display(index, image)

    def _finish_at(self, end: int) -> None:
        self.pause()
        if self._shown != end:
            self.seek(end)  # the last frame was skipped as late: land on it anyway

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

    def _on_sound_failed(self, message: str) -> None:
        self.sound.mute_button.setToolTip(f"No sound: {message}")

    def _set_controls_enabled(self, enabled: bool) -> None:
        for widget in (self.slider, *self._controls.transport):
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

    @property
    def pause_held(self) -> bool:
        """K is held down: J and L step frames instead of shuttling."""
        return self._pause_held

    def hold_pause(self, held: bool) -> None:
        self._pause_held = held
        if held:
            self.pause()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # A paused picture decoded for a smaller canvas would stay blurry: decode it again to fit.
        if (
            self._info is not None
            and not self._playing
            and decode_side(self.canvas, self._info) != self._stream.requested_side
        ):
            self._request(ShowRequest(self._position))

    def hideEvent(self, event: QHideEvent) -> None:
        self.pause()  # a hidden player (another viewer page) must not keep decoding
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.close_clip()
        super().closeEvent(event)
