"""The inspector's metadata rows read as an artist would say them."""

from __future__ import annotations

from dataclasses import replace

from core.catalog.records import AssetRecord
from ui.common.formatting import format_label, metadata_rows


def _video(**metadata: object) -> AssetRecord:
    return AssetRecord(
        id=1, project_id=1, name="review.mp4", path="/shots/review.mp4", kind="video",
        content_hash="h", size_bytes=9_647, status="ready", error=None, metadata=dict(metadata),
        thumbnail=None, copied=False, frame_first=None, frame_last=None, created_at=0.0,
    )  # fmt: skip


def test_video_rows_name_container_bit_rate_audio_and_cuts() -> None:
    rows = dict(
        metadata_rows(
            _video(
                format="mov,mp4,m4a,3gp,3g2,mj2",
                bit_rate=21_194,
                audio=False,
                scene_cuts=[72, 144, 216],
                fps=24.0,
                frames=72,
            )
        )
    )
    assert rows["Container"] == "MP4 / QuickTime"
    assert rows["Bit rate"] == "21 kb/s"
    assert rows["Audio"] == "no"
    assert rows["Scene cuts"] == "3 (frames 72, 144, 216)"
    assert dict(metadata_rows(_video(bit_rate=45_000_000)))["Bit rate"] == "45.0 Mb/s"


def test_sequence_rows_show_range_rate_and_gaps_not_bookkeeping() -> None:
    record = AssetRecord(
        id=2, project_id=1, name="shot.[1001-1024].exr", path="/shots/shot.1001.exr", kind="sequence",
        content_hash="s", size_bytes=1, status="ready", error=None, thumbnail=None, copied=False,
        frame_first=1001, frame_last=1024, created_at=0.0,
        metadata={"format": "OpenEXR", "fps": 24.0, "duration_s": 1.0, "missing_count": 2, "count": 22,
                  "first": 1001, "last": 1024, "pattern": "shot.####.exr", "frames": 22},
    )  # fmt: skip
    rows = metadata_rows(record)
    labels = [label for label, _ in rows]
    assert dict(rows)["Frames"] == "1001–1024  (24)"
    assert dict(rows)["Gaps"] == "2 missing"
    assert labels.count("Frames") == 1
    assert not {"Count", "First", "Last", "Pattern"} & set(labels)


def test_tile_badge_names_the_file_format_not_the_demuxer_family() -> None:
    assert format_label(_video(format="mov,mp4,m4a,3gp,3g2,mj2")) == "MP4"
    mov = replace(_video(format="mov,mp4,m4a,3gp,3g2,mj2"), path="/shots/review.mov")
    assert format_label(mov) == "MOV"
    mkv = replace(_video(format="matroska,webm"), path="/shots/review.mkv")
    assert format_label(mkv) == "MKV"
    no_suffix = replace(_video(format="matroska,webm"), path="/shots/review")
    assert format_label(no_suffix) == "MATRO"
    assert format_label(_video(format="png")) == "PNG"


def test_audio_rows_and_badge_say_what_a_sound_engineer_asks() -> None:
    from core.media.probe_audio import probe_audio
    from tests.core.media.sound_clips import installed_sound

    sine = installed_sound("Sine-1000Hz-300ms.aif")
    record = replace(_video(**probe_audio(sine)), kind="audio", name=sine.name, path=str(sine))
    rows = dict(metadata_rows(record))
    assert rows["Kind"] == "Audio"
    assert rows["Sample rate"] == "48,000 Hz"
    assert rows["Channels"] == "2"
    assert rows["Codec"] == "pcm_s16be"
    assert rows["Duration"]
    assert "Audio" not in rows  # "has sound" says nothing for a sound file
    assert "Duration estimated" not in rows
    assert format_label(record) == "AIFF"
