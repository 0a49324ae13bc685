"""The inspector's category editor: AI categories with their confidence and ✓/✗, the user's confirmed
categories, an "Add category…" box, and which classifier path produced them.

Corrections are written straight to the catalog (``accept_tag``/``reject_tag``); a rejected category is
hidden and the classifier never adds it back. ``changed`` tells the window to refresh counts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.ai.classify import CLASSICAL_CATEGORIES
from core.catalog.records import TagRecord

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord

log = logging.getLogger(__name__)

BAR_STYLE = (
    "QProgressBar { background: #2e2640; border: none; border-radius: 3px; }"
    "QProgressBar::chunk { background: #b48cff; border-radius: 3px; }"
)
AI_NAME_STYLE = "color: #d9c8ff;"
GUESS_NAME_STYLE = "color: #8f8a9c; font-style: italic;"
USER_NAME_STYLE = "color: #f0f1f3; font-weight: 600;"
BUTTON_STYLE = (
    "QToolButton { padding: 0 4px; border-radius: 4px; } QToolButton:hover { background: #34363c; }"
)
ADD_PLACEHOLDER = "Add category…"


def classification_text(metadata: dict[str, object]) -> str:
    """Which path sorted the asset, in words ("classical rules · cpu", "model resnet-cat · cuda:0")."""
    info = metadata.get("classification")
    if not isinstance(info, dict):
        return ""
    path = str(info.get("path") or "")
    device = info.get("device")
    if path.startswith("model:"):
        what = f"model {path.removeprefix('model:')}"
    elif path == "classical":
        what = "classical rules (no model installed)"
    else:
        what = path or "unknown path"
    return f"Sorted by {what}" + (f" · {device}" if device else "")


def hidden_guesses(metadata: dict[str, object]) -> list[TagRecord]:
    """The classifier's guesses below its thresholds, most confident first (kept, never counted)."""
    info = metadata.get("classification")
    raw = info.get("hidden") if isinstance(info, dict) else None
    if not isinstance(raw, list):
        return []
    guesses = [
        TagRecord(str(item["name"]), "ai", float(item["confidence"]), is_category=True)
        for item in raw
        if isinstance(item, dict) and "name" in item and isinstance(item.get("confidence"), int | float)
    ]
    return sorted(guesses, key=lambda t: -(t.confidence or 0.0))


class CategoryRow(QWidget):
    """One category: name, confidence (AI) or "yours" (confirmed), and its buttons."""

    def __init__(self, tag: TagRecord, editor: CategoryEditor, *, guess: bool = False) -> None:
        super().__init__()
        self.name = tag.name
        self.is_ai = tag.source == "ai" or guess
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        marker = "? " if guess else "✦ " if self.is_ai else "✓ "
        self.label = QLabel(marker + tag.name)
        self.label.setStyleSheet(
            GUESS_NAME_STYLE if guess else AI_NAME_STYLE if self.is_ai else USER_NAME_STYLE
        )
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.label.setToolTip(
            f"{tag.name}: a guess below the classifier's confidence threshold, not counted"
            if guess
            else f"{tag.name}: suggested by the classifier"
            if self.is_ai
            else f"{tag.name}: confirmed by you"
        )
        row.addWidget(self.label, 1)
        self.confidence_bar: QProgressBar | None = None
        if self.is_ai:
            confidence = max(0.0, min(1.0, tag.confidence or 0.0))
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(round(confidence * 100))
            bar.setTextVisible(False)
            bar.setFixedSize(QSize(54, 6))
            bar.setStyleSheet(BAR_STYLE)
            bar.setToolTip(f"Classifier confidence {confidence * 100:.0f}%")
            self.confidence_bar = bar
            percent = QLabel(f"{confidence * 100:.0f}%")
            percent.setObjectName("Dim")
            percent.setFixedWidth(34)
            percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            row.addWidget(bar)
            row.addWidget(percent)
        else:
            yours = QLabel("yours")
            yours.setObjectName("Dim")
            row.addWidget(yours)
        self.accept_button = self._button("✓", f"Right: keep “{tag.name}” as your category", "#5fcf8a")
        self.accept_button.clicked.connect(lambda: editor.accept(self.name))
        self.accept_button.setVisible(self.is_ai)
        self.reject_button = self._button("✗", f"Wrong: remove “{tag.name}”; it will not be suggested again",
                                          "#ff6b6b")  # fmt: skip
        self.reject_button.clicked.connect(lambda: editor.reject(self.name))
        self.reject_button.setVisible(not guess)  # a guess is not stored: there is nothing to remove
        row.addWidget(self.accept_button)
        row.addWidget(self.reject_button)

    @staticmethod
    def _button(text: str, tip: str, colour: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setStyleSheet(BUTTON_STYLE + f" QToolButton {{ color: {colour}; font-weight: 700; }}")
        return button


class CategoryEditor(QWidget):
    changed = Signal(int)  # asset id whose categories the user corrected

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._record: AssetRecord | None = None
        self.rows: dict[str, CategoryRow] = {}
        self.guess_rows: dict[str, CategoryRow] = {}
        self._rows_box = QVBoxLayout()
        self._rows_box.setContentsMargins(0, 0, 0, 0)
        self._rows_box.setSpacing(2)
        self.empty_label = QLabel("No categories yet")
        self.empty_label.setObjectName("Dim")
        # Guesses below the confidence threshold are hidden (and never counted) unless asked for.
        self.guesses_button = QToolButton()
        self.guesses_button.setCheckable(True)
        self.guesses_button.setAutoRaise(True)
        self.guesses_button.setObjectName("Dim")
        self.guesses_button.toggled.connect(lambda _on: self.set_record(self._record))
        self._guesses_box = QVBoxLayout()
        self._guesses_box.setContentsMargins(0, 0, 0, 0)
        self._guesses_box.setSpacing(2)
        self.path_label = QLabel()
        self.path_label.setObjectName("Dim")
        self.path_label.setWordWrap(True)
        self.add_combo = QComboBox()
        self.add_combo.setEditable(True)
        self.add_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.add_combo.setToolTip("Pick a known category or type your own, then press Enter")
        line = self.add_combo.lineEdit()
        assert line is not None
        line.setPlaceholderText(ADD_PLACEHOLDER)
        # A pick from the list arrives as textActivated; typed text only as returnPressed (NoInsert).
        self.add_combo.textActivated.connect(self.add)
        line.returnPressed.connect(lambda: self.add(line.text()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(self._rows_box)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.guesses_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(self._guesses_box)
        layout.addWidget(self.add_combo)
        layout.addWidget(self.path_label)

    @property
    def record(self) -> AssetRecord | None:
        return self._record

    def set_record(self, record: AssetRecord | None) -> None:
        self._record = record
        for box in (self._rows_box, self._guesses_box):
            while box.count():
                item = box.takeAt(0)
                widget = item.widget() if item is not None else None
                if widget is not None:
                    widget.deleteLater()
        self.rows, self.guess_rows = {}, {}
        self.guesses_button.hide()
        if record is None:
            return
        ai = sorted((t for t in record.tags if t.source == "ai"), key=lambda t: -(t.confidence or 0))
        mine = [t for t in record.tags if t.source == "user" and t.is_category]
        for tag in [*ai, *mine]:
            row = CategoryRow(tag, self)
            self.rows[tag.name] = row
            self._rows_box.addWidget(row)
        self.empty_label.setVisible(not self.rows)
        self._show_guesses(record)
        text = classification_text(record.metadata)
        self.path_label.setText(text)
        self.path_label.setVisible(bool(text))
        self._fill_suggestions()

    def _show_guesses(self, record: AssetRecord) -> None:
        guesses = [g for g in hidden_guesses(record.metadata) if g.name not in self.rows]
        if not guesses:
            return
        shown = self.guesses_button.isChecked()
        count = f"{len(guesses)} low-confidence guess{'es' if len(guesses) != 1 else ''}"
        self.guesses_button.setText(f"{'Hide' if shown else 'Show'} {count}")
        self.guesses_button.show()
        if not shown:
            return
        for guess in guesses:
            row = CategoryRow(guess, self, guess=True)
            self.guess_rows[guess.name] = row
            self._guesses_box.addWidget(row)

    def _fill_suggestions(self) -> None:
        self.add_combo.blockSignals(True)
        self.add_combo.clear()
        self.add_combo.addItems([c for c in CLASSICAL_CATEGORIES if c not in self.rows])
        self.add_combo.setCurrentIndex(-1)
        self.add_combo.setEditText("")
        self.add_combo.blockSignals(False)

    # ---- corrections -----------------------------------------------------------------------------

    def accept(self, name: str) -> None:
        """The category is right: it becomes the user's and the classifier no longer manages it."""
        self._write(name, accept=True)

    def reject(self, name: str) -> None:
        """The category is wrong: hidden, and never suggested again for this asset."""
        self._write(name, accept=False)

    def add(self, name: str) -> None:
        name = name.strip()
        if name and self._record is not None and name not in self.rows:
            self._write(name, accept=True)
        else:
            self._fill_suggestions()

    def _write(self, name: str, *, accept: bool) -> None:
        record = self._record
        if record is None:
            return
        if accept:
            self._catalog.accept_tag(record.id, name)
        else:
            self._catalog.reject_tag(record.id, name)
        log.info("%s category %r for asset %d", "Accepted" if accept else "Rejected", name, record.id)
        fresh = self._catalog.get_asset(record.id)
        if fresh is not None:
            self.set_record(fresh)
        self.changed.emit(record.id)
