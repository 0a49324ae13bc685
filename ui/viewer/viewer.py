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
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.jobs.model import JobState
from core.media.colour import config_source
from core.media.kinds import AssetKind
from core.pipeline import JobKind, can_run
from ui.common import theme
from ui.common.files import asset_files
from ui.common.formatting import KIND_LABELS
from ui.viewer.colour_bar import ColourBar
from ui.viewer.compare import CompareBar
from ui.viewer.image_canvas import WHEEL_STEP, Decoded, ImageCanvas, decode_for_viewer, decode_to_qimage
from ui.viewer.still_page import StillPage
from ui.viewer.turntable import turntable_page
from ui.viewer.version_switcher import VersionSwitcher
from ui.viewer.viewer_parts import ClipCompareFactory, PageFactory, focus_rect, newest_file

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from core.jobs.model import JobDocument
    from core.media.limits import MediaLimits
    from ui.common.viewer_page import ViewerPage
    from workers.background import BackgroundWork

__all__ = ["AssetViewer", "ImageCanvas", "decode_to_qimage", "focus_rect"]

log = logging.getLogger(__name__)

# Best first: what to show for geometry (renders) and video (poster) instead of decoding the file.
GEOMETRY_ARTIFACTS = ("preview", "render_thumbnail", "thumbnail")
VIDEO_ARTIFACTS = ("poster", "thumbnail")


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
        self._syncing = False
        self._pool = QThreadPool(self)
        self._pool.setObjectName("viewer-decode")
        self._pool.setMaxThreadCount(1)

        bar = QFrame()
        bar.setObjectName("ViewerBar")
        self.title = QLabel()
        self.title.setObjectName("AssetTitle")
        self.info = QLabel()
        self.info.setObjectName("Dim")
        self.note_label = QLabel()
        self.note_label.setStyleSheet(f"color: {theme.WARNING.name()};")
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("Dim")
        self.versions = VersionSwitcher(catalog)
        self.versions.version_chosen.connect(lambda record: self.show_asset(record))
        self.versions.compare_requested.connect(self.show_compare)
        self.zoom_label.setMinimumWidth(50)
        self.canvas = ImageCanvas()
        self._still_page = StillPage(self.canvas)
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.compare_canvas = ImageCanvas()
        self.compare_canvas.hide()
        for canvas, other in ((self.canvas, self.compare_canvas), (self.compare_canvas, self.canvas)):
            canvas.view_changed.connect(lambda c=canvas, o=other: self._sync_view(c, o))
        self.enhance_button = self._text_tool("Enhance", "Enhanced copy beside the original (E)")
        self.enhance_button.clicked.connect(self.toggle_enhance)
        self.turntable_button = self._text_tool("Turntable", "Play the turntable; renders it first if needed")
        self.turntable_button.clicked.connect(self.toggle_turntable)
        self.focus_button = self._text_tool("Focus", "Show the focus crop the AI chose (F)")
        self.focus_button.toggled.connect(lambda _on: self._apply_focus_box())
        buttons = [
            self.focus_button,
            self.enhance_button,
            self.turntable_button,
            self._tool("fit", "Fit (0)", self.fit),
            self._tool("actual", "Actual pixels 1:1 (1)", self.canvas.actual_size),
            self._tool("close", "Close viewer (Esc)", self.close_viewer),
        ]
        row = QHBoxLayout(bar)
        row.setContentsMargins(12, 6, 8, 6)
        row.addWidget(self.title)
        row.addSpacing(10)
        row.addWidget(self.info, 1)
        row.addWidget(self.versions)
        row.addWidget(self.note_label)
        row.addSpacing(8)
        row.addWidget(self.zoom_label)
        for button in buttons:
            row.addWidget(button)
        self.colour_bar = ColourBar(catalog, background, self.canvas, config_source(ocio_config), self._pool)
        self.compare_bar = CompareBar(self.canvas, self.compare_canvas, background, self._pool, limits)

        self.loading_label = QLabel("Loading…")
        self.message_label = QLabel()
        for label in (self.loading_label, self.message_label):
            label.setObjectName("EmptyState")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
        self.stage = QWidget()
        stage_row = QHBoxLayout(self.stage)
        stage_row.setContentsMargins(0, 0, 0, 0)
        stage_row.setSpacing(2)
        stage_row.addWidget(self.canvas, 1)
        stage_row.addWidget(self.compare_canvas, 1)
        self.pages = QStackedWidget()
        for page in (self.loading_label, self.stage, self.message_label):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.colour_bar)
        layout.addWidget(self.compare_bar)
        self.compare_bar.painted.connect(lambda: self.pages.setCurrentWidget(self.stage))
        self.compare_bar.failed.connect(self._show_message)
        self.compare_bar.done.connect(self._escape)
        layout.addWidget(self.pages, 1)

        shortcuts: list[tuple[str | QKeySequence.StandardKey, Callable[[], None]]] = [
            ("Esc", self._escape),
            ("Left", lambda: self.navigate.emit(-1)),
            ("Right", lambda: self.navigate.emit(1)),
            # A focused video player keeps Left/Right for frame steps; these always change asset.
            ("PgUp", lambda: self.navigate.emit(-1)),
            ("PgDown", lambda: self.navigate.emit(1)),
            ("0", self.fit),
            ("Ctrl+0", self.fit),
            ("1", self.canvas.actual_size),
            ("+", lambda: self.canvas.zoom_by(WHEEL_STEP)),
            ("=", lambda: self.canvas.zoom_by(WHEEL_STEP)),
            ("-", lambda: self.canvas.zoom_by(1 / WHEEL_STEP)),
            ("E", self.toggle_enhance),
            ("F", self.focus_button.toggle),
            ("T", self.toggle_turntable),
            ("C", self.colour_bar.cycle_channel),
            ("[", lambda: self.versions.step(-1)),
            ("]", lambda: self.versions.step(1)),
        ]
        for key, slot in shortcuts:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._update_tools()

    def _tool(self, icon_name: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setObjectName("Flat")
        button.setIcon(theme.icon(icon_name))
        button.setIconSize(QSize(18, 18))
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _text_tool(self, text: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(True)
        return button

    @property
    def record(self) -> AssetRecord | None:
        return self._record

    @property
    def is_loading(self) -> bool:
        return self.pages.currentWidget() is self.loading_label

    @property
    def comparing(self) -> bool:
        """True while the enhanced copy is shown beside the original."""
        return self.compare_canvas.isVisibleTo(self.stage)

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
        self.note_label.clear()
        self.title.setText(record.name)
        self.info.setText("  ·  ".join(p for p in (KIND_LABELS.get(record.kind, record.kind), position) if p))
        self._drop_custom_page()
        self._hide_compare()
        self.colour_bar.clear()
        self.versions.show_for(record)
        self._update_tools()
        factory = self._page_factories.get(record.kind)
        if factory is not None:
            self._show_page(factory(record, self.pages))
            return
        self._load_still(record)
        if self._compare_wanted and can_run(JobKind.ENHANCE, record):
            self._show_or_request_enhanced(request=False)

    def _load_still(self, record: AssetRecord) -> None:
        source, limits = self._still_for(record)
        self._still_path = source
        if source is None:
            self._show_message(self._nothing_to_show(record))
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
            self.note_label.clear()
            self._show_turntable(record)
        if self._compare_wanted and self._enhance_pending and newest_file(artifacts, "enhanced") is not None:
            self._enhance_pending = False
            self.note_label.clear()
            self._show_or_request_enhanced(request=False)
        if not self.turntable_shown and self._custom_page is None:
            source, _limits = self._still_for(record)
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
            self.turntable_button.setChecked(False)
            self.note_label.setText(f"Turntable failed: {(doc.error or 'no details').splitlines()[0]}")
        elif doc.kind == JobKind.ENHANCE and self._enhance_pending:
            self._enhance_pending = self._compare_wanted = False
            self.enhance_button.setChecked(False)
            self.note_label.setText(f"Enhance failed: {(doc.error or 'no details').splitlines()[0]}")
        self._update_tools()

    def _still_for(self, record: AssetRecord) -> tuple[Path | None, MediaLimits | None]:
        """What file to decode for this asset, and whether it needs the full media decoder."""
        if record.kind == AssetKind.IMAGE:
            return Path(record.path), self._limits
        if record.kind == AssetKind.SEQUENCE:
            return asset_files(record)[0], self._limits
        wanted = GEOMETRY_ARTIFACTS if record.kind == AssetKind.GEOMETRY else VIDEO_ARTIFACTS
        artifacts = self._catalog.artifacts(record.id)
        for kind in wanted:
            path = newest_file(artifacts, kind)
            if path is not None:
                return path, None
        if record.thumbnail:
            return Path(record.thumbnail), None
        return None, None

    def _nothing_to_show(self, record: AssetRecord) -> str:
        if record.status == "failed":
            return f"{record.name} failed:\n{record.error or 'no details'}"
        if record.status == "pending":
            return f"{record.name} is still being processed; its preview appears when ready."
        return f"No preview for {KIND_LABELS.get(record.kind, record.kind).lower()} files yet."

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
        self.info.setText(f"{kind}  ·  {size.width()} × {size.height()}")
        self._apply_focus_box()
        if self.comparing:
            self.compare_canvas.follow(self.canvas)
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

    def fit(self) -> None:
        self.canvas.fit()
        if self.comparing:
            self.compare_canvas.follow(self.canvas)

    # ---- focus box -------------------------------------------------------------------------------

    def _apply_focus_box(self) -> None:
        record = self._record
        show = self.focus_button.isChecked() and record is not None
        for canvas in (self.canvas, self.compare_canvas):
            rect = focus_rect(record, canvas.image_size()) if show and record is not None else None
            method = str(record.metadata.get("focus_method") or "") if record is not None else ""
            canvas.set_overlay_box(rect, f"focus · {method}" if method else "focus")

    # ---- enhance: side by side -------------------------------------------------------------------

    def toggle_enhance(self) -> None:
        """E: show the enhanced copy beside the original (asking for it first), or go back to one."""
        record = self._record
        if record is None or not can_run(JobKind.ENHANCE, record):
            self.enhance_button.setChecked(False)
            return
        if self._compare_wanted:
            self._compare_wanted = self._enhance_pending = False
            self._hide_compare()
            self.note_label.clear()
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
                self.note_label.setText("Enhancing…")
                self.job_requested.emit(JobKind.ENHANCE, record)
            else:  # stepping through images in compare mode never queues work behind the user's back
                self.note_label.setText("No enhanced copy of this image yet: press E to make one")
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
            self.note_label.setText(f"Cannot show the enhanced copy: {error}")
            return
        self.compare_canvas.set_image(image)
        self.compare_canvas.set_caption("Enhanced")
        self.canvas.set_caption("Original")
        self.compare_canvas.show()
        self.compare_canvas.follow(self.canvas)
        self._apply_focus_box()
        self._update_tools()
        self.compare_shown.emit(self._record)

    def _hide_compare(self) -> None:
        self.compare_bar.stop()
        self.compare_canvas.hide()
        self.compare_canvas.clear()
        self.canvas.set_caption("")

    def _sync_view(self, source: ImageCanvas, target: ImageCanvas) -> None:
        """One zoom and pan for both halves: whichever the user moves, the other follows."""
        if self._syncing or not self.comparing:
            return
        self._syncing = True
        try:
            target.follow(source)
        finally:
            self._syncing = False

    def show_compare(self, a: AssetRecord, b: AssetRecord) -> None:
        """A/B compare of the two assets' stills; Esc goes back to A alone."""
        self._request += 1  # a decode for the asset shown before must not land on the pair
        self._record = None  # no enhance, turntable, focus box or stepping while comparing
        self._drop_custom_page()
        self._hide_compare()
        self.versions.show_for(None)
        if self._clip_compare is not None and {a.kind, b.kind} <= self._page_factories.keys():
            self.title.setText(f"{a.name}  ⇄  {b.name}")
            self.info.setText("A/B compare (playing)")
            self._show_page(self._clip_compare(a, b, self.pages))
            self._clip_pair = (a, b)
            return
        self.colour_bar.clear()
        self.note_label.clear()
        self.title.setText(f"{a.name}  ⇄  {b.name}")
        self.info.setText("A/B compare")
        self._update_tools()
        self.pages.setCurrentWidget(self.loading_label)
        self.loading_label.setText(f"Loading {a.name} and {b.name}…")
        self.compare_bar.start((a, self._still_for(a)[0]), (b, self._still_for(b)[0]), self.colour_bar.source)

    def _escape(self) -> None:
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
            self.turntable_button.setChecked(False)
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
            self.note_label.setText("Rendering turntable…")
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
        record = self._record
        geometry = record is not None and record.kind == AssetKind.GEOMETRY
        self.turntable_button.setVisible(geometry)
        self.turntable_button.setEnabled(geometry and not self._turntable_pending)
        self.turntable_button.setChecked(self.turntable_shown)
        self.turntable_button.setText("Rendering…" if self._turntable_pending else "Turntable")
        enhance = record is not None and can_run(JobKind.ENHANCE, record)
        self.enhance_button.setVisible(enhance)
        self.enhance_button.setChecked(self._compare_wanted and enhance)
        has_focus = record is not None and focus_rect(record, QSize(1 << 20, 1 << 20)) is not None
        self.focus_button.setEnabled(has_focus)
        self.focus_button.setToolTip(
            "Show the focus crop the AI chose (F)"
            if has_focus
            else "No focus crop yet (the AI step makes it)"
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
        self.note_label.clear()
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
