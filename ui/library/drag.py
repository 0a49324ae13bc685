"""Assets leaving the app as files: dragged into another application, or copied as paths.

A drag carries file URLs (``text/uri-list``, what file managers, DCCs and browsers accept) and the same
paths as plain text for text fields and terminals. A sequence goes out as its frame files: an app that
receives one file per frame understands it, a printf pattern it would not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDir, QMimeData, QUrl

from ui.common.files import asset_files

if TYPE_CHECKING:
    from collections.abc import Sequence

    from core.catalog.records import AssetRecord

URI_LIST = "text/uri-list"


def asset_mime_data(records: Sequence[AssetRecord]) -> QMimeData:
    """Every file of ``records`` as URLs (sets ``text/uri-list``) and as native paths, one per line."""
    files = [path for record in records for path in asset_files(record)]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in files])
    mime.setText("\n".join(native_path(path) for path in files))
    return mime


def paths_text(records: Sequence[AssetRecord]) -> str:
    """What "Copy path" puts on the clipboard: each asset's path as the OS writes it, one per line."""
    return "\n".join(native_path(Path(record.path)) for record in records)


def native_path(path: Path) -> str:
    return QDir.toNativeSeparators(str(path))
