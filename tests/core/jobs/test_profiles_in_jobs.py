"""What a processing profile sets for the jobs it queues: their priority and the thumbnail size; and
the notification a single job from a menu ends with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.jobs.model import JobDocument, JobState, Priority, StepStatus
from core.jobs.steps import AssetRef, CancelToken, StepContext
from core.media.kinds import AssetKind
from core.notify import BatchTracker
from core.paths import AppPaths
from core.pipeline import build_registry, jobs_after, jobs_after_ingest, make_job
from core.profiles import ProcessingProfile, ProfileError
from core.settings import Settings


@pytest.mark.parametrize(
    ("priority", "first", "follow_up"),
    [
        ("normal", Priority.NORMAL, Priority.BACKGROUND),
        ("high", Priority.HIGH, Priority.HIGH),
        ("low", Priority.LOW, Priority.LOW),
    ],
)
def test_a_profile_sets_the_priority_of_its_jobs(priority: str, first: int, follow_up: int) -> None:
    profile = ProcessingProfile(priority=priority)  # type: ignore[arg-type]
    registry = build_registry()
    [thumbnail] = jobs_after_ingest(3, 1, AssetKind.VIDEO, registry, profile)
    assert thumbnail.priority == first
    thumbnail.state = JobState.COMPLETED
    follow_ups = jobs_after(thumbnail, AssetKind.VIDEO, registry)
    assert follow_ups
    assert {doc.priority for doc in follow_ups} == {follow_up}


def test_profile_values_are_checked() -> None:
    with pytest.raises(ProfileError, match="thumbnail_size"):
        ProcessingProfile().with_settings(["thumbnail_size=8"])
    with pytest.raises(ProfileError, match="priority"):
        ProcessingProfile().with_settings(["priority=urgent"])
    assert ProcessingProfile().with_settings(["thumbnail_size=512"]).thumbnail_size == 512


def _thumbnail(tmp_path: Path, params: dict[str, Any]) -> dict[str, Any]:
    import cv2
    import numpy as np

    from core.media.thumbnails import thumbnail_step

    image = tmp_path / "plate.png"
    pixels = np.zeros((400, 640, 3), np.uint8)
    pixels[:, :, 1] = 180
    assert cv2.imwrite(str(image), pixels)
    context = StepContext(
        asset=AssetRef(1, image, "image", "feedface"),
        paths=AppPaths.resolve(tmp_path / "data").ensure(),
        settings=Settings(thumbnail_size=256),
        cancel=CancelToken(),
        params=params,
    )
    steps = thumbnail_step(context)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return dict(done.value)


def test_the_thumbnail_step_makes_the_profiles_size(tmp_path: Path) -> None:
    profiled = _thumbnail(tmp_path, ProcessingProfile(thumbnail_size=96).job_params())
    assert (profiled["width"], profiled["height"]) == (96, 60)
    assert Path(profiled["thumbnail"]).is_file()
    default = _thumbnail(tmp_path, ProcessingProfile().job_params())
    assert (default["width"], default["height"]) == (256, 160), "no size in the profile: the setting"


def _finished(kind: str, state: JobState, output: dict[str, Any] | None = None) -> JobDocument:
    doc = make_job(kind, 5, 1)  # type: ignore[arg-type]
    doc.id = 11
    doc.state = state
    doc.steps[-1].status = StepStatus.COMPLETED if state == JobState.COMPLETED else StepStatus.FAILED
    doc.steps[-1].output = output or {}
    doc.error = None if state == JobState.COMPLETED else "render_thumbnail: the file is empty"
    return doc


@pytest.mark.parametrize(
    ("kind", "state", "output", "title", "body"),
    [
        ("render", JobState.COMPLETED, None, "Rendered rock.obj", ""),
        ("render", JobState.FAILED, None, "Render failed: rock.obj", "render_thumbnail: the file is empty"),
        (
            "analysis",
            JobState.COMPLETED,
            {"complexity": 0.42, "shots": [{}, {}]},
            "Analysed shot rock.obj",
            "Complexity 0.42, 2 shots. Open it to see the plot.",
        ),
    ],
)
def test_a_single_job_from_a_menu_says_how_it_went(
    kind: str, state: JobState, output: dict[str, Any] | None, title: str, body: str
) -> None:
    tracker = BatchTracker()
    doc = _finished(kind, state, output)
    tracker.add_jobs("user:one", kind, [doc])
    tracker.name_assets("user:one", {5: "rock.obj"})
    assert tracker.close("user:one", kind) is None, "not before its job finished"
    summary = tracker.finish(doc)
    assert summary is not None
    assert (summary.title, summary.body) == (title, body)
    assert summary.failed == (state == JobState.FAILED)
    assert summary.target.get("open_viewer", False) == (kind == "analysis")
