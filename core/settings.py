"""User settings: a versioned pydantic model stored as JSON in the config dir.

Environment variables ``STRATOPIPE_<FIELD>`` (upper case) override stored values for one run, which is
how CI, benchmarks and studio launch scripts pin behaviour without editing a profile.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from core.json_files import write_json_atomically
from core.notify import NotificationKind

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

SETTINGS_SCHEMA_VERSION = 1
ENV_PREFIX = "STRATOPIPE_"

NotifyMode = Literal["immediate", "batched", "off"]


SYNC_JOURNAL_DAYS = 90.0


class Settings(BaseModel):
    schema_version: int = SETTINGS_SCHEMA_VERSION

    # Ingest limits: anything beyond them fails with a clear per-file error instead of eating memory.
    max_file_size_mb: int = Field(default=8192, ge=1)
    max_image_pixels: int = Field(default=250_000_000, ge=1)
    # Decoded pixels held at once by ingest's decoders; an image that alone could not fit is refused.
    ingest_memory_mb: int = Field(default=2048, ge=64)
    copy_into_library: bool = False
    # Root name -> this machine's folder for it ({"show": "/mnt/show"} here, "S:\\show" on Windows):
    # assets under a root also remember their place relative to it, so a catalog moves between machines.
    roots: dict[str, str] = Field(default_factory=dict)

    # Thumbnails
    thumbnail_size: int = Field(default=256, ge=32, le=2048)
    # Media fetched from teammates (core/sync/media_cache): least recently used files go beyond this.
    media_cache_mb: int = Field(default=20480, ge=64)
    media_threads: int = Field(default=0, ge=0, description="0 = one per CPU core")

    # Rendering
    render_backend: Literal["pyrender", "blender"] = "pyrender"
    blender_path: str = ""
    render_timeout_s: float = Field(default=120.0, gt=0)
    render_memory_mb: int = Field(default=4096, ge=256)

    # Jobs: a step that yields no progress for this long is stopped, then retried or failed (every lane;
    # core/jobs/watchdog.py). Per step name: {"analysis": 1800}.
    stall_timeout_s: float = Field(default=300.0, gt=0)
    step_stall_timeouts: dict[str, float] = Field(default_factory=dict)

    # AI
    model_dir: str = ""
    inference_device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    # Models switched off in Preferences ▸ Models (by manifest name): each task falls back to its
    # next model, then to the classical method.
    disabled_models: list[str] = Field(default_factory=list)
    # The grid shows a square crop around a small or off-centre subject (core.ai.cam); the whole
    # picture stays one key (O) away.
    focus_thumbnails: bool = True

    # "Open with" in the grid's menu: label -> program (a path, or a name found on PATH)
    open_with: dict[str, str] = Field(default_factory=dict)

    # Viewer colour: an OpenColorIO config file; empty = $OCIO if set, else OCIO's built-in ACES config.
    ocio_config: str = ""

    # Watch folders (core/watch): how often folders are listed, how long a file or a sequence must stay
    # unchanged before it is ingested, and whether file-system events wake the watcher early.
    watch_poll_s: float = Field(default=2.0, gt=0)
    watch_settle_s: float = Field(default=3.0, ge=0)
    watch_sequence_quiet_s: float = Field(default=10.0, ge=0)
    watch_rescan_s: float = Field(default=60.0, gt=0)
    watch_events: bool = True

    # Where render and inference steps run: this machine's lanes, or a Dask cluster (core/farm). An
    # unreachable scheduler means the local lanes, said in the log, the status bar and on stderr.
    execution: Literal["local", "dask"] = "local"
    dask_scheduler: str = ""  # "tcp://farm:8786"
    # Studio mounts as this machine and the farm's workers name them: [{"local": "/mnt/proj",
    # "remote": "P:\\proj"}]. A file no pair covers is sent as bytes, up to farm_ship_max_mb.
    path_mappings: list[dict[str, str]] = Field(default_factory=list)
    farm_ship_max_mb: int = Field(default=256, ge=1)
    farm_connect_timeout_s: float = Field(default=5.0, gt=0)

    # Collaboration
    server_url: str = ""
    username: str = ""
    # The studio's own certificate authority (PEM) for wss://, trusted besides the system's CAs.
    ca_file: str = ""
    # Accepted changes are kept this long after their event arrived (core/sync/local_outbox): should the
    # studio server be restored from an older backup, they are sent again. Older backups than this
    # cannot be made whole from this machine; the journal stops growing without bound.
    sync_journal_days: float = Field(default=SYNC_JOURNAL_DAYS, gt=0)

    # Notifications, per kind
    notify_ingest: NotifyMode = "batched"
    notify_render: NotifyMode = "batched"
    notify_mention: NotifyMode = "immediate"
    notify_task_assigned: NotifyMode = "immediate"
    notify_comment: NotifyMode = "batched"
    notify_alert: NotifyMode = "immediate"

    @field_validator("open_with", "roots", "path_mappings", "step_stall_timeouts", mode="before")
    @classmethod
    def _open_with_from_json(cls, value: object) -> object:
        # An environment override arrives as text: STRATOPIPE_OPEN_WITH='{"Nuke": "/opt/nuke/Nuke15"}',
        # STRATOPIPE_ROOTS='{"show": "/mnt/show"}'.
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("disabled_models", mode="before")
    @classmethod
    def _names_from_env(cls, value: object) -> object:
        # STRATOPIPE_DISABLED_MODELS=a,b: an environment variable is a string, not a list.
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    def notify_mode(self, kind: NotificationKind) -> NotifyMode:
        modes: dict[NotificationKind, NotifyMode] = {
            NotificationKind.INGEST: self.notify_ingest,
            NotificationKind.RENDER: self.notify_render,
            NotificationKind.MENTION: self.notify_mention,
            NotificationKind.TASK_ASSIGNED: self.notify_task_assigned,
            NotificationKind.COMMENT: self.notify_comment,
            NotificationKind.ALERT: self.notify_alert,
        }
        return modes[kind]

    @property
    def max_file_size_bytes(self) -> int:
        return self.max_file_size_mb * 1024 * 1024


def env_variable(field: str) -> str:
    return ENV_PREFIX + field.upper()


def env_overrides() -> dict[str, str]:
    """Fields pinned by an environment variable for this run -> the variable's name."""
    return {name: env_variable(name) for name in Settings.model_fields if env_variable(name) in os.environ}


def _env_values() -> dict[str, str]:
    return {name: os.environ[variable] for name, variable in env_overrides().items()}


def load_settings(path: Path) -> Settings:
    """Read settings, tolerating a missing or broken file (logged, defaults used, file kept)."""
    stored: dict[str, object] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                stored = loaded
            else:
                log.warning("Settings file %s is not a JSON object; using defaults", path)
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("Cannot read settings file %s (%s); using defaults", path, exc)
    stored["schema_version"] = SETTINGS_SCHEMA_VERSION
    try:
        base = Settings.model_validate(stored)
    except ValidationError as exc:
        log.warning("Settings file %s has invalid values (%s); using defaults", path, exc)
        base = Settings()
    overrides = _env_values()
    if not overrides:
        return base
    return Settings.model_validate({**base.model_dump(), **overrides})


def save_settings(settings: Settings, path: Path) -> None:
    """Write atomically so a crash mid-write never leaves a truncated settings file.

    A value pinned by an environment variable for this run is not the user's choice: the file keeps
    what it had (or the default) for those fields.
    """
    data = settings.model_dump(mode="json")
    pinned = env_overrides()
    if pinned:
        stored: dict[str, object] = {}
        if path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                stored = loaded if isinstance(loaded, dict) else {}
            except (OSError, json.JSONDecodeError):
                stored = {}
        defaults = Settings().model_dump(mode="json")
        for name in pinned:
            data[name] = stored.get(name, defaults[name])
    write_json_atomically(path, data)
