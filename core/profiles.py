"""Processing profiles: which follow-up jobs an ingested asset goes through.

A profile is chosen per ingest (``--profile``), per watch folder, or per project, and a single run can
change any of its values (``--set ai=false``). The profile travels inside the job documents it produced
(``params["profile"]``), so a follow-up queued minutes later, or after a restart, obeys the profile its
ingest was given rather than whatever the profile book says by then.

Profiles live in ``profiles.json`` in the config dir, beside ``settings.json``: they are configuration
like the settings (edited by hand or by the CLI, one per machine, validated on load) and keeping them out
of the catalog spares a migration that every other catalog change would have to chain around.

A thumbnail is not optional: it is how the grid shows an asset, and every other follow-up starts after it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.json_files import read_model, write_json_atomically

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from core.paths import AppPaths

log = logging.getLogger(__name__)

PROFILES_SCHEMA_VERSION = 1
DEFAULT_PROFILE = "default"
# The job-document parameter that carries a profile's values to the follow-ups.
PROFILE_PARAM = "profile"


class ProfileError(ValueError):
    """A profile name, value or ``key=value`` setting that cannot be used; the message says why."""


class ProcessingProfile(BaseModel):
    """The follow-up steps an ingest queues, and how they run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default=DEFAULT_PROFILE, min_length=1, max_length=64)
    render: bool = Field(default=True, description="render 3D models (thumbnail render)")
    render_preview: bool = Field(default=True, description="also render a large preview of 3D models")
    turntable: bool = Field(default=False, description="render a turntable movie of 3D models")
    turntable_frames: int = Field(default=36, ge=2, le=720)
    render_backend: Literal["pyrender", "blender"] | None = Field(
        default=None, description="None: the render_backend setting"
    )
    video: bool = Field(default=True, description="filmstrip and scene cuts of videos and sequences")
    ai: bool = Field(default=True, description="AI categories and focus crop")
    thumbnail_size: int | None = Field(
        default=None, ge=32, le=2048, description="None: the thumbnail_size setting"
    )
    priority: Literal["low", "normal", "high"] = Field(
        default="normal", description="queue order of this profile's jobs against other work"
    )

    def with_settings(self, assignments: Iterable[str]) -> ProcessingProfile:
        """This profile with ``key=value`` changes applied (values parsed as the field's type)."""
        changes: dict[str, str] = {}
        for assignment in assignments:
            key, sep, value = assignment.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ProfileError(f"--set {assignment!r}: expected key=value")
            if key not in _SETTABLE:
                raise ProfileError(f"--set {key}: unknown setting (known: {', '.join(sorted(_SETTABLE))})")
            changes[key] = value.strip()
        return _validated({**self.model_dump(), **changes}, "--set")

    def job_params(self) -> dict[str, Any]:
        """What a job document carries so that its follow-ups obey this profile."""
        return {PROFILE_PARAM: self.model_dump(mode="json")}

    @classmethod
    def from_job_params(cls, params: Mapping[str, Any]) -> ProcessingProfile:
        """The profile a job was queued under (the default one for jobs from before profiles)."""
        stored = params.get(PROFILE_PARAM)
        if not isinstance(stored, dict):
            return cls()
        try:
            return cls.model_validate(stored)
        except ValidationError:
            log.warning("A job carries an invalid profile %r; following the default profile", stored)
            return cls()


_SETTABLE = frozenset(ProcessingProfile.model_fields) - {"name"}


def thumbnail_size_for(params: Mapping[str, Any], default: int) -> int:
    """The thumbnail size of the profile a job carries, else ``default`` (the setting)."""
    stored = params.get(PROFILE_PARAM)
    size = stored.get("thumbnail_size") if isinstance(stored, dict) else None
    return int(size) if isinstance(size, int) and 32 <= size <= 2048 else default


def _validated(data: Mapping[str, object], where: str) -> ProcessingProfile:
    try:
        return ProcessingProfile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}={error.get('input')!r}: {error['msg']}"
            for error in exc.errors()
        )
        raise ProfileError(f"{where}: {problems}") from None


class ProfileBook(BaseModel):
    """The named profiles of this machine and the one each project uses by default."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = PROFILES_SCHEMA_VERSION
    profiles: dict[str, ProcessingProfile] = Field(default_factory=dict)
    project_profiles: dict[str, str] = Field(default_factory=dict)

    def get(self, name: str) -> ProcessingProfile:
        if name == DEFAULT_PROFILE and name not in self.profiles:
            return ProcessingProfile()
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(self.names())
            raise ProfileError(f"no profile named {name!r} (known: {known})") from None

    def names(self) -> list[str]:
        return sorted({DEFAULT_PROFILE, *self.profiles})

    def for_ingest(self, project: str, name: str | None = None) -> ProcessingProfile:
        """The profile named for this ingest, else the project's, else the default one."""
        return self.get(name or self.project_profiles.get(project, DEFAULT_PROFILE))

    def save_profile(self, profile: ProcessingProfile) -> None:
        self.profiles[profile.name] = profile

    def duplicate(self, source: str, new_name: str) -> ProcessingProfile:
        if new_name in self.names():
            raise ProfileError(f"a profile named {new_name!r} exists already")
        copy = _validated({**self.get(source).model_dump(), "name": new_name}, "profile name")
        self.save_profile(copy)
        return copy

    def remove(self, name: str) -> None:
        if name == DEFAULT_PROFILE:
            raise ProfileError("the default profile cannot be removed (change its values instead)")
        self.get(name)
        del self.profiles[name]
        self.project_profiles = {p: n for p, n in self.project_profiles.items() if n != name}

    def choose_for_project(self, project: str, name: str) -> None:
        self.get(name)
        self.project_profiles[project] = name


def profiles_file(paths: AppPaths) -> Path:
    return paths.config_dir / "profiles.json"


def load_profiles(path: Path) -> ProfileBook:
    """Read the profile book; a missing file is an empty book, a broken one is an error that says where."""
    # Unlike settings, silently falling back would run every ingest with the wrong steps.
    return read_model(path, ProfileBook, "profiles", ProfileError)


def save_profiles(book: ProfileBook, path: Path) -> None:
    """Written whole and renamed into place, so a reader never sees half a file."""
    write_json_atomically(path, book.model_dump(mode="json"))
