"""The inspector's metadata rows read as an artist would say them."""

from __future__ import annotations

from core.catalog.records import AssetRecord
from ui.formatting import metadata_rows


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
