"""The player's sound: mute and volume controls, the feed to the device, and the audio clock.

When a clip has sound and a device exists, the sound card is the master clock: the pictures follow
``played_seconds`` of the device (``clock_now``), never the other way round, because a listener hears a
dropped or repeated audio sample as a click while a repeated picture goes unnoticed. Sound plays only
at 1x forward; shuttling at other speeds, reverse and scrubbing are silent (the pictures then run on
the monotonic clock, as clips without sound always do).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QSlider, QStyle, QToolButton, QWidget

from ui.viewer.audio_feed import AudioFeed
from ui.viewer.audio_output import no_audio_reason

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.media.audio_sink import PcmSink
    from core.video.clock import PlaybackClock
    from ui.viewer.audio_feed import AudioTrackFactory

    SinkFactory = Callable[[], PcmSink | None]

log = logging.getLogger(__name__)

# Re-anchor the picture clock on the sound when they differ by more than this (seconds); smaller
# corrections would only churn the decode thread's lock.
RETIME_TOLERANCE = 0.002


class PlayerSound(QObject):
    """Owned by a ``VideoPlayer``; ``mute_button`` and ``volume_slider`` go in its control row."""

    failed = Signal(str)

    def __init__(self, parent: QWidget, sink_factory: SinkFactory | None) -> None:
        super().__init__(parent)
        self._sink_factory = sink_factory
        self._feed: AudioFeed | None = None
        self._track: AudioTrackFactory | None = None
        self._unavailable = ""  # why a clip with sound plays silently here
        self._tick0 = 0  # the picture tick at which the current sound started
        self._following = False
        style = parent.style()
        self._loud_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume)
        self._muted_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaVolumeMuted)
        self.mute_button = QToolButton(parent)
        self.mute_button.setCheckable(True)
        self.mute_button.setAutoRaise(True)
        self.mute_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.mute_button.setIcon(self._loud_icon)
        self.mute_button.toggled.connect(self.set_muted)
        self.volume_slider = QSlider(Qt.Orientation.Horizontal, parent)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(100)
        self.volume_slider.setFixedWidth(80)
        self.volume_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume_slider.setToolTip("Volume")
        self.volume_slider.valueChanged.connect(self._on_volume)
        self.attach(None)

    # -- state --------------------------------------------------------------------------------

    @property
    def has_sound(self) -> bool:
        """The clip has sound and it can be played here."""
        return self._track is not None and self._ensure_feed() is not None

    @property
    def following(self) -> bool:
        """The pictures follow the sound right now."""
        return self._following

    @property
    def muted(self) -> bool:
        return self.mute_button.isChecked()

    @property
    def unavailable_reason(self) -> str:
        return self._unavailable

    def attach(self, track: AudioTrackFactory | None) -> None:
        """The clip's sound (None: a clip without sound; the controls hide)."""
        self.stop()
        self._track = track
        visible = track is not None
        self.mute_button.setVisible(visible)
        self.volume_slider.setVisible(visible)
        if visible and self._ensure_feed() is None:
            self.mute_button.setEnabled(False)
            self.volume_slider.setEnabled(False)
            self.mute_button.setToolTip(f"No sound: {self._unavailable}")
        else:
            self.mute_button.setEnabled(True)
            self.volume_slider.setEnabled(True)
            self.mute_button.setToolTip("Mute (M)")

    def set_muted(self, muted: bool) -> None:
        if self.mute_button.isChecked() != muted:
            self.mute_button.setChecked(muted)  # comes back here through toggled
            return
        self.mute_button.setIcon(self._muted_icon if muted else self._loud_icon)
        if self._feed is not None:
            self._feed.set_muted(muted)

    def set_volume(self, volume: float) -> None:
        self.volume_slider.setValue(round(min(1.0, max(0.0, volume)) * 100))

    # -- playback -----------------------------------------------------------------------------

    def start(self, seconds: float, tick: int) -> bool:
        """Play the sound from media time ``seconds``, heard with picture tick ``tick``; False when
        there is no sound to play (the pictures then keep the monotonic clock)."""
        feed = self._ensure_feed() if self._track is not None else None
        if feed is None or self._track is None:
            self._following = False
            return False
        feed.start(self._track, seconds)
        self._tick0 = tick
        self._following = True
        return True

    def stop(self) -> None:
        self._following = False
        if self._feed is not None:
            self._feed.stop()

    def clock_now(self, clock: PlaybackClock, now: float) -> PlaybackClock:
        """``clock`` moved so that the tick due at ``now`` is the one the sound has reached."""
        if not self._following or self._feed is None:
            return clock
        heard = self._feed.played_seconds()
        anchored = replace(clock, start_tick=self._tick0, started_at=now - heard)
        if clock.start_tick == anchored.start_tick and abs(clock.started_at - anchored.started_at) < (
            RETIME_TOLERANCE
        ):
            return clock
        return anchored

    def close(self) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------

    def _ensure_feed(self) -> AudioFeed | None:
        if self._feed is not None:
            return self._feed
        if self._unavailable:
            return None
        sink = self._sink_factory() if self._sink_factory is not None else None
        if sink is None:
            self._unavailable = (
                (no_audio_reason() or "no sound output") if self._sink_factory else "sound is off here"
            )
            return None
        self._feed = AudioFeed(sink, self)
        self._feed.failed.connect(self.failed)
        self._feed.set_muted(self.muted)
        self._feed.set_volume(self.volume_slider.value() / 100)
        return self._feed

    def _on_volume(self, value: int) -> None:
        self.volume_slider.setToolTip(f"Volume {value}%")
        if self._feed is not None:
            self._feed.set_volume(value / 100)
