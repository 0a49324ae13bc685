"""Export a playlist's review report to a file: the one path the CLI and the app both take.

Runs anywhere (a worker thread in the app): it opens its own sync-store connection for the notes and
its own decoders for the pictures, and writes the file in one go at the end.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from core.review.report import Report, build_report, write_csv

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from core.media.limits import MediaLimits

FORMATS = ("html", "csv")


def format_of(path: Path) -> str:
    """The report format a file name asks for (``.csv``, else HTML)."""
    return "csv" if path.suffix.lower() == ".csv" else "html"


def export_report(
    catalog: Catalog,
    playlist_id: int,
    output: Path,
    fmt: str,
    *,
    config_dir: Path,
    limits: MediaLimits,
) -> Report:
    from core.review.report_frames import grab_picture
    from core.review.report_html import write_html
    from core.review.report_notes import StoreNotes
    from core.sync.links import ProjectLinks
    from core.sync.local_store import LocalStore

    if fmt not in FORMATS:
        raise ValueError(f"A report is {' or '.join(FORMATS)}, not {fmt!r}")
    playlist = catalog.playlists.get(playlist_id)
    if playlist is None:
        raise ValueError("That playlist no longer exists")
    project = catalog.project(playlist.project_id)
    items = catalog.playlists.items(playlist_id)
    store = LocalStore(catalog.db_file)
    try:
        notes = StoreNotes(store, ProjectLinks.in_config_dir(config_dir))
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime())
        report = build_report(playlist.name, project.name if project else "", stamp, items, notes)
    finally:
        store.close()
    if fmt == "csv":
        write_csv(report, output)
    else:
        write_html(report, output, lambda asset, frame: grab_picture(asset, frame, limits))
    return report
