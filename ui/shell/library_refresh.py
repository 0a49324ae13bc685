"""Keeps the library's widgets in step with the catalog: the grid (keeping selection and scroll), the
sidebar's counts and the tag filter, the inspector and the viewer, after ingest, edits, curation, a
finished job or a split sequence. Count queries are throttled: edits and ingest come in bursts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from superqt.utils import qthrottled

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.ingest import IngestReport
    from ui.library.asset_grid import AssetGrid
    from ui.library.asset_model import AssetListModel
    from ui.library.filmstrip import FilmstripCache
    from ui.library.inspector import Inspector
    from ui.library.sidebar import Sidebar
    from ui.library.thumbnail_cache import ThumbnailCache
    from ui.viewer.viewer import AssetViewer


class LibraryRefresh(QObject):
    # A QObject child of the window: Qt drops its connections with it, so a job or ingest that ends
    # after the window is gone touches no deleted widget.
    def __init__(
        self,
        parent: QObject,
        catalog: Catalog,
        model: AssetListModel,
        grid: AssetGrid,
        sidebar: Sidebar,
        inspector: Inspector,
        viewer: AssetViewer,
        caches: tuple[ThumbnailCache, FilmstripCache],
        tell: Callable[[str, int], None],
    ) -> None:
        super().__init__(parent)
        self._catalog, self._model, self._grid = catalog, model, grid
        self._sidebar, self._inspector, self._viewer = sidebar, inspector, viewer
        self._thumbnails, self._filmstrips = caches
        self._tell = tell

    def refresh(self) -> None:
        """View ▸ Refresh (F5): everything re-read, thumbnails too."""
        self._thumbnails.clear()
        self._sidebar.reload_projects()
        self.refresh_grid()

    def refresh_grid(self) -> None:
        """Re-read the grid keeping the selection and scroll position (new assets may shift rows)."""
        view = self._grid.active_view
        selected = [r.id for r in self._grid.selected_records()]
        scroll = view.verticalScrollBar().value()
        self._model.refresh()
        for asset_id in selected:
            row = self._model.row_of(asset_id)
            if row is not None:
                view.selectionModel().select(
                    view.model().index(row, 0),
                    view.selectionModel().SelectionFlag.Select | view.selectionModel().SelectionFlag.Rows,
                )
        view.verticalScrollBar().setValue(scroll)

    @qthrottled(timeout=1000, leading=False)
    def refresh_counts(self) -> None:
        """Sidebar counts and tag filter after ingest or edits (a few GROUP BYs, throttled)."""
        self._sidebar.reload_projects()
        project = self._sidebar.current_project
        if project is not None:
            self._grid.filter_bar.set_tags(self._catalog.tag_counts(project.id))

    @qthrottled(timeout=800)
    def refresh_after_ingest(self) -> None:
        self.refresh_grid()
        self.refresh_counts()

    def on_sequence_split(self, sequence_id: int, report: IngestReport) -> None:
        self._model.remove_assets([sequence_id])
        self.refresh_grid()
        self.refresh_counts()
        failed = f", {len(report.failures)} frame(s) could not be read" if report.failures else ""
        self._tell(f"Split into {len(report.added)} images{failed}", 8000)

    def on_asset_edited(self, record: AssetRecord) -> None:
        self._model.update_assets([record])
        self.refresh_counts()

    def on_assets_curated(self, records: list[AssetRecord]) -> None:
        self._model.update_assets(records)
        self._inspector.refresh_records(records)
        self.refresh_counts()

    def on_asset_changed(self, record: AssetRecord) -> None:
        self._filmstrips.forget(record.id)
        self._model.update_assets([record])
        self._inspector.refresh_records([record])
        self._viewer.refresh_asset(record)
