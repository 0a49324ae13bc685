"""The viewer's version switcher: the versions of the shown asset's stack, one key apart.

Shown only for an asset in a version stack (``core.catalog.stacks``). ``[`` and ``]`` step to the
previous and next version; "Compare with vNNN" opens A/B compare of the previous version (A) against
the one shown (B) in one click, playing when both are clips. The versions are read from the catalog's
stack index when an asset is shown (one small range read, like the viewer's artifact lookups).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QWidget

if TYPE_CHECKING:
    from core.catalog.catalog import Catalog
    from core.catalog.records import AssetRecord


def version_label(record: AssetRecord) -> str:
    return f"v{record.version:03d}" if record.version is not None else record.name


class VersionSwitcher(QWidget):
    version_chosen = Signal(object)  # AssetRecord to show
    compare_requested = Signal(object, object)  # AssetRecord A (previous), B (shown)

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._versions: list[AssetRecord] = []
        self._index = -1
        self.combo = QComboBox()
        self.combo.setToolTip("Versions of this shot ([ previous, ] next)")
        self.combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the picture or player
        self.combo.activated.connect(self._on_activated)
        self.compare_button = QPushButton()
        self.compare_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.compare_button.clicked.connect(self.compare_with_previous)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.combo)
        row.addWidget(self.compare_button)
        self.hide()

    @property
    def versions(self) -> list[AssetRecord]:
        return list(self._versions)

    def show_for(self, record: AssetRecord | None) -> None:
        """Fill in ``record``'s stack (hidden for an unstacked asset or none)."""
        self._versions = (
            self._catalog.stacks.versions_of(record.id)
            if record is not None and record.stack_key is not None
            else []
        )
        ids = [version.id for version in self._versions]
        if record is None or len(self._versions) < 2 or record.id not in ids:
            self._versions, self._index = [], -1
            self.hide()
            return
        self._index = ids.index(record.id)
        self.combo.blockSignals(True)
        self.combo.clear()
        newest = len(self._versions) - 1
        for position, version in enumerate(self._versions):
            suffix = "  (latest)" if position == newest else ""
            self.combo.addItem(f"{version_label(version)}{suffix}")
            self.combo.setItemData(position, version.name, Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentIndex(self._index)
        self.combo.blockSignals(False)
        previous = self._previous()
        self.compare_button.setEnabled(previous is not None)
        self.compare_button.setText(
            f"\u21c4 {version_label(previous)}" if previous is not None else "\u21c4 previous"
        )
        self.compare_button.setToolTip(
            "A/B compare with the previous version" if previous is not None else "This is the first version"
        )
        self.show()

    def step(self, delta: int) -> None:
        """Show the version ``delta`` away (clamped); nothing without a stack."""
        if not self._versions:
            return
        target = min(max(0, self._index + delta), len(self._versions) - 1)
        if target != self._index:
            self.version_chosen.emit(self._versions[target])

    def compare_with_previous(self) -> None:
        previous = self._previous()
        if previous is not None:
            self.compare_requested.emit(previous, self._versions[self._index])

    def _previous(self) -> AssetRecord | None:
        return self._versions[self._index - 1] if self._index > 0 else None

    def _on_activated(self, position: int) -> None:
        if 0 <= position < len(self._versions) and position != self._index:
            self.version_chosen.emit(self._versions[position])
