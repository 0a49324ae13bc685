"""Plain, immutable records the catalog hands out. Safe to pass through Qt signals and across threads."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from core.media.kinds import AssetKind


class SortKey(StrEnum):
    """What the grid is ordered by. Relevance applies to a search; without one it orders by name."""

    RELEVANCE = "relevance"
    NAME = "name"
    CREATED = "created"
    SIZE = "size"
    KIND = "kind"
    RATING = "rating"


class ColourLabel(StrEnum):
    """An artist's colour label on an asset (Lightroom/Bridge style); ``NONE`` is no label."""

    NONE = "none"
    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    GREEN = "green"
    BLUE = "blue"
    PURPLE = "purple"
    GREY = "grey"


MAX_RATING = 5


@dataclass(frozen=True)
class ProjectRecord:
    id: int
    name: str
    description: str
    created_at: float
    asset_count: int = 0


@dataclass(frozen=True)
class TagRecord:
    name: str
    source: str = "user"
    confidence: float | None = None
    is_category: bool = False


@dataclass(frozen=True)
class AssetRecord:
    id: int
    project_id: int
    name: str
    path: str
    kind: AssetKind
    content_hash: str
    size_bytes: int
    status: str
    error: str | None
    metadata: dict[str, Any]
    thumbnail: str | None
    copied: bool
    frame_first: int | None
    frame_last: int | None
    created_at: float
    notes: str = ""
    tags: tuple[TagRecord, ...] = ()
    rating: int = 0  # 0 (unrated) to MAX_RATING stars
    label: ColourLabel = ColourLabel.NONE
    # Version stack (core.catalog.stacks): the key shared by versions of one shot, this asset's
    # version number in it, and how many versions the stack holds (1 when unstacked).
    stack_key: str | None = None
    version: int | None = None
    stack_size: int = 1

    @property
    def is_sequence(self) -> bool:
        return self.kind == AssetKind.SEQUENCE


@dataclass(frozen=True)
class AssetQuery:
    """A grid view: which assets, in which order. ``search`` goes through FTS5.

    Every order is total (ties are broken by id) and reversible with ``descending``.
    """

    project_id: int | None = None
    kind: str | None = None
    tag: str | None = None
    search: str = ""
    sort: SortKey = SortKey.NAME
    descending: bool = False
    recent_days: float | None = None
    min_rating: int | None = None  # at least this many stars
    label: ColourLabel | None = None
    # Only assets with one of these contents: how a property kept outside the catalog (a synced review
    # status) filters the grid without the catalog knowing of it. Not saved with a search: it is a
    # snapshot of that other store, recomputed by whoever sets it.
    content_hashes: frozenset[str] | None = None
    # Every version of a version stack, not just the newest (core.catalog.stacks): the grid shows tiles.
    all_versions: bool = False

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond project and kind filters the assets (a per-kind count won't do)."""
        return bool(
            self.tag
            or self.search
            or self.recent_days
            or self.min_rating
            or self.label
            or self.content_hashes is not None
            or self.all_versions
        )


@dataclass(frozen=True)
class SavedSearch:
    """A named query (a smart collection) of one project; ``query`` carries that project's id."""

    id: int
    name: str
    query: AssetQuery


@dataclass(frozen=True)
class NewAsset:
    """What ingest hands to the catalog for one file or sequence."""

    project_id: int
    name: str
    path: str
    kind: AssetKind
    content_hash: str
    size_bytes: int
    metadata: dict[str, Any] = field(default_factory=dict)
    copied: bool = False
    frame_first: int | None = None
    frame_last: int | None = None


@dataclass(frozen=True)
class ArtifactRecord:
    id: int
    asset_id: int
    kind: str
    path: str
    size: int | None
    backend: str | None
    created_at: float
    meta: dict[str, Any]


@dataclass(frozen=True)
class NotificationRecord:
    id: int
    kind: str
    title: str
    body: str
    level: str
    created_at: float
    read: bool
    target: dict[str, Any]
