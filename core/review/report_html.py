"""The review report as one self-contained HTML page: pictures are inline JPEGs, drawings inline SVG.

Every piece of text that came from a user or a file (names, notes, reasons, paths) is escaped: a note
reading ``<script>`` is shown, never run, in the client's browser. The page prints one item per page.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from core.review.report_frames import drawing_svg

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from core.catalog.records import AssetRecord
    from core.review.report import Report, ReportItem
    from core.review.report_frames import Picture

    PictureOf = Callable[[AssetRecord, int | None], Picture | None]

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1d1d1f; margin: 2em auto; max-width: 980px; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } .dim { color: #6e6e73; }
section.item { border-top: 1px solid #d2d2d7; padding: 1.2em 0; page-break-inside: avoid; }
section.item h2 { font-size: 1.2em; margin: 0 0 0.3em; }
.status { display: inline-block; padding: 0.1em 0.6em; border-radius: 1em; font-size: 0.85em; }
.approved { background: #d1f5d9; } .changes_requested { background: #ffd9d6; }
.pending { background: #fff1c2; }
.note { display: flex; gap: 1em; margin: 0.8em 0; align-items: flex-start; }
.frame { position: relative; flex: 0 0 auto; line-height: 0; }
.frame img { max-width: 420px; height: auto; border-radius: 4px; }
.frame svg.drawing { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
.body { white-space: pre-wrap; } .meta { color: #6e6e73; font-size: 0.85em; }
table.summary { border-collapse: collapse; margin: 1em 0; }
table.summary td, table.summary th { border-bottom: 1px solid #e5e5ea; padding: 0.25em 0.8em; }
@media print { section.item { page-break-before: always; } }
"""


def render_html(report: Report, picture_of: PictureOf) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(report.title)} - review report</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{esc(report.title)}</h1>",
        f'<p class="dim">Project {esc(report.project)} &middot; {len(report.items)} items &middot; '
        f"{report.note_count} notes &middot; exported {esc(report.created_at)}</p>",
        _summary(report),
    ]
    parts.extend(_item(item, picture_of) for item in report.items)
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(report: Report, path: Path, picture_of: PictureOf) -> None:
    path.write_text(render_html(report, picture_of), encoding="utf-8")


def _summary(report: Report) -> str:
    rows = "".join(
        f"<tr><td>{item.position}</td><td>{html.escape(item.asset.name)}</td>"
        f'<td><span class="status {_status_class(item)}">{html.escape(item.review_words)}</span></td>'
        f"<td>{len(item.notes)}</td></tr>"
        for item in report.items
    )
    return (
        f'<table class="summary"><tr><th>#</th><th>Asset</th><th>Review</th><th>Notes</th></tr>{rows}</table>'
    )


def _status_class(item: ReportItem) -> str:
    return item.review_status if item.review_status in ("approved", "changes_requested") else "pending"


def _item(item: ReportItem, picture_of: PictureOf) -> str:
    esc = html.escape
    asset = item.asset
    version = f" &middot; v{asset.version:03d}" if asset.version is not None else ""
    reason = f' <span class="dim">{esc(item.review_reason)}</span>' if item.review_reason else ""
    out = [
        f'<section class="item" id="item-{item.position}">',
        f"<h2>{item.position}. {esc(asset.name)}</h2>",
        f'<p class="dim">{esc(str(asset.kind))}{version} &middot; {esc(asset.path)}</p>',
        f'<p><span class="status {_status_class(item)}">{esc(item.review_words)}</span>{reason}</p>',
    ]
    if not item.notes:
        picture = picture_of(asset, None)
        out.append(f'<div class="note">{_frame(picture, None)}<div class="meta">No notes.</div></div>')
    for note in item.notes:
        picture = picture_of(asset, note.frame)
        where = "Whole asset" if note.frame is None else f"Frame {note.frame}"
        out.append(
            f'<div class="note">{_frame(picture, note.annotation)}<div>'
            f'<div class="meta">{esc(where)} &middot; {esc(note.author)} &middot; '
            f"{esc(note.created_at)}</div>"
            f'<div class="body">{esc(note.body)}</div></div></div>'
        )
    out.append("</section>")
    return "\n".join(out)


def _frame(picture: Picture | None, annotation: object) -> str:
    if picture is None:
        return '<div class="frame meta">(picture unavailable)</div>'
    data = base64.b64encode(picture.jpeg).decode("ascii")
    drawing = drawing_svg(annotation, picture.width, picture.height)
    return (
        f'<div class="frame"><img src="data:image/jpeg;base64,{data}" width="{picture.width}" '
        f'height="{picture.height}" alt="">{drawing}</div>'
    )
