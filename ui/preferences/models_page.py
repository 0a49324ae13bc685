"""Preferences ▸ Models: the installed models, checked, each with its on/off switch.

The table is the editor of ``Settings.disabled_models``: a model unticked here is skipped, and its
task falls back to the next model of that task, then to the classic method. Names switched off
that are not listed right now (a studio share that is offline) stay switched off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from ui.common import theme
from ui.preferences.preferences_fields import SettingField, set_tone

if TYPE_CHECKING:
    from PySide6.QtWidgets import QLabel

    from core.ai.installed import ModelsReport
    from ui.preferences.preferences_fields import ModelDirReport

COLUMNS = ("Model", "Task", "Licence", "Size", "Checksum", "Device")
NAME, TASK, LICENCE, SIZE, CHECKSUM, DEVICE = range(len(COLUMNS))


class ModelsTable(QTreeWidget):
    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("ModelsTable")
        self.setHeaderLabels(list(COLUMNS))
        self.setRootIsDecorated(False)
        self.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Licences are sentences: a narrow column, the whole text in its tooltip.
        self.header().setSectionResizeMode(LICENCE, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(LICENCE, 200)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.header().setStretchLastSection(True)
        self.setMinimumHeight(220)
        self._disabled: list[str] = []
        self._filling = False
        self.itemChanged.connect(self._on_item_changed)

    def disabled(self) -> list[str]:
        return list(self._disabled)

    def set_disabled(self, names: list[str]) -> None:
        self._disabled = list(names)
        self._filling = True
        for index in range(self.topLevelItemCount()):
            item = self.topLevelItem(index)
            if item is not None:
                item.setCheckState(NAME, _state(item.text(NAME) not in self._disabled))
        self._filling = False
        self.changed.emit()

    def show_report(self, report: ModelsReport) -> None:
        self._filling = True
        self.clear()
        for model in report.models:
            checksum = "✓ verified" if model.ready else model.problem
            item = QTreeWidgetItem(
                [model.name, model.task, model.licence, _size(model.size), checksum, model.device]
            )
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(NAME, _state(model.name not in self._disabled))
            tip = f"{model.name} {model.version}\nfrom {model.origin}\nsha256 {model.sha256}"
            for column in range(len(COLUMNS)):
                item.setToolTip(column, tip)
            item.setToolTip(CHECKSUM, checksum)
            item.setToolTip(LICENCE, model.licence)
            if not model.ready:
                item.setForeground(CHECKSUM, QColor(theme.ERROR))
            self.addTopLevelItem(item)
        self._filling = False

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != NAME:
            return
        name = item.text(NAME)
        on = item.checkState(NAME) == Qt.CheckState.Checked
        if on and name in self._disabled:
            self._disabled.remove(name)
        elif not on and name not in self._disabled:
            self._disabled.append(name)
        self.changed.emit()


def models_field(table: ModelsTable) -> SettingField:
    return SettingField(
        "disabled_models", "Installed", table, table.disabled, table.set_disabled, table.changed
    )


def show_models_status(status: QLabel, report: ModelsReport) -> None:
    ready = sum(model.ready for model in report.models)
    text = f"{ready} of {len(report.models)} models ready."
    if report.problem:
        set_tone(status, "FieldError", f"{text} The model folder: {report.problem}")
    else:
        set_tone(status, "Dim", text)


def show_folder_report(status: QLabel, tree: QTreeWidget, report: ModelDirReport) -> None:
    """The AI page's list of what the model folder's manifest names."""
    count = len(report.models)
    if report.error:
        set_tone(status, "FieldError", report.error)
    elif not report.manifest_found:
        set_tone(status, "Dim", "No manifest.json here: the classic methods will be used.")
    else:
        set_tone(status, "Dim", f"manifest.json lists {count} model{'s' * (count != 1)}.")
    tree.clear()
    words = {"present": "present", "download": "fetched on first use", "missing": "missing"}
    for name, task, state in report.models:
        entry = QTreeWidgetItem([name, task, words[state]])
        if state == "missing":
            entry.setForeground(2, QColor(theme.ERROR))
        tree.addTopLevelItem(entry)
    tree.setVisible(count > 0)


def _state(on: bool) -> Qt.CheckState:
    return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"
