"""Processing profiles decide the follow-up jobs; bad values are refused with a clear message."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from core.jobs.model import JobState
from core.media.kinds import AssetKind
from core.pipeline import JobKind, build_registry, jobs_after, jobs_after_ingest
from core.profiles import ProcessingProfile, ProfileBook, ProfileError, load_profiles, save_profiles

if TYPE_CHECKING:
    from pathlib import Path

    from core.jobs.model import JobDocument


def _completed(doc: JobDocument) -> JobDocument:
    doc.state = JobState.COMPLETED
    return doc


def _chain(kind: AssetKind, profile: ProcessingProfile) -> list[tuple[str, tuple[str, ...]]]:
    """Every job an asset goes through when each one completes."""
    registry = build_registry()
    queue = jobs_after_ingest(7, 1, kind, registry, profile)
    ran: list[tuple[str, tuple[str, ...]]] = []
    while queue:
        doc = _completed(queue.pop(0))
        ran.append((doc.kind, tuple(s.name for s in doc.steps)))
        queue.extend(jobs_after(doc, kind, registry))
    return ran


def test_the_default_profile_keeps_the_usual_chain() -> None:
    assert [k for k, _ in _chain(AssetKind.IMAGE, ProcessingProfile())] == [
        JobKind.THUMBNAIL,
        JobKind.CLASSIFY,
    ]
    assert [k for k, _ in _chain(AssetKind.GEOMETRY, ProcessingProfile())] == [
        JobKind.THUMBNAIL,
        JobKind.RENDER,
        JobKind.CLASSIFY,
    ]


def test_ai_off_queues_no_classify_job() -> None:
    profile = ProcessingProfile().with_settings(["ai=false"])
    assert [k for k, _ in _chain(AssetKind.IMAGE, profile)] == [JobKind.THUMBNAIL]
    assert JobKind.CLASSIFY not in [k for k, _ in _chain(AssetKind.VIDEO, profile)]


def test_render_choices_reach_the_render_jobs() -> None:
    profile = ProcessingProfile().with_settings(
        ["render_preview=no", "turntable=yes", "turntable_frames=12", "render_backend=blender", "ai=0"]
    )
    registry = build_registry()
    thumbnail = _completed(jobs_after_ingest(7, 1, AssetKind.GEOMETRY, registry, profile)[0])
    (render,) = jobs_after(thumbnail, AssetKind.GEOMETRY, registry)
    assert [s.name for s in render.steps] == ["render_thumbnail"]
    assert render.params["backend"] == "blender"
    (turntable,) = jobs_after(_completed(render), AssetKind.GEOMETRY, registry)
    assert turntable.kind == JobKind.TURNTABLE
    assert turntable.params["frames"] == 12


def test_video_off_skips_filmstrips() -> None:
    profile = ProcessingProfile(video=False)
    assert [k for k, _ in _chain(AssetKind.SEQUENCE, profile)] == [JobKind.THUMBNAIL, JobKind.CLASSIFY]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("ai=perhaps", "valid boolean"),
        ("colour=red", "unknown setting"),
        ("turntable_frames=1", "greater than or equal to 2"),
        ("ai", "expected key=value"),
    ],
)
def test_invalid_settings_say_what_is_wrong(setting: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        ProcessingProfile().with_settings([setting])


def test_profiles_are_named_duplicated_and_chosen_per_project(tmp_path: Path) -> None:
    book = ProfileBook()
    quick = book.duplicate("default", "quick")
    book.save_profile(quick.with_settings(["ai=false", "render=false"]))
    book.choose_for_project("Show", "quick")
    file = tmp_path / "profiles.json"
    save_profiles(book, file)
    loaded = load_profiles(file)
    assert loaded.for_ingest("Show").ai is False
    assert loaded.for_ingest("Other").ai is True
    assert loaded.for_ingest("Show", "default").render is True
    with pytest.raises(ProfileError, match="no profile named 'slow'"):
        loaded.for_ingest("Show", "slow")
    with pytest.raises(ProfileError, match="exists already"):
        loaded.duplicate("quick", "default")
    loaded.remove("quick")
    assert loaded.for_ingest("Show").name == "default"
