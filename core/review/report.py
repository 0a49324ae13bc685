"""A review report of a playlist: each item in play order with its review status and notes.

The report is plain data (``Report``) built from the catalog's playlist and a ``NotesSource`` (the
notes and review statuses live in the sync store, which this module does not know), then written as
CSV (one row per note, for a spreadsheet or a tracker import) or as one self-contained HTML page
(``core.review.report_html``: pictures of the noted frames with their drawings, no external files, so
it can be mailed to a client as is).

Frame numbers are the clip's own (a sequence's file numbers, a video's frame from its start), as
everywhere notes are shown.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from core.catalog.records import AssetRecord

__all__ = ["CSV_COLUMNS", "NotesSource", "Report", "ReportItem", "ReportNote", "build_report", "write_csv"]

# core.sync.protocol.ReviewStatus, as the grid's badges say them.
REVIEW_WORDS = {
    "pending": "Pending review",
    "approved": "Approved",
    "changes_requested": "Changes requested",
}


@dataclass(frozen=True)
class ReportNote:
    frame: int | None  # the clip's own frame number; None for a still or a note on the whole asset
    author: str
    body: str
    created_at: str
    annotation: Any = None  # the drawing, as stored with the note (normalised strokes)


@dataclass(frozen=True)
class ReportItem:
    position: int  # 1-based place in the playlist
    asset: AssetRecord
    review_status: str
    review_reason: str
    notes: tuple[ReportNote, ...]

    @property
    def review_words(self) -> str:
        return REVIEW_WORDS.get(self.review_status, "Pending review")


@dataclass(frozen=True)
class Report:
    title: str
    project: str
    created_at: str
    items: tuple[ReportItem, ...]

    @property
    def note_count(self) -> int:
        return sum(len(item.notes) for item in self.items)


class NotesSource(Protocol):
    def notes_for(self, asset: AssetRecord) -> list[ReportNote]:
        """The asset's notes, oldest first (deleted ones left out)."""
        ...

    def review_of(self, asset: AssetRecord) -> tuple[str, str]:
        """(status, reason) of the asset as this machine knows it."""
        ...


def build_report(
    title: str, project: str, created_at: str, assets: Sequence[AssetRecord], source: NotesSource
) -> Report:
    items = []
    for position, asset in enumerate(assets, 1):
        status, reason = source.review_of(asset)
        notes = sorted(source.notes_for(asset), key=lambda n: (n.frame is None, n.frame or 0, n.created_at))
        items.append(ReportItem(position, asset, status, reason, tuple(notes)))
    return Report(title, project, created_at, tuple(items))


CSV_COLUMNS = (
    "position",
    "asset",
    "version",
    "kind",
    "review_status",
    "review_reason",
    "frame",
    "author",
    "note",
    "has_drawing",
    "written_at",
    "path",
)


def write_csv(report: Report, path: Path) -> None:
    """One row per note; an item without notes still gets a row (its review status is news too)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for item in report.items:
            base = [
                item.position,
                item.asset.name,
                item.asset.version if item.asset.version is not None else "",
                str(item.asset.kind),
                item.review_words,
                item.review_reason,
            ]
            for note in item.notes or (None,):
                if note is None:
                    writer.writerow([*base, "", "", "", "", "", item.asset.path])
                    continue
                writer.writerow([
                    *base,
                    "" if note.frame is None else note.frame,
                    note.author,
                    note.body,
                    "yes" if _has_strokes(note.annotation) else "no",
                    note.created_at,
                    item.asset.path,
                ])  # fmt: skip


def _has_strokes(annotation: Any) -> bool:
    return isinstance(annotation, dict) and bool(annotation.get("strokes"))
