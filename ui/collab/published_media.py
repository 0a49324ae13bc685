"""The published media of the shared project: each asset a teammate published, marked *downloaded* (in
this machine's media cache) or *remote*, with Download for the selected one. The list comes from the local
store (the assets' synced records); fetching is done by whoever listens to ``fetch_requested``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.sync.media_publish import PublishedAsset, local_state, published_assets

if TYPE_CHECKING:
    from core.sync.local_store import LocalStore
    from core.sync.media_cache import MediaCache

BADGES = {"downloaded": "✓ downloaded", "remote": "☁ remote"}


class PublishedMediaPanel(QWidget):
    fetch_requested = Signal(object)  # PublishedAsset

    def __init__(self, store: LocalStore, cache: MediaCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.cache = store, cache
        self.project: int | None = None
        self._assets: list[PublishedAsset] = []
        layout = QVBoxLayout(self)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.list = QListWidget()
        self.list.itemSelectionChanged.connect(self._update_button)
        self.list.itemDoubleClicked.connect(lambda _item: self._fetch())
        self.fetch_button = QPushButton("Download")
        self.fetch_button.clicked.connect(self._fetch)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.fetch_button)
        layout.addWidget(self.notice)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.set_project(None, "Open a shared project to see what the team published.")

    def set_project(self, project: int | None, why: str = "") -> None:
        self.project = project
        self.notice.setText(why)
        self.notice.setVisible(bool(why))
        self.refresh()

    def refresh(self) -> None:
        """Read the list again (after a sync, a publish or a fetch): one query, then cache lookups."""
        chosen = self.selected()
        self._assets = published_assets(self.store, self.project) if self.project is not None else []
        self.list.clear()
        for asset in self._assets:
            state = local_state(self.cache, asset)
            size = sum(f.size for f in asset.files) / 1e6
            files = f"{len(asset.files)} files, " if len(asset.files) > 1 else ""
            item = QListWidgetItem(f"{asset.name}    {files}{size:.1f} MB    {BADGES[state]}")
            item.setData(Qt.ItemDataRole.UserRole, state)
            self.list.addItem(item)
            if chosen is not None and asset.asset_id == chosen.asset_id:
                item.setSelected(True)
        self._update_button()

    def state(self, row: int) -> str:
        return str(self.list.item(row).data(Qt.ItemDataRole.UserRole))

    def selected(self) -> PublishedAsset | None:
        rows = [index.row() for index in self.list.selectedIndexes()]
        return self._assets[rows[0]] if len(rows) == 1 and rows[0] < len(self._assets) else None

    def _update_button(self) -> None:
        asset = self.selected()
        self.fetch_button.setEnabled(asset is not None and local_state(self.cache, asset) == "remote")

    def _fetch(self) -> None:
        asset = self.selected()
        if asset is not None:
            self.fetch_button.setEnabled(False)
            self.fetch_requested.emit(asset)
