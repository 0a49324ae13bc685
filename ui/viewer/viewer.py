"""The full-size viewer: zoom around the cursor, pan, 1:1, fit, a checkerboard under alpha.

Pixels are decoded on a worker thread while a "loading" page shows; a stale decode (the user already
moved on) is dropped. Image files are kept as float pixels and shown through the colour bar's
OpenColorIO display/view, exposure and channel controls (``ui.viewer.colour_bar``).
Each kind picks what to show: images and sequences their pixels (a sequence its first frame), videos
their poster frame, geometry its best render. A kind can get its own page instead (a video player):
``AssetViewer.register_page(kind, factory)``.

On-demand products: Enhance (E) shows the original and the enhanced copy side by side with one zoom
and pan; Turntable plays a geometry's turntable; the focus toggle draws the focus-crop box. Missing
products are asked for through ``job_requested``; ``refresh_asset`` (the window calls it when a job
changed the asset) shows them once they exist. ``show_compare(a, b)``: A/B compare (``ui.viewer.compare``).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QThreadPool, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QLabel, QStackedWidget, QVBoxLayout, QWidget

from core.jobs.model import JobState
from core.media.colour import config_source
from core.media.kinds import AssetKind
from core.pipeline import JobKind, can_run
from ui.common.formatting import KIND_LABELS
from ui.viewer.colour_bar import ColourBar
from ui.viewer.compare import CompareBar
from ui.viewer.image_canvas import Decoded, ImageCanvas, decode_for_viewer, decode_to_qimage
from ui.viewer.picture_stage import PictureStage
from ui.viewer.still_page import StillPage
from ui.viewer.still_source import nothing_to_show, still_for
from ui.viewer.turntable import turntable_page
from ui.viewer.viewer_bar import ViewerBar
from ui.viewer.viewer_keys import viewer_shortcuts
from ui.viewer.viewer_parts import ClipCompareFactory, PageFactory, focus_rect, newest_file

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.jobs.model import JobDocument
    from core.media.limits import MediaLimits
    from ui.common.viewer_page import ViewerPage
    from workers.background import BackgroundWork

__all__ = ["AssetViewer", "ImageCanvas", "decode_to_qimage", "focus_rect"]

log = logging.getLogger(__name__)


class AssetViewer(QWidget):
    closed = Signal()
    navigate = Signal(int)  # -1 previous, +1 next
    loaded = Signal(object)  # AssetRecord whose pixels are now shown (tests, status)
    asset_shown = Signal(object)  # AssetRecord about to be shown (sync: comments follow it)
    page_changed = Signal(object)  # the ViewerPage now shown (a player, a turntable, the still canvas)
    compare_shown = Signal(object)  # AssetRecord whose enhanced copy is now shown beside the original
    job_requested = Signal(str, object)  # JobKind (enhance, turntable), AssetRecord

    def __init__(
        self,
        catalog: Catalog,
        limits: MediaLimits,
        background: BackgroundWork,
        parent: QWidget | None = None,
        *,
        ocio_config: str = "",
    ) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._background = background
        self._limits = limits
        self._record: AssetRecord | None = None
        self._request = 0
        self._still_path: Path | None = None
        self._page_factories: dict[str, PageFactory] = {}
        self._custom_page: ViewerPage | None = None
        self._clip_compare: ClipCompareFactory | None = None
        self._clip_pair: tuple[AssetRecord, AssetRecord] | None = None
        self._compare_wanted = False
        self._turntable_pending = False
        self._enhance_pending = False
        self._pool = QThreadPool(self)
        self._pool.setObjectName("viewer-decode")
        self._pool.setMaxThreadCount(1)

        self.bar = ViewerBar(catalog)
        self.bar.versions.version_chosen.connect(lambda record: self.show_asset(record))
        self.bar.versions.compare_requested.connect(self.show_compare)
        self.stage = PictureStage()
        # The stage's two canvases, by the names the colour and compare bars and the tests use.
        self.canvas, self.compare_canvas = self.stage.canvas, self.stage.compare_canvas
        self._still_page = StillPage(self.canvas)
        self.canvas.zoom_changed.connect(lambda z: self.bar.zoom_label.setText(f"{z * 100:.0f}%"))
        self.bar.enhance_button.clicked.connect(self.toggle_enhance)
        self.bar.turntable_button.clicked.connect(self.toggle_turntable)
        self.bar.focus_button.toggled.connect(lambda _on: self._apply_focus_box())
        self.bar.fit_button.clicked.connect(self.stage.fit)
        self.bar.actual_size_button.clicked.connect(self.canvas.actual_size)
        self.bar.close_button.clicked.connect(self.close_viewer)
        self.colour_bar = ColourBar(catalog, background, self.canvas, config_source(ocio_config), self._pool)
        self.compare_bar = CompareBar(self.canvas, self.compare_canvas, background, self._pool, limits)

        self.loading_label = QLabel("Loading…")
        self.message_label = QLabel()
        for label in (self.loading_label, self.message_label):
            label.setObjectName("EmptyState")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
        self.pages = QStackedWidget()
        for page in (self.loading_label, self.stage, self.message_label):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.bar)
        layout.addWidget(self.colour_bar)
        layout.addWidget(self.compare_bar)
        self.compare_bar.painted.connect(lambda: self.pages.setCurrentWidget(self.stage))
        self.compare_bar.failed.connect(self._show_message)
        self.compare_bar.done.connect(self.escape)
        layout.addWidget(self.pages, 1)

        for key, slot in viewer_shortcuts(self):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._update_tools()

    @property
    def record(self) -> AssetRecord | None:
        return self._record

    @property
    def is_loading(self) -> bool:
        return self.pages.currentWidget() is self.loading_label

    @property
    def comparing(self) -> bool:
        """True while the enhanced copy is shown beside the original."""
        return self.stage.comparing

    @property
    def turntable_shown(self) -> bool:
        page = self._custom_page
        return page is not None and page.page_widget().objectName() == "TurntablePage"

    def register_page(self, kind: str, factory: PageFactory) -> None:
        """Show ``factory(record, parent)`` for assets of ``kind`` instead of a still (e.g. a player)."""
        self._page_factories[kind] = factory

    def register_clip_compare(self, factory: ClipCompareFactory) -> None:
        """Compare two assets that both have pages (clips) with ``factory(a, b, parent)``: they play."""
        self._clip_compare = factory

    # ---- showing an asset ------------------------------------------------------------------------

    def show_asset(self, record: AssetRecord, position: str = "") -> None:
        self._record = record
        self._clip_pair = None
        self.asset_shown.emit(record)
        self._request += 1
        self._turntable_pending = self._enhance_pending = False
        self.bar.note_label.clear()
        self.bar.title.setText(record.name)
        self.bar.info.setText(
            "  ·  ".join(p for p in (KIND_LABELS.get(record.kind, record.kind), position) if p)
        )
        self._drop_custom_page()
        self._hide_compare()
        self.colour_bar.clear()
        self.bar.versions.show_for(record)
        self._update_tools()
        factory = self._page_factories.get(record.kind)
        if factory is not None:
            self._show_page(factory(record, self.pages))
            return
        self._load_still(record)
        if self._compare_wanted and can_run(JobKind.ENHANCE, record):
            self._show_or_request_enhanced(request=False)

    def _load_still(self, record: AssetRecord) -> None:
        source, limits = still_for(record, self._catalog, self._limits)
        self._still_path = source
        if source is None:
            self._show_message(nothing_to_show(record))
            return
        self.canvas.clear()
        self.pages.setCurrentWidget(self.loading_label)
        self.loading_label.setText(f"Loading {record.name}…")
        work = (
            self.colour_bar.decode_job(self._request, source, limits, record)
            if limits is not None  # the file itself, not a render or poster of it
            else partial(decode_for_viewer, self._request, source, limits)
        )
        self._background.call(work, self._on_decoded, pool=self._pool)

    def refresh_asset(self, record: AssetRecord) -> None:
        """A job changed the shown asset: show new products (enhanced copy, turntable, better render)."""
        if self._record is None or record.id != self._record.id:
            return
        self._record = record
        artifacts = self._catalog.artifacts(record.id)
        if self._turntable_pending and newest_file(artifacts, "turntable") is not None:
            self._turntable_pending = False
            self.bar.note_label.clear()
            self._show_turntable(record)
        if self._compare_wanted and self._enhance_pending and newest_file(artifacts, "enhanced") is not None:
            self._enhance_pending = False
            self.bar.note_label.clear()
            self._show_or_request_enhanced(request=False)
        if not self.turntable_shown and self._custom_page is None:
            source, _limits = still_for(record, self._catalog, self._limits)
            if source is not None and source != self._still_path:
                self._request += 1  # a better still (a fresh render) replaces the old one
                self._load_still(record)
        self._update_tools()
        self._apply_focus_box()

    def on_job_updated(self, doc: JobDocument) -> None:
        """An on-demand job for the shown asset failed: say so instead of waiting forever."""
        if self._record is None or doc.asset_id != self._record.id or doc.state != JobState.FAILED:
            return
        if doc.kind == JobKind.TURNTABLE and self._turntable_pending:
            self._turntable_pending = False
            self.bar.turntable_button.setChecked(False)
            self.bar.note_label.setText(f"Turntable failed: {(doc.error or 'no details').splitlines()[0]}")
        elif doc.kind == JobKind.ENHANCE and self._enhance_pending:
            self._enhance_pending = self._compare_wanted = False
            self.bar.enhance_button.setChecked(False)
            self.bar.note_label.setText(f"Enhance failed: {(doc.error or 'no details').splitlines()[0]}")
        self._update_tools()

    def _on_decoded(self, decoded: Decoded) -> None:
        request, image, error = decoded.request, decoded.image, decoded.error
        if request != self._request or self._record is None:
            return  # the user moved on; this decode is stale
        if image.isNull():
            self._show_message(f"Cannot show {self._record.name}:\n{error}")
            return
        if not self.turntable_shown:
            self.pages.setCurrentWidget(self.stage)
        self.canvas.set_image(image)
        self.colour_bar.show_decoded(self._record, decoded)
        size = self.canvas.image_size()
        kind = KIND_LABELS.get(self._record.kind, self._record.kind)
        self.bar.info.setText(f"{kind}  ·  {size.width()} × {size.height()}")
        self._apply_focus_box()
        self.stage.keep_in_step()
        self.canvas.setFocus()
        self.loaded.emit(self._record)

    def _show_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.pages.setCurrentWidget(self.message_label)

    def _drop_custom_page(self) -> None:
        if self._custom_page is not None:
            page, self._custom_page = self._custom_page, None
            page.close_page()  # a player stops its decode thread now, not whenever deleteLater runs
            self.pages.removeWidget(page.page_widget())
            page.page_widget().deleteLater()
            self.page_changed.emit(self.current_page())

    def _show_page(self, page: ViewerPage) -> None:
        self._custom_page = page
        self.pages.addWidget(page.page_widget())
        self.pages.setCurrentWidget(page.page_widget())
        focused = QApplication.focusWidget()
        if focused is not None and self.isAncestorOf(focused):  # stepping from asset to asset in here
            page.page_widget().setFocus()
        self.page_changed.emit(page)

    def focus_picture(self) -> None:
        """Keyboard focus to what is shown (the still canvas or a page such as a player), so a video
        reached by keyboard takes Space at once."""
        self.current_page().page_widget().setFocus()

    # ---- focus box -------------------------------------------------------------------------------

    def _apply_focus_box(self) -> None:
        self.stage.show_focus_box(self._record, shown=self.bar.focus_button.isChecked())

    # ---- enhance: side by side -------------------------------------------------------------------

    def toggle_enhance(self) -> None:
        """E: show the enhanced copy beside the original (asking for it first), or go back to one."""
        record = self._record
        if record is None or not can_run(JobKind.ENHANCE, record):
            self.bar.enhance_button.setChecked(False)
            return
        if self._compare_wanted:
            self._compare_wanted = self._enhance_pending = False
            self._hide_compare()
            self.bar.note_label.clear()
        else:
            self._compare_wanted = True
            self._show_or_request_enhanced(request=True)
        self._update_tools()

    def _show_or_request_enhanced(self, *, request: bool) -> None:
        record = self._record
        if record is None:
            return
        enhanced = newest_file(self._catalog.artifacts(record.id, "enhanced"), "enhanced")
        if enhanced is None:
            if request:
                self._enhance_pending = True
                self.bar.note_label.setText("Enhancing…")
                self.job_requested.emit(JobKind.ENHANCE, record)
            else:  # stepping through images in compare mode never queues work behind the user's back
                self.bar.note_label.setText("No enhanced copy of this image yet: press E to make one")
            return
        self._background.call(
            partial(decode_for_viewer, self._request, enhanced, None),
            self._on_enhanced_decoded,
            pool=self._pool,
        )

    def _on_enhanced_decoded(self, decoded: Decoded) -> None:
        request, image, error = decoded.request, decoded.image, decoded.error
        if request != self._request or self._record is None or not self._compare_wanted:
            return
        if image.isNull():
            self.bar.note_label.setText(f"Cannot show the enhanced copy: {error}")
            return
        self.stage.show_beside(image, caption="Enhanced", first_caption="Original")
        self._apply_focus_box()
        self._update_tools()
        self.compare_shown.emit(self._record)

    def _hide_compare(self) -> None:
        self.compare_bar.stop()
        self.stage.hide_beside()

    def show_compare(self, a: AssetRecord, b: AssetRecord) -> None:
        """A/B compare of the two assets' stills; Esc goes back to A alone."""
        self._request += 1  # a decode for the asset shown before must not land on the pair
        self._record = None  # no enhance, turntable, focus box or stepping while comparing
        self._drop_custom_page()
        self._hide_compare()
        self.bar.versions.show_for(None)
        if self._clip_compare is not None and {a.kind, b.kind} <= self._page_factories.keys():
            self.bar.title.setText(f"{a.name}  ⇄  {b.name}")
            self.bar.info.setText("A/B compare (playing)")
            self._show_page(self._clip_compare(a, b, self.pages))
            self._clip_pair = (a, b)
            return
        self.colour_bar.clear()
        self.bar.note_label.clear()
        self.bar.title.setText(f"{a.name}  ⇄  {b.name}")
        self.bar.info.setText("A/B compare")
        self._update_tools()
        self.pages.setCurrentWidget(self.loading_label)
        self.loading_label.setText(f"Loading {a.name} and {b.name}…")
        self.compare_bar.start(
            (a, still_for(a, self._catalog, self._limits)[0]),
            (b, still_for(b, self._catalog, self._limits)[0]),
            self.colour_bar.source,
        )

    def escape(self) -> None:
        """Esc: leave compare mode (A alone), then the viewer."""
        pair = self.compare_bar.pair or self._clip_pair
        self._clip_pair = None
        if pair is not None:  # Esc leaves compare mode (A alone), then the viewer
            self.show_asset(pair[0])
        else:
            self.close_viewer()

    # ---- turntable -------------------------------------------------------------------------------

    def toggle_turntable(self) -> None:
        """Play the turntable (rendering it first when there is none), or go back to the still."""
        record = self._record
        if record is None or record.kind != AssetKind.GEOMETRY:
            self.bar.turntable_button.setChecked(False)
            return
        if self.turntable_shown:
            self._drop_custom_page()
            self.pages.setCurrentWidget(
                self.stage if not self.canvas.image_size().isEmpty() else self.loading_label
            )
        elif newest_file(self._catalog.artifacts(record.id, "turntable"), "turntable") is not None:
            self._show_turntable(record)
        elif not self._turntable_pending:
            self._turntable_pending = True
            self.bar.note_label.setText("Rendering turntable…")
            self.job_requested.emit(JobKind.TURNTABLE, record)
        self._update_tools()

    def _show_turntable(self, record: AssetRecord) -> None:
        path = newest_file(self._catalog.artifacts(record.id, "turntable"), "turntable")
        if path is None:
            return
        self._drop_custom_page()
        poster = self.canvas.image() if not self.canvas.image_size().isEmpty() else None
        page = turntable_page(path, poster, self.pages)
        page.page_widget().setObjectName("TurntablePage")
        self._show_page(page)
        self._update_tools()

    def _update_tools(self) -> None:
        self.bar.show_tools(
            self._record,
            turntable_shown=self.turntable_shown,
            turntable_pending=self._turntable_pending,
            enhanced_wanted=self._compare_wanted,
        )

    # ---- closing ---------------------------------------------------------------------------------

    def close_viewer(self) -> None:
        self._request += 1
        self._drop_custom_page()
        self._hide_compare()
        self.colour_bar.clear()
        self.canvas.clear()
        self._record = None
        self._turntable_pending = self._enhance_pending = False
        self.bar.note_label.clear()
        self.closed.emit()

    # ---- side panel (sync: comments beside the picture) -------------------------------------------

    def current_page(self) -> ViewerPage:
        """What the viewer shows now: a kind's own page (a video player, a turntable) or the still."""
        return self._custom_page if self._custom_page is not None else self._still_page

    def add_side_panel(self, widget: QWidget) -> None:
        """Put ``widget`` at the right of the picture, in a splitter the user can drag."""
        from PySide6.QtWidgets import QSplitter

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("ViewerSplitter")
        splitter.setChildrenCollapsible(False)
        layout = self.layout()
        assert layout is not None
        layout.replaceWidget(self.pages, splitter)
        splitter.addWidget(self.pages)
        splitter.addWidget(widget)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([900, 320])
