"""Report pieces that a client's browser sees: drawings as SVG, frame numbers, escaping, CSV rows."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from core.catalog.records import AssetRecord
from core.media.kinds import AssetKind
from core.review.report import ReportNote, build_report, write_csv
from core.review.report_frames import Picture, drawing_svg, frame_index
from core.review.report_html import render_html

if TYPE_CHECKING:
    from pathlib import Path


def record(name: str, kind: AssetKind, metadata: dict[str, object] | None = None) -> AssetRecord:
    return AssetRecord(1, 1, name, f"/shots/{name}", kind, f"h-{name}", 1, "ready", None, metadata or {},
                       None, False, None, None, 0.0)  # fmt: skip


class Notes:
    def __init__(self, notes: dict[str, list[ReportNote]]) -> None:
        self._notes = notes

    def notes_for(self, asset: AssetRecord) -> list[ReportNote]:
        return self._notes.get(asset.name, [])

    def review_of(self, asset: AssetRecord) -> tuple[str, str]:
        return ("changes_requested", "Too dark") if asset.name == "a.mov" else ("pending", "")


def test_a_drawing_scales_with_the_picture_and_its_colour_cannot_break_out() -> None:
    drawing = {"strokes": [{"colour": '"/><script>', "width": 0.01, "points": [[0.5, 0.25], [1, 1]]}]}
    svg = drawing_svg(drawing, 200, 100)
    assert 'points="100.0,25.0 200.0,100.0"' in svg
    assert 'stroke-width="2.0"' in svg
    assert "<script>" not in svg
    assert drawing_svg({"strokes": [{"points": "junk"}]}, 200, 100) == ""  # malformed: left out
    assert drawing_svg(None, 200, 100) == ""


def test_a_sequence_note_is_found_by_the_sequence_own_frame_number() -> None:
    plate = record("plate.####.exr", AssetKind.SEQUENCE, {"sequence": {"frames": [1001, 1002, 1004, 1005]}})
    assert frame_index(plate, 1004) == 2
    assert frame_index(plate, 1003) == 2  # a gap: the next frame that exists
    assert frame_index(plate, 9999) == 3
    assert frame_index(record("a.mov", AssetKind.VIDEO), 17) == 17


def test_items_keep_play_order_notes_frame_order_and_text_is_escaped(tmp_path: Path) -> None:
    notes = {
        "a.mov": [
            ReportNote(40, "sam", "later frame", "2026-05-12 10:02"),
            ReportNote(12, "sam", "<b>bold</b> & co", "2026-05-12 10:01", {"strokes": []}),
        ]
    }
    report = build_report(
        "Dailies",
        "Show",
        "now",
        [record("a.mov", AssetKind.VIDEO), record("b.png", AssetKind.IMAGE)],
        Notes(notes),
    )
    assert [n.frame for n in report.items[0].notes] == [12, 40]
    assert report.items[0].review_words == "Changes requested"
    page = render_html(report, lambda asset, frame: Picture(b"\xff\xd8", 4, 3))
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "Too dark" in page
    assert page.index("Frame 12") < page.index("Frame 40")
    out = tmp_path / "r.csv"
    write_csv(report, out)
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["asset"], r["frame"], r["review_status"]) for r in rows] == [
        ("a.mov", "12", "Changes requested"),
        ("a.mov", "40", "Changes requested"),
        ("b.png", "", "Pending review"),
    ]
