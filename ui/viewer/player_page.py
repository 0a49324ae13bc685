"""The viewer's page for videos, image sequences and sound files: a ``VideoPlayer`` on the asset's
frames and sound (a video's own audio stream, a sequence's sidecar sound file, a sound file drawn as
its waveform with a playhead), with the shot-analysis plot under it when the asset has been analysed."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ui.viewer.audio_output import default_sink_factory
from ui.viewer.player import VideoPlayer

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QWidget

    from core.catalog.records import AssetRecord
    from core.media.audio import AudioTrack
    from core.media.limits import MediaLimits
    from ui.viewer.clip_compare import ClipComparePage
    from ui.viewer.player_decoder import SourceFactory
    from ui.viewer.player_sound import SinkFactory


def player_page_factory(
    limits: MediaLimits | None = None, sound_output: SinkFactory | None = default_sink_factory
) -> Callable[[AssetRecord, QWidget], VideoPlayer]:
    """A page factory for ``AssetViewer.register_page("video" | "sequence" | "audio", ...)``."""

    def make_page(record: AssetRecord, parent: QWidget) -> VideoPlayer:
        player = VideoPlayer(parent, sound_output=sound_output)
        clip = clip_of(record, limits)
        player.set_source_frame_numbers(clip.frame_numbers)
        player.open_clip(clip.pictures, audio=clip.sound)
        if record.metadata.get("analysis"):
            from ui.viewer.metrics_plot import attach_metrics_plot

            attach_metrics_plot(player, record.metadata["analysis"])
        player.setFocus()
        return player

    return make_page


def clip_compare_factory(
    limits: MediaLimits | None = None, sound_output: SinkFactory | None = default_sink_factory
) -> Callable[[AssetRecord, AssetRecord, QWidget], ClipComparePage]:
    """A/B compare of two clips (``AssetViewer.register_clip_compare``); A's sound plays."""

    def make_page(a: AssetRecord, b: AssetRecord, parent: QWidget) -> ClipComparePage:
        from ui.viewer.clip_compare import ClipComparePage

        a_clip, b_clip = clip_of(a, limits), clip_of(b, limits)
        page = ClipComparePage(
            (a.name, b.name), (a_clip.pictures, b_clip.pictures), a_clip.sound, sound_output, parent
        )
        page.player.set_source_frame_numbers(a_clip.frame_numbers)
        page.player.setFocus()
        return page

    return make_page


@dataclass(frozen=True)
class ClipOfAsset:
    """How to open an asset's pictures and sound (each factory runs on its decode thread)."""

    pictures: SourceFactory
    sound: Callable[[], AudioTrack] | None
    frame_numbers: tuple[int, ...]  # a sequence's own numbers; empty for a video


def clip_of(record: AssetRecord, limits: MediaLimits | None) -> ClipOfAsset:
    from core.video.frames import open_frame_source
    from ui.common.files import asset_files

    if record.kind == "audio":
        return _sound_clip(record)

    frames = tuple(asset_files(record)) if record.is_sequence else ()
    fps = record.metadata.get("fps") if record.is_sequence else None
    sequence = record.metadata.get("sequence") if record.is_sequence else None
    numbers: tuple[int, ...] = ()
    if isinstance(sequence, dict) and isinstance(sequence.get("frames"), list):
        numbers = tuple(int(n) for n in sequence["frames"])
    pictures = functools.partial(
        open_frame_source,
        Path(record.path),
        frames=frames,
        fps=float(fps) if isinstance(fps, int | float) and fps > 0 else None,
        limits=limits,
    )
    return ClipOfAsset(pictures, sound_of(record, frames), numbers)


def _sound_clip(record: AssetRecord) -> ClipOfAsset:
    """A sound file plays as its waveform with a moving playhead; the sound is the clock."""
    from core.media.audio import AudioTrack
    from core.media.waveform import WaveformFrameSource

    path = Path(record.path)
    duration = record.metadata.get("duration_s")
    pictures = functools.partial(
        WaveformFrameSource, path, duration_s=float(duration) if isinstance(duration, int | float) else None
    )
    return ClipOfAsset(pictures, functools.partial(AudioTrack, path, origin=0.0), ())


def sound_of(record: AssetRecord, frames: tuple[Path, ...]) -> Callable[[], AudioTrack] | None:
    """How to open the asset's sound (on the sound's decode thread), or None when it has none."""
    from core.media.audio import AudioTrack, has_audio, sidecar_audio

    if frames:
        sidecar = sidecar_audio(frames[0])
        # A sidecar starts with the sequence's first frame: media time 0 is the file's start.
        return functools.partial(AudioTrack, sidecar, origin=0.0) if sidecar is not None else None
    path = Path(record.path)
    known = record.metadata.get("audio")  # the probe's answer; catalogs from before it lack the key
    if known is True or (known is None and has_audio(path)):
        return functools.partial(AudioTrack, path)
    return None
