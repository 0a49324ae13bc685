"""The ``thumbnail`` job step, sequences end to end, and documents."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import pytest

from core.jobs.steps import (
    AssetRef,
    CancelToken,
    InvalidInputError,
    JobCancelledError,
    Progress,
    StepContext,
)
from core.media.hashing import sequence_hash
from core.media.kinds import AssetKind
from core.media.limits import MediaLimits
from core.media.probe import probe, probe_sequence
from core.media.sequences import group_sequences
from core.media.thumbnails import make_thumbnail, thumbnail_step
from core.paths import AppPaths
from core.settings import Settings
from tests.core.media.conftest import gradient_bgr, write_image

if TYPE_CHECKING:
    from collections.abc import Generator


def run_step(gen: Generator[Progress, None, dict[str, Any]]) -> tuple[list[Progress], dict[str, Any]]:
    progress: list[Progress] = []
    while True:
        try:
            progress.append(next(gen))
        except StopIteration as stop:
            return progress, stop.value


def _context(asset: AssetRef, thumbnail_size: int = 128) -> StepContext:
    return StepContext(
        asset=asset,
        paths=AppPaths.resolve().ensure(),
        settings=Settings(thumbnail_size=thumbnail_size),
        cancel=CancelToken(),
    )


def test_step_writes_thumbnail_and_reports_outputs(media_dir: Path) -> None:
    image = write_image(media_dir / "plate #1 (final).png", gradient_bgr(300, 150))
    ctx = _context(AssetRef(id=7, path=image, kind="image", content_hash="9f" * 16))
    progress, output = run_step(thumbnail_step(ctx))
    assert progress[0].fraction == 0.0
    assert progress[-1].fraction == 1.0
    assert ctx.device == "cpu"
    assert output["width"] == 128
    assert output["height"] == 64
    assert output["placeholder"] is False
    assert output["source"] == "png"
    written = Path(output["thumbnail"])
    assert written.parent.parent == ctx.paths.thumbnail_dir
    assert cv2.imread(str(written)).shape == (64, 128, 3)


def test_step_turns_bad_input_into_invalid_input_error(media_dir: Path) -> None:
    empty = media_dir / "empty.jpg"
    empty.touch()
    ctx = _context(AssetRef(id=1, path=empty, kind="image", content_hash="aa" * 16))
    with pytest.raises(InvalidInputError, match=r"empty\.jpg is empty"):
        run_step(thumbnail_step(ctx))


def test_step_turns_missing_file_into_recoverable_error(media_dir: Path) -> None:
    from core.jobs.steps import RecoverableError

    ctx = _context(AssetRef(id=1, path=media_dir / "later.png", kind="image", content_hash="bb" * 16))
    with pytest.raises(RecoverableError, match="no longer exists"):
        run_step(thumbnail_step(ctx))


def test_step_honours_cancel(media_dir: Path) -> None:
    image = write_image(media_dir / "a.png", gradient_bgr())
    ctx = _context(AssetRef(id=1, path=image, kind="image", content_hash="cc" * 16))
    ctx.cancel.cancel()
    with pytest.raises(JobCancelledError):
        run_step(thumbnail_step(ctx))


def test_sequence_probe_hash_and_thumbnail(media_dir: Path, limits: MediaLimits) -> None:
    files = []
    for frame in (1001, 1002, 1004):
        card = gradient_bgr(96, 54)
        card[:, :, 0] = frame - 1000  # each frame differs
        files.append(write_image(media_dir / f"comp.{frame:04d}.png", card))
    (seq,), singles = group_sequences(files)
    assert singles == []
    meta = probe_sequence(seq, limits)
    assert meta["kind"] == "sequence"
    assert (meta["first"], meta["last"], meta["count"]) == (1001, 1004, 3)
    assert meta["missing"] == [1003]
    assert (meta["width"], meta["height"], meta["fps"]) == (96, 54, 24.0)
    digest = sequence_hash(seq.paths)
    result = make_thumbnail(
        seq.paths[0], AssetKind.SEQUENCE, media_dir / "t", digest, 64, limits, frames=seq.paths
    )
    assert (result.width, result.height, result.source) == (64, 36, "sequence-png")


def test_document_probe_and_placeholder_card(media_dir: Path, limits: MediaLimits) -> None:
    pdf = media_dir / "script.pdf"
    pdf.write_bytes(
        b"%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>> endobj\n"
        b"2 0 obj <</Type /Page>> endobj\n3 0 obj <</Type/Page>> endobj\n%%EOF\n"
    )
    meta = probe(pdf, AssetKind.DOCUMENT, limits)
    assert meta["pages"] == 2
    assert meta["format"] == "pdf"
    result = make_thumbnail(pdf, AssetKind.DOCUMENT, media_dir / "t", "dd" * 16, 96, limits)
    assert result.placeholder is True
    assert result.source == "document-placeholder"
    card = cv2.imread(str(result.path))
    assert card.shape == (96, 96, 3)
    assert np.std(card) > 10  # something is drawn, not a flat colour


def test_limits_follow_the_settings(media_dir: Path) -> None:
    limits = MediaLimits.from_settings(Settings(max_file_size_mb=2, max_image_pixels=10_000))
    assert limits.max_file_size_bytes == 2 * 1024 * 1024
    path = write_image(media_dir / "medium.png", gradient_bgr(200, 100))  # 20,000 pixels
    ctx = _context(AssetRef(id=3, path=path, kind="image", content_hash="ee" * 16))
    ctx.settings = Settings(max_image_pixels=10_000)
    with pytest.raises(InvalidInputError, match="megapixel limit"):
        run_step(thumbnail_step(ctx))
