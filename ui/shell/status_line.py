"""The status bar's summary line: "1,234 assets · 2 jobs running · 5 queued · online".

The sync state at the end is a link: clicking it asks for the sign-in dialog (``sync_clicked``).
Job updates arrive in bursts, so the line is re-read from the catalog at most twice a second.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel
from superqt.utils import qthrottled

from ui.common import theme

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.catalog.catalog import Catalog


class StatusLine(QLabel):
    sync_clicked = Signal()

    def __init__(self, catalog: Catalog, asset_total: Callable[[], int]) -> None:
        super().__init__()
        self._catalog = catalog
        self._asset_total = asset_total
        self._connection_state = "offline"
        self.setTextFormat(Qt.TextFormat.RichText)
        self.linkActivated.connect(lambda _link: self.sync_clicked.emit())

    def set_connection_state(self, text: str) -> None:
        """The sync client's state in words ("online", "offline", "reconnecting in 5 s")."""
        self._connection_state = text
        self.update_text()

    def on_job_updated(self, _doc: object) -> None:
        # A method slot, not the throttled callable itself: Qt drops a method's connection when the
        # label is destroyed, so a job that ends after it (cancelled at quit) calls nothing.
        self._jobs_changed()

    @qthrottled(timeout=500)
    def _jobs_changed(self) -> None:
        self.update_text()

    def update_text(self) -> None:
        counts = self._catalog.jobs.counts()
        running = counts.get("running", 0)
        queued = counts.get("queued", 0) + counts.get("pending", 0)
        total = self._asset_total()
        parts = [
            f"{total:,} asset{'s' if total != 1 else ''}",
            f"{running} job{'s' if running != 1 else ''} running",
        ]
        if queued:
            parts.append(f"{queued:,} queued")
        state = html.escape(self._connection_state)
        parts.append(f'<a href="sync" style="color: {theme.TEXT.name()}; text-decoration: none;">{state}</a>')
        self.setText("  ·  ".join(parts))
