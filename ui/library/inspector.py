"""The inspector: what one asset is (metadata per kind), its rating and label, tags, AI categories, notes
and files; for several assets, their rating and label and tags/notes added to all of them at once."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import create_worker, qdebounced

from ui.common.files import copy_out, reveal_in_file_manager
from ui.common.formatting import KIND_LABELS, exif_rows, human_size, metadata_rows
from ui.library.categories import CategoryEditor
from ui.library.curation import BatchEditor, Curator, RatingLabelEditor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord
    from ui.library.thumbnail_cache import ThumbnailCache
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)

PREVIEW_SIZE = 300


def _section(title: str) -> QLabel:
    label = QLabel(title.upper())
    label.setObjectName("SectionTitle")
    return label


def _user_tags(record: AssetRecord) -> list[str]:
    """The user's free tags (confirmed categories are shown with the categories instead)."""
    return [t.name for t in record.tags if t.source == "user" and not t.is_category]


class Inspector(QFrame):
    asset_edited = Signal(object)  # AssetRecord re-read after tags or notes were saved

    def __init__(
        self,
        catalog: Catalog,
        thumbnails: ThumbnailCache,
        background: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Inspector")
        self._catalog = catalog
        self._thumbnails = thumbnails
        self._records: list[AssetRecord] = []
        self._background = background
        # The library's one write path for ratings, labels and batch edits; the window routes the grid's
        # rating keys and context menu through it too.
        self.curator = Curator(catalog, self)
        self.curation = RatingLabelEditor(self.curator)
        self.batch = BatchEditor(self.curator)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("Inspector")
        self._layout = QVBoxLayout(body)
        self._layout.setContentsMargins(14, 14, 14, 14)
        self._layout.setSpacing(8)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(120)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.title = QLabel()
        self.title.setObjectName("AssetTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = QLabel()
        self.subtitle.setObjectName("Dim")
        self.error_label = QLabel()
        self.error_label.setObjectName("ErrorText")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.path_label = QLabel()
        self.path_label.setWordWrap(True)
        self.path_label.setObjectName("Dim")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reveal_button = QPushButton("Reveal in file manager")
        self.copy_out_button = QPushButton("Copy out…")
        self.reveal_button.clicked.connect(self.reveal)
        self.copy_out_button.clicked.connect(self.ask_copy_out)
        file_buttons = QHBoxLayout()
        file_buttons.addWidget(self.reveal_button)
        file_buttons.addWidget(self.copy_out_button)
        file_buttons.addStretch(1)

        self.metadata_form = QFormLayout()
        self.metadata_form.setHorizontalSpacing(14)
        self.metadata_form.setVerticalSpacing(4)
        self.exif_title = _section("Camera")
        self.exif_form = QFormLayout()
        self.exif_form.setHorizontalSpacing(14)

        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("Add tags, separated by commas")
        self.tags_edit.editingFinished.connect(self.save_tags)
        self.ai_title = _section("Categories")
        self.categories = CategoryEditor(catalog)
        self.categories.changed.connect(self._reload_record)
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText("Notes for this asset…")
        self.notes_edit.setFixedHeight(96)
        self.notes_edit.textChanged.connect(self._notes_typed)

        self.empty_label = QLabel("Select an asset to see its details")
        self.empty_label.setObjectName("EmptyState")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)

        self._details = QWidget()
        details = QVBoxLayout(self._details)
        details.setContentsMargins(0, 0, 0, 0)
        details.setSpacing(8)
        for widget in (self.preview, self.title, self.subtitle, self.error_label):
            details.addWidget(widget)
        details.addSpacing(6)
        details.addWidget(_section("File"))
        details.addWidget(self.path_label)
        details.addLayout(file_buttons)
        details.addSpacing(6)
        details.addWidget(_section("Rating and label"))
        details.addWidget(self.curation)
        self._many_only = QWidget()
        many = QVBoxLayout(self._many_only)
        many.setContentsMargins(0, 6, 0, 0)
        many.setSpacing(8)
        many.addWidget(_section("All selected"))
        many.addWidget(self.batch)
        details.addWidget(self._many_only)
        self._single_only = QWidget()
        single = QVBoxLayout(self._single_only)
        single.setContentsMargins(0, 6, 0, 0)
        single.setSpacing(8)
        single.addWidget(_section("Details"))
        single.addLayout(self.metadata_form)
        single.addWidget(self.exif_title)
        single.addLayout(self.exif_form)
        single.addSpacing(6)
        single.addWidget(_section("Tags"))
        single.addWidget(self.tags_edit)
        single.addSpacing(6)
        single.addWidget(self.ai_title)
        single.addWidget(self.categories)
        single.addSpacing(6)
        single.addWidget(_section("Notes"))
        single.addWidget(self.notes_edit)
        details.addWidget(self._single_only)
        self._layout.addWidget(self.empty_label)
        self._layout.addWidget(self._details)
        self._layout.addStretch(1)
        thumbnails.thumbnail_ready.connect(self._on_thumbnail_ready)
        self.set_assets([])

    # ---- showing ---------------------------------------------------------------------------------

    @property
    def record(self) -> AssetRecord | None:
        return self._records[0] if len(self._records) == 1 else None

    def set_assets(self, records: Sequence[AssetRecord]) -> None:
        self._flush_notes()
        self._records = list(records)
        self.empty_label.setVisible(not records)
        self._details.setVisible(bool(records))
        self._single_only.setVisible(len(records) == 1)
        self._many_only.setVisible(len(records) > 1)
        self.curation.set_records(self._records)
        self.batch.set_records(self._records)
        if not records:
            return
        if len(records) > 1:
            self._show_many(records)
        else:
            self._show_one(records[0])

    def _show_many(self, records: Sequence[AssetRecord]) -> None:
        self.preview.clear()
        self.preview.setFixedHeight(0)
        self.title.setText(f"{len(records):,} assets selected")
        total = sum(r.size_bytes for r in records)
        self.subtitle.setText(f"{human_size(total)} in total")
        failed = sum(1 for r in records if r.status == "failed")
        self.error_label.setVisible(failed > 0)
        self.error_label.setText(f"{failed} of them failed")
        self.path_label.setText("")
        self.reveal_button.setEnabled(False)

    def _show_one(self, record: AssetRecord) -> None:
        self._update_preview()
        self.title.setText(record.name)
        status = {"pending": "Processing…", "failed": "Failed", "ready": "Ready"}.get(
            record.status, record.status
        )
        self.subtitle.setText(f"{KIND_LABELS.get(record.kind, record.kind)} · {status}")
        self.error_label.setVisible(record.status == "failed")
        self.error_label.setText(record.error or "This asset failed without an error message.")
        copied = "  (copied into the project library)" if record.copied else ""
        self.path_label.setText(record.path + copied)
        self.path_label.setToolTip(record.path)
        self.reveal_button.setEnabled(True)
        self._fill_form(self.metadata_form, metadata_rows(record))
        camera = exif_rows(record)
        self.exif_title.setVisible(bool(camera))
        self._fill_form(self.exif_form, camera)
        self.tags_edit.setText(", ".join(_user_tags(record)))
        self.categories.set_record(record)
        self.notes_edit.blockSignals(True)
        self.notes_edit.setPlainText(record.notes)
        self.notes_edit.blockSignals(False)

    def refresh_records(self, records: Sequence[AssetRecord]) -> None:
        """A job or a batch edit changed these assets: update what the user is not editing."""
        fresh = {r.id: r for r in records}
        if not any(r.id in fresh for r in self._records):
            return
        self._records = [fresh.get(r.id, r) for r in self._records]
        self.curation.set_records(self._records)
        self.batch.set_records(self._records)
        record = self.record
        if record is None:
            return
        if self.tags_edit.hasFocus() or self.notes_edit.hasFocus():
            self._update_preview()
            self.categories.set_record(record)
            return
        self._flush_notes()
        self._show_one(record)

    def _fill_form(self, form: QFormLayout, rows: list[tuple[str, str]]) -> None:
        while form.rowCount():
            form.removeRow(0)
        for label, value in rows:
            key = QLabel(label)
            key.setObjectName("MetaKey")
            text = QLabel(value)
            text.setObjectName("MetaValue")
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(key, text)

    def _update_preview(self) -> None:
        record = self.record
        if record is None:
            return
        pixmap = self._thumbnails.get(record, PREVIEW_SIZE)
        if pixmap is None or pixmap.isNull():
            self.preview.clear()
            self.preview.setFixedHeight(0 if record.thumbnail is None else 120)
            return
        width = max(120, min(PREVIEW_SIZE, self.width() - 30))
        scaled = pixmap.scaled(
            width, width, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.preview.setFixedHeight(scaled.height())
        self.preview.setPixmap(scaled)

    def _on_thumbnail_ready(self, content_hash: str) -> None:
        if self.record is not None and self.record.content_hash == content_hash:
            self._update_preview()

    # ---- extra sections (sync: comments) ---------------------------------------------------------

    def add_section(self, title: str, widget: QWidget) -> None:
        """Another titled panel under the notes, shown when one asset is selected (comments)."""
        layout = self._single_only.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.addSpacing(6)
        layout.addWidget(_section(title))
        layout.addWidget(widget)

    # ---- editing ---------------------------------------------------------------------------------

    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.tags_edit.text().split(",") if t.strip()]

    def save_tags(self) -> None:
        record = self.record
        if record is None:
            return
        wanted = self.tag_names()
        if sorted(set(wanted)) == sorted(set(_user_tags(record))):
            return
        # set_user_tags replaces every user-owned tag: confirmed categories are kept by passing them on.
        confirmed = [t.name for t in record.tags if t.source == "user" and t.is_category]
        self._catalog.set_user_tags(record.id, [*wanted, *confirmed])
        self._reload_record(record.id)

    def _notes_typed(self) -> None:
        self._save_notes_later()

    @qdebounced(timeout=600)
    def _save_notes_later(self) -> None:
        self._flush_notes()

    def _flush_notes(self) -> None:
        record = self.record
        if record is None:
            return
        text = self.notes_edit.toPlainText()
        if text != record.notes:
            self._catalog.set_notes(record.id, text)
            self._reload_record(record.id)

    def _reload_record(self, asset_id: int) -> None:
        fresh = self._catalog.get_asset(asset_id)
        if fresh is None:
            return
        self._records = [fresh if r.id == asset_id else r for r in self._records]
        if self.record is not None:
            if not self.tags_edit.hasFocus():
                self.tags_edit.setText(", ".join(_user_tags(fresh)))
            if self.categories.record is None or self.categories.record != fresh:
                self.categories.set_record(fresh)
        self.asset_edited.emit(fresh)

    # ---- files -----------------------------------------------------------------------------------

    def reveal(self) -> None:
        record = self.record
        if record is not None and (problem := reveal_in_file_manager(Path(record.path)).problem):
            QMessageBox.warning(self, "Reveal in file manager", problem)

    def ask_copy_out(self) -> None:
        if not self._records:
            return
        folder = QFileDialog.getExistingDirectory(self, "Copy the files to…")
        if folder:
            self.start_copy_out(Path(folder))

    def start_copy_out(self, destination: Path) -> Any:
        """Copy the shown assets' files on a worker thread with a cancellable progress dialog."""
        progress = QProgressDialog("Copying…", "Cancel", 0, 0, self)
        progress.setWindowTitle("Copy out")
        progress.setMinimumDuration(400)
        # Errors are shown in the box below, so superqt need not re-raise them as uncaught.
        worker = create_worker(
            copy_out, list(self._records), destination, _start_thread=False, _ignore_errors=True
        )

        def on_step(step: tuple[int, int, str]) -> None:
            done, total, name = step
            progress.setMaximum(total)
            progress.setValue(done)
            progress.setLabelText(f"Copying {name}")

        def on_done(problems: list[str]) -> None:
            progress.close()
            if problems:
                QMessageBox.warning(
                    self, "Copy out", "Some files could not be copied:\n\n" + "\n".join(problems[:20])
                )

        worker.yielded.connect(on_step)
        worker.returned.connect(on_done)
        worker.errored.connect(lambda exc: QMessageBox.warning(self, "Copy out", str(exc)))
        progress.canceled.connect(worker.quit)
        self._background.start(worker)
        return worker
