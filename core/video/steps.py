"""Job steps for video and image-sequence assets (core/jobs/steps.py contract).

``filmstrip`` writes ``artifact_dir/<hash[:2]>/<hash>_filmstrip_<count>x<height>.jpg``;
``scene_cuts`` returns the cut frames for the asset's metadata; ``analysis`` writes the per-frame
metrics to ``artifact_dir/<hash[:2]>/<hash>_analysis.json`` (:mod:`core.video.analysis`). Each opens
the clip itself (one decoder per step, so they run on any media-lane thread), checks the cancel token
every few frames and turns a bad file into :class:`InvalidInputError` with the media layer's message.

:func:`record_video_output` writes a finished step's output into the catalog, for the pipeline.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.jobs.steps import InvalidInputError, Progress, RecoverableError
from core.media.errors import InvalidMediaError, MediaError

if TYPE_CHECKING:
    from collections.abc import Generator

    from core.catalog.catalog import Catalog
    from core.jobs.steps import StepContext, StepOutput
    from core.video.filmstrip import Filmstrip
    from core.video.frames import FrameSource

log = logging.getLogger(__name__)

# Progress is reported (and cancellation checked) this often while decoding.
_FRAMES_PER_CHECK = 12
VIDEO_KINDS = ("video", "sequence")


def open_asset_clip(ctx: StepContext, *, fast_decode: bool = True) -> FrameSource:
    """The asset's clip: its frames for a sequence, its file for a video.

    ``fast_decode`` (skipping deblocking) suits small products; measurements of the picture need it off.
    """
    from core.media.limits import MediaLimits
    from core.video.frames import open_frame_source

    asset = ctx.asset
    if asset is None:
        raise InvalidInputError("This video step needs an asset")
    if asset.kind not in VIDEO_KINDS:
        raise InvalidInputError(f"{asset.path.name} is not a video or an image sequence")
    frames = asset.frames
    if asset.kind == "sequence" and not frames:
        from core.ingest import sequence_frames

        frames = sequence_frames(asset.metadata)
        if not frames:
            raise InvalidInputError(f"{asset.path.name}: the sequence's frame list is missing")
    fps = asset.metadata.get("fps") if asset.kind == "sequence" else None
    try:
        return open_frame_source(
            Path(asset.path),
            frames=frames,
            fps=float(fps) if isinstance(fps, int | float) and fps > 0 else None,
            limits=MediaLimits.from_settings(ctx.settings),
            fast_decode=fast_decode,
        )
    except MediaError as exc:
        raise _translate(exc) from exc


def _translate(exc: MediaError) -> Exception:
    if isinstance(exc, InvalidMediaError):
        return InvalidInputError(str(exc))
    return RecoverableError(str(exc))  # unreadable now (busy, offline share) may work later


def filmstrip_path(ctx: StepContext, count: int, height: int) -> Path:
    assert ctx.asset is not None
    digest = ctx.asset.content_hash or f"asset-{ctx.asset.id}"
    return ctx.paths.artifact_dir / digest[:2] / f"{digest}_filmstrip_{count}x{height}.jpg"


def filmstrip_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    """Job step ``filmstrip``: params ``count`` (10) and ``height`` (90 px)."""
    from core.video.filmstrip import DEFAULT_COUNT, DEFAULT_HEIGHT, build_filmstrip, write_jpeg

    count = int(ctx.params.get("count", DEFAULT_COUNT))
    height = int(ctx.params.get("height", DEFAULT_HEIGHT))
    if count < 1 or height < 8:
        raise InvalidInputError(f"A filmstrip needs at least 1 cell and 8 px height ({count}, {height})")
    ctx.cancel.raise_if_cancelled()
    ctx.device = "cpu"
    with open_asset_clip(ctx) as clip:
        name = Path(ctx.asset.path).name if ctx.asset else "clip"
        yield Progress(0.0, f"Filmstrip of {name}")
        building = build_filmstrip(clip, count, height)
        try:
            while True:
                done = next(building)
                ctx.cancel.raise_if_cancelled()
                yield Progress(done / max(1, min(count, clip.frame_count)), f"Filmstrip frame {done}")
        except StopIteration as finished:
            strip: Filmstrip = finished.value
        except MediaError as exc:
            raise _translate(exc) from exc
    path = filmstrip_path(ctx, count, height)
    try:
        write_jpeg(path, strip.image)
    except OSError as exc:
        raise RecoverableError(f"Could not write the filmstrip {path}: {exc}") from exc
    return {
        "path": str(path),
        "frames": strip.frames,
        "count": len(strip.frames),
        "cell_width": strip.cell_width,
        "cell_height": strip.cell_height,
    }


def scene_cuts_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    """Job step ``scene_cuts``: params ``threshold``, ``min_scene_len``, ``min_score``."""
    from core.video import scene_cuts

    threshold = float(ctx.params.get("threshold", scene_cuts.DEFAULT_THRESHOLD))
    min_scene_len = int(ctx.params.get("min_scene_len", scene_cuts.DEFAULT_MIN_SCENE_LEN))
    min_score = float(ctx.params.get("min_score", scene_cuts.DEFAULT_MIN_SCORE))
    ctx.cancel.raise_if_cancelled()
    ctx.device = "cpu"
    with open_asset_clip(ctx) as clip:
        total = clip.frame_count
        fps = float(clip.fps)
        yield Progress(0.0, f"Looking for cuts in {total} frames")
        scanning = scene_cuts.scan_scene_cuts(clip, threshold, min_scene_len, min_score)
        try:
            while True:
                done = next(scanning)
                if done % _FRAMES_PER_CHECK == 0:
                    ctx.cancel.raise_if_cancelled()
                    yield Progress(min(1.0, done / total), f"Frame {done} of {total}")
        except StopIteration as finished:
            result: scene_cuts.SceneCuts = finished.value
        except MediaError as exc:
            raise _translate(exc) from exc
    log.info("%d cuts in %d frames", len(result.cuts), result.frame_count)
    yield Progress(1.0, f"{len(result.cuts)} cuts found")
    return {"cuts": result.cuts, "frame_count": result.frame_count, "fps": round(fps, 6)}


def analysis_path(ctx: StepContext) -> Path:
    assert ctx.asset is not None
    digest = ctx.asset.content_hash or f"asset-{ctx.asset.id}"
    return ctx.paths.artifact_dir / digest[:2] / f"{digest}_analysis.json"


def analysis_step(ctx: StepContext) -> Generator[Progress, None, StepOutput]:
    """Job step ``analysis``: params ``max_side`` (480 px) and ``workers`` (threads, default 2)."""
    from core.video import analysis

    max_side = int(ctx.params.get("max_side", analysis.ANALYSIS_SIDE))
    workers = int(ctx.params.get("workers", 2))
    if max_side < 32 or workers < 1:
        raise InvalidInputError(f"Analysis needs at least 32 px and 1 worker ({max_side}, {workers})")
    ctx.cancel.raise_if_cancelled()
    ctx.device = "cpu"
    # Deblocking stays on: skipped, its blocks would read as edges, texture and noise.
    with open_asset_clip(ctx, fast_decode=False) as clip:
        total = clip.frame_count
        yield Progress(0.0, f"Analysing {total} frames")
        measuring = analysis.analyse_clip(clip, max_side=max_side, workers=workers)
        try:
            while True:
                done = next(measuring)
                if done % _FRAMES_PER_CHECK == 0:
                    ctx.cancel.raise_if_cancelled()
                    yield Progress(min(1.0, done / max(1, total)), f"Frame {done} of {total}")
        except StopIteration as finished:
            result: analysis.ClipAnalysis = finished.value
        except MediaError as exc:
            raise _translate(exc) from exc
    summary = analysis.summarise(result)
    path = analysis_path(ctx)
    try:
        analysis.write_json(path, result, summary)
    except OSError as exc:
        raise RecoverableError(f"Could not write the analysis {path}: {exc}") from exc
    yield Progress(1.0, f"{len(summary['shots'])} shots, complexity {summary['complexity']}")
    return {"path": str(path), **summary}


def analysis_metadata(output: dict[str, Any]) -> dict[str, Any]:
    """What the catalog row keeps of an analysis: its file, and per shot its span and score."""
    shots = [{k: shot[k] for k in ("start", "end", "complexity")} for shot in output["shots"]]
    return {
        "path": output["path"],
        "frames": output["frames"],
        "complexity": output["complexity"],
        "shots": shots,
    }


def record_video_output(catalog: Catalog, asset_id: int, step_name: str, output: dict[str, Any]) -> bool:
    """Store a completed ``filmstrip``, ``scene_cuts`` or ``analysis`` output on the asset. True if it did."""
    if step_name == "filmstrip":
        catalog.add_artifact(asset_id, "filmstrip", str(output["path"]), meta=output)
        catalog.update_metadata(
            asset_id,
            {"filmstrip": {k: output.get(k) for k in ("path", "frames", "cell_width", "cell_height")}},
        )
        return True
    if step_name == "scene_cuts":
        # Decoding every frame also counted them exactly: replace the probe's estimate.
        catalog.update_metadata(
            asset_id,
            {
                "scene_cuts": list(output["cuts"]),
                "frames": int(output["frame_count"]),
                "frames_estimated": False,
            },
        )
        return True
    if step_name == "analysis":
        # The per-frame arrays stay in the artifact file: the catalog row holds only the summary.
        metadata = analysis_metadata(output)
        catalog.add_artifact(asset_id, "analysis", str(output["path"]), meta=metadata)
        catalog.update_metadata(asset_id, {"analysis": metadata})
        return True
    return False
