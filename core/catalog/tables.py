"""Catalog tables (SQLModel). Rows never leave core/: callers get the plain records of records.py.

Indexes are chosen for the grid's keyset pages at 1,000,000 assets: every sort order the UI offers has
an index that starts with ``project_id`` and ends with ``id`` so a page is an index range scan.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class Project(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    description: str = ""
    created_at: float
    updated_at: float


class Asset(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("project_id", "content_hash", name="uq_asset_project_hash"),
        Index("ix_asset_project_name", "project_id", "name", "id"),
        Index("ix_asset_project_kind_name", "project_id", "kind", "name", "id"),
        Index("ix_asset_project_created", "project_id", "created_at", "id"),
        Index("ix_asset_project_size", "project_id", "size_bytes", "id"),
        # Migration 0005: sort by rating (and rating >= N) is a range scan; a label filter in the
        # default name order walks only that label's rows.
        Index("ix_asset_project_rating", "project_id", "rating", "id"),
        # Migration 0008: rating after the id (same order) makes "red and >= 4 stars" an index-only
        # count. Not stack_top: the index would then cover the hidden-versions probe and win over
        # its partial index (a scan of the project instead of one probe).
        Index("ix_asset_project_label_name", "project_id", "label", "name", "id", "rating"),
        # Migration 0007: a stack's versions in order (core.catalog.stacks).
        Index("ix_asset_project_stack", "project_id", "stack_key", "version", "id"),
        # Whether a project hides any version at all: the grid skips the stack filter when not.
        Index("ix_asset_hidden_versions", "project_id", sqlite_where=text("NOT stack_top")),
        # Migration 0008: every sort and filter column by id, so many search matches are sorted
        # without reading asset rows (core.catalog.search_plan).
        Index(
            "ix_asset_sort_keys",
            "id",
            "project_id",
            "stack_top",
            "kind",
            "name",
            "created_at",
            "size_bytes",
            "rating",
            "label",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    name: str
    path: str
    kind: str
    content_hash: str
    size_bytes: int = 0
    status: str = "pending"  # pending | ready | failed
    error: str | None = None
    metadata_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    thumbnail: str | None = None
    copied: bool = False
    frame_first: int | None = None
    frame_last: int | None = None
    tags_text: str = ""  # denormalised tag names, kept for full-text search
    notes: str = ""
    created_at: float
    modified_at: float
    rating: int = 0
    label: str = "none"
    # Version stacks (migration 0007): versions of one shot share a key; the grid shows the stack's top.
    stack_key: str | None = None
    version: int | None = None
    stack_top: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, default=True, server_default="1")
    )


class Playlist(SQLModel, table=True):
    """A review session (migration 0007): an ordered list of assets of one project."""

    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_playlist_project_name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    name: str
    created_at: float
    updated_at: float


class PlaylistItem(SQLModel, table=True):
    __tablename__ = "playlist_item"
    __table_args__ = (
        Index("ix_playlist_item_order", "playlist_id", "position"),
        Index("ix_playlist_item_asset", "asset_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    playlist_id: int = Field(foreign_key="playlist.id", ondelete="CASCADE")
    asset_id: int = Field(foreign_key="asset.id", ondelete="CASCADE")
    position: int


class Tag(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("asset_id", "name", name="uq_tag_asset_name"),
        Index("ix_tag_name_asset", "name", "asset_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="asset.id", ondelete="CASCADE")
    name: str
    source: str = "user"  # user | ai
    confidence: float | None = None
    is_category: bool = False
    # A user's correction of an AI category is kept: a rejected tag is hidden and never re-added by AI.
    rejected: bool = False


class SavedSearch(SQLModel, table=True):
    """A named query of one project (migration 0005); the query is JSON so new filters need no migration."""

    __tablename__ = "saved_search"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_saved_search_project_name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", ondelete="CASCADE")
    name: str
    query_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: float


class Artifact(SQLModel, table=True):
    __table_args__ = (Index("ix_artifact_asset_kind", "asset_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="asset.id", ondelete="CASCADE")
    kind: str  # thumbnail | preview | turntable | filmstrip | enhanced | focus_crop ...
    path: str
    size: int | None = None
    backend: str | None = None
    created_at: float
    meta_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))


class Job(SQLModel, table=True):
    __table_args__ = (
        Index("ix_job_state", "state"),
        Index("ix_job_created", "created_at"),
        Index("ix_job_asset", "asset_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    asset_id: int | None = None
    project_id: int | None = None
    state: str
    attempts: int = 0
    error: str | None = None
    device: str | None = None
    progress: float = 0.0
    message: str = ""
    created_at: float
    updated_at: float
    params_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    steps_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    # The lease (migration 0003): "host:pid:nonce" of the process running or queueing the job.
    owner: str | None = None
    lease_expires_at: float | None = None
    # Queue order (migration 0006): higher runs first, see core.jobs.model.Priority.
    priority: int = Field(
        default=20, sa_column=Column(Integer, nullable=False, default=20, server_default="20")
    )


class Notification(SQLModel, table=True):
    __table_args__ = (Index("ix_notification_created", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # ingest | render | mention | task_assigned | comment | error
    title: str
    body: str = ""
    level: str = "info"  # info | warning | error
    created_at: float
    read: bool = False
    target_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))


class AssetOrderGeneration(SQLModel, table=True):
    """One row (migration 0008), moved on by triggers whenever an asset is added, removed or changes a
    sort column: the sampled checkpoints of core.catalog.checkpoints hold only while it stays put."""

    __tablename__ = "asset_order_generation"

    id: int | None = Field(default=None, primary_key=True)
    n: int


class AssetKindCount(SQLModel, table=True):
    """Maintained by triggers (migration 0002): assets per project and kind, for instant counts."""

    __tablename__ = "asset_kind_count"
    __table_args__ = {"sqlite_with_rowid": False}

    project_id: int = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    n: int


class TagCount(SQLModel, table=True):
    """Maintained by triggers (migration 0002): unrejected tags per project and name."""

    __tablename__ = "tag_count"
    __table_args__ = {"sqlite_with_rowid": False}

    project_id: int = Field(primary_key=True)
    name: str = Field(primary_key=True)
    n: int
    n_category: int
