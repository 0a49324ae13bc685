"""Which jobs an asset goes through, which lane runs each, and what their outputs change.

Step functions are bound lazily (imported on first use) so that starting the app does not import the
render or AI stacks. Jobs are single-lane: a job's steps all need the same scarce resource, and a
finished job schedules its follow-ups (thumbnail -> render -> classify).
"""

from __future__ import annotations

import importlib
import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from core.jobs.model import JobDocument, JobState, Lane, Priority, StepStatus
from core.jobs.runner import RERUN_PARAM
from core.jobs.steps import Progress, StepContext, StepFunction, StepRegistry
from core.media.kinds import AssetKind
from core.profiles import ProcessingProfile

if TYPE_CHECKING:
    from collections.abc import Generator

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord

log = logging.getLogger(__name__)


class StepWrapper(Protocol):
    """Runs a lane's steps elsewhere (``core.farm.executor.FarmExecutor``: on a Dask cluster); the
    pipeline knows only this, so the farm may use the pipeline's tables without a cycle."""

    def wrap(self, name: str, local: StepFunction, lane: Lane, source: tuple[str, str]) -> StepFunction: ...


# step name -> (module, function)
STEP_SOURCES: dict[str, tuple[str, str]] = {
    "thumbnail": ("core.media.thumbnails", "thumbnail_step"),
    "render_thumbnail": ("core.render.steps", "render_thumbnail_step"),
    "render_preview": ("core.render.steps", "render_preview_step"),
    "render_turntable": ("core.render.steps", "render_turntable_step"),
    "classify": ("core.ai.steps", "classify_step"),
    "focus_crop": ("core.ai.steps", "focus_crop_step"),
    "enhance": ("core.ai.steps", "enhance_step"),
    "filmstrip": ("core.video.steps", "filmstrip_step"),
    "scene_cuts": ("core.video.steps", "scene_cuts_step"),
    "analysis": ("core.video.steps", "analysis_step"),
}


class JobKind(StrEnum):
    THUMBNAIL = "thumbnail"
    RENDER = "render"
    TURNTABLE = "turntable"
    CLASSIFY = "classify"
    ENHANCE = "enhance"
    VIDEO = "video"
    ANALYSIS = "analysis"  # on request only: optical flow on every frame costs far more than the rest


# job kind -> (lane, steps)
JOB_KINDS: dict[JobKind, tuple[Lane, tuple[str, ...]]] = {
    JobKind.THUMBNAIL: (Lane.MEDIA, ("thumbnail",)),
    JobKind.RENDER: (Lane.RENDER, ("render_thumbnail", "render_preview")),
    JobKind.TURNTABLE: (Lane.RENDER, ("render_turntable",)),
    JobKind.CLASSIFY: (Lane.INFERENCE, ("classify", "focus_crop")),
    JobKind.ENHANCE: (Lane.INFERENCE, ("enhance",)),
    JobKind.VIDEO: (Lane.MEDIA, ("filmstrip", "scene_cuts")),
    JobKind.ANALYSIS: (Lane.MEDIA, ("analysis",)),
}

# step name -> the lane that runs it
STEP_LANES: dict[str, Lane] = {step: lane for lane, steps in JOB_KINDS.values() for step in steps}

# job kind -> asset kinds it makes sense for (classify/enhance read the render or poster of the others)
JOB_ASSET_KINDS: dict[JobKind, tuple[AssetKind, ...]] = {
    JobKind.RENDER: (AssetKind.GEOMETRY,),
    JobKind.TURNTABLE: (AssetKind.GEOMETRY,),
    JobKind.CLASSIFY: (AssetKind.IMAGE, AssetKind.GEOMETRY, AssetKind.VIDEO),
    JobKind.ENHANCE: (AssetKind.IMAGE,),
    JobKind.ANALYSIS: (AssetKind.VIDEO, AssetKind.SEQUENCE),
}

# What a classify job leaves in the asset's metadata besides its tags.
CLASSIFICATION_RECORD = ("path", "model", "device", "subject_model", "hidden")


def can_run(job_kind: JobKind, record: AssetRecord) -> bool:
    """Whether a user may ask for ``job_kind`` on ``record`` (menus grey out the rest)."""
    return record.kind in JOB_ASSET_KINDS.get(job_kind, ())


def _lazy_step(module_name: str, function_name: str) -> StepFunction:
    def run(ctx: StepContext) -> Generator[Progress, None, dict[str, Any]]:
        function: StepFunction = getattr(importlib.import_module(module_name), function_name)
        return (yield from function(ctx))

    run.__name__ = function_name
    return run


def build_registry(
    *, render: bool = True, ai: bool = True, executor: StepWrapper | None = None
) -> StepRegistry:
    """Every step; with ``executor``, those of the render and inference lanes run on its Dask cluster
    (and locally while it cannot be reached)."""
    registry = StepRegistry()
    for name, (module_name, function_name) in STEP_SOURCES.items():
        if not render and module_name.startswith("core.render"):
            continue
        if not ai and module_name.startswith("core.ai"):
            continue
        step = _lazy_step(module_name, function_name)
        lane = STEP_LANES.get(name)
        if executor is not None and lane is not None and lane in (Lane.RENDER, Lane.INFERENCE):
            step = executor.wrap(name, step, lane, (module_name, function_name))
        registry.register(name, step)
    return registry


def lane_of(job_kind: str) -> Lane:
    """The lane of a job document's kind (a stored document names it as a string)."""
    return JOB_KINDS[JobKind(job_kind)][0]


def make_job(
    job_kind: JobKind,
    asset_id: int,
    project_id: int | None,
    params: dict[str, Any] | None = None,
    steps: tuple[str, ...] | None = None,
) -> JobDocument:
    """A queued job of ``job_kind``: all its steps, or the ``steps`` (of that kind) given."""
    chosen = steps if steps is not None else JOB_KINDS[job_kind][1]
    doc = JobDocument.new(job_kind, list(chosen), asset_id=asset_id, project_id=project_id, params=params)
    doc.state = JobState.QUEUED
    return doc


def _available(job_kind: JobKind, registry: StepRegistry) -> bool:
    return all(step in registry for step in JOB_KINDS[job_kind][1])


def jobs_after_ingest(
    asset_id: int,
    project_id: int,
    asset_kind: AssetKind,
    registry: StepRegistry,
    profile: ProcessingProfile | None = None,
) -> list[JobDocument]:
    """The first job of a new asset; it carries ``profile`` so that its follow-ups obey it."""
    del asset_kind  # every kind gets a thumbnail first; geometry's is a placeholder until rendered
    if not _available(JobKind.THUMBNAIL, registry):
        return []
    chosen = profile or ProcessingProfile()
    doc = make_job(JobKind.THUMBNAIL, asset_id, project_id, chosen.job_params())
    doc.priority = profile_priority(chosen, follow_up=False)
    return [doc]


def profile_priority(profile: ProcessingProfile, *, follow_up: bool) -> Priority:
    """Queue order of a profile's jobs: a normal profile's follow-ups are background work that waits
    behind thumbnails and anything a user asks for; low and high profiles move all their jobs."""
    if profile.priority == "high":
        return Priority.HIGH
    if profile.priority == "low":
        return Priority.LOW
    return Priority.BACKGROUND if follow_up else Priority.NORMAL


def jobs_after(finished: JobDocument, asset_kind: AssetKind, registry: StepRegistry) -> list[JobDocument]:
    """Follow-up jobs once ``finished`` completed (nothing follows a failed or cancelled job).

    Which ones is the profile's choice, carried in the finished job's params.
    """
    asset_id = finished.asset_id
    if finished.state != JobState.COMPLETED or asset_id is None or finished.params.get("no_follow_up"):
        return []
    profile = ProcessingProfile.from_job_params(finished.params)
    follow: list[JobKind] = []
    if finished.kind == JobKind.THUMBNAIL:
        if asset_kind == AssetKind.GEOMETRY and profile.render:
            follow.append(JobKind.RENDER)
        elif asset_kind not in (AssetKind.GEOMETRY, AssetKind.AUDIO) and profile.ai:
            follow.append(JobKind.CLASSIFY)
        if asset_kind in (AssetKind.VIDEO, AssetKind.SEQUENCE) and profile.video:
            follow.append(JobKind.VIDEO)
    elif finished.kind == JobKind.RENDER:
        if profile.ai:
            follow.append(JobKind.CLASSIFY)
        if profile.turntable:
            follow.append(JobKind.TURNTABLE)
    return [
        _profiled_job(kind, asset_id, finished.project_id, profile)
        for kind in follow
        if _available(kind, registry)
    ]


def _profiled_job(
    job_kind: JobKind, asset_id: int, project_id: int | None, profile: ProcessingProfile
) -> JobDocument:
    params = profile.job_params()
    if job_kind in (JobKind.RENDER, JobKind.TURNTABLE) and profile.render_backend is not None:
        params["backend"] = profile.render_backend
    if job_kind == JobKind.TURNTABLE:
        params["frames"] = profile.turntable_frames
    steps = None
    if job_kind == JobKind.RENDER and not profile.render_preview:
        steps = ("render_thumbnail",)
    doc = make_job(job_kind, asset_id, project_id, params, steps)
    doc.priority = profile_priority(profile, follow_up=True)
    return doc


def apply_step_output(catalog: Catalog, doc: JobDocument, step_name: str) -> bool:
    """Write a completed step's products into the catalog. True when the asset record changed."""
    if doc.asset_id is None:
        return False
    step = doc.step(step_name)
    if step.status != StepStatus.COMPLETED:
        return False
    out = step.output
    asset_id = doc.asset_id
    if step_name == "thumbnail":
        catalog.set_thumbnail(asset_id, str(out["thumbnail"]), status="ready")
        catalog.add_artifact(asset_id, "thumbnail", str(out["thumbnail"]), size=_int(out.get("size")))
        return True
    if step_name == "render_thumbnail":
        catalog.set_thumbnail(asset_id, str(out["path"]), status="ready")
        catalog.add_artifact(
            asset_id, "render_thumbnail", str(out["path"]), backend=_str(out.get("backend")), meta=out
        )
        return True
    if step_name in ("render_preview", "render_turntable", "enhance"):
        kind = {"render_preview": "preview", "render_turntable": "turntable", "enhance": "enhanced"}
        catalog.add_artifact(
            asset_id, kind[step_name], str(out["path"]), backend=_str(out.get("backend")), meta=out
        )
        return True
    if step_name == "classify":
        categories = [(str(c["name"]), float(c["confidence"])) for c in out.get("categories", [])]
        catalog.set_ai_categories(asset_id, categories)
        catalog.update_metadata(
            asset_id,
            # Low-confidence guesses are kept (hidden) so the inspector can show them when asked.
            {
                "classification": {
                    k: out.get(k) for k in ("path", "model", "device", "subject_model", "hidden")
                }
            },
        )
        return True
    if step_name in ("filmstrip", "scene_cuts", "analysis"):
        from core.video.steps import record_video_output

        return record_video_output(catalog, asset_id, step_name, out)
    if step_name == "focus_crop":
        catalog.update_metadata(asset_id, {"focus_box": out.get("box"), "focus_method": out.get("method")})
        if out.get("crop"):
            catalog.add_artifact(asset_id, "focus_crop", str(out["crop"]), meta=out)
        _record_focus_thumbnail(catalog, asset_id, out)
        return True
    return False


def _record_focus_thumbnail(catalog: Catalog, asset_id: int, out: dict[str, Any]) -> None:
    """The grid shows the focus thumbnail unless the artist switched this asset back to the original
    (the ``thumbnail`` artifact is kept either way)."""
    from core.ai.cam import FOCUS_THUMBNAIL, SHOW_ORIGINAL_THUMBNAIL

    path = out.get(FOCUS_THUMBNAIL)
    if not path:
        return
    catalog.add_artifact(asset_id, FOCUS_THUMBNAIL, str(path), meta={"box": out.get("box")})
    record = catalog.get_asset(asset_id)
    if record is not None and not record.metadata.get(SHOW_ORIGINAL_THUMBNAIL):
        catalog.set_thumbnail(asset_id, str(path))


def apply_job_failure(catalog: Catalog, doc: JobDocument) -> bool:
    """A failed thumbnail means the asset cannot be shown: mark it failed with the reason. Not after a
    failed re-run: the earlier thumbnail is still there."""
    if doc.asset_id is None or doc.state != JobState.FAILED or doc.kind != JobKind.THUMBNAIL:
        return False
    if doc.params.get(RERUN_PARAM):
        return False
    catalog.set_asset_failed(doc.asset_id, doc.error or "Thumbnail failed")
    return True


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _str(value: object) -> str | None:
    return str(value) if value is not None else None
