"""The pieces of the Preferences dialog: one ``SettingField`` per setting, the editor factories, the
words shown for notification kinds and modes, its style sheet, and the background probes (Blender,
model folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from core.notify import NotificationKind

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from PySide6.QtCore import SignalInstance

# (settings kind, label in plain words, what it is about)
NOTIFY_KINDS = (
    (NotificationKind.INGEST, "Imported files", "Files you dropped or ingested have been catalogued."),
    (
        NotificationKind.RENDER,
        "Renders and AI jobs",
        "Thumbnails, previews, turntables and auto-tagging batches.",
    ),
    (NotificationKind.MENTION, "Mentions", "Someone wrote @your-name in a comment."),
    (NotificationKind.TASK_ASSIGNED, "Tasks assigned to me", "A task in a shared project was given to you."),
    (NotificationKind.COMMENT, "New comments", "Someone commented on an asset in a shared project."),
    (NotificationKind.ALERT, "Alerts", "A job step stalled, jobs came back after a crash, sync was lost."),
)
NOTIFY_MODES = (
    ("immediate", "Immediately", "a pop-up as soon as it happens."),
    ("batched", "Batched", "one summary pop-up a few seconds later for everything that arrived."),
    ("off", "Off", "no pop-up; still listed in the Notifications panel."),
)
# Read once at start-up: the lanes' thread count, the media limits, the warm render and inference processes.
RESTART_FIELDS = frozenset(
    {
        "media_threads",
        "max_file_size_mb",
        "max_image_pixels",
        "ingest_memory_mb",
        "inference_device",
        "model_dir",
    }
)

STYLE_SHEET = """
QListWidget#PreferencePages { background: #1a1b1e; border: none; border-right: 1px solid #2c2e33;
    padding-top: 10px; }
QListWidget#PreferencePages::item { padding: 7px 12px; border-radius: 4px; margin: 1px 8px; }
QListWidget#PreferencePages::item:selected { background: #2f5f9e; color: #ffffff; }
QLabel#PageTitle { font-size: 17px; font-weight: 600; color: #f0f1f3; }
QLabel#FieldError { color: #ff8a80; }
QLabel#EnvNote { color: #f0b454; }
QLabel#ProbeOk { color: #5fcf8a; }
QDoubleSpinBox { background: #17181b; border: 1px solid #34363c; border-radius: 5px; padding: 4px 7px; }
QDoubleSpinBox:focus { border-color: #4a9eff; }
QSpinBox:disabled, QDoubleSpinBox:disabled { color: #6b6e76; background: #1c1d20; }
QSpinBox::up-button, QSpinBox::down-button, QDoubleSpinBox::up-button, QDoubleSpinBox::down-button {
    width: 0px; border: none; }
QLabel#RestartChip { color: #b39b6b; font-size: 11px; }
QWidget[invalid="true"] { border-color: #c0504d; }
QPushButton:default:disabled { background: #25262a; border-color: #2f3136; color: #6b6e76; }
QLabel#Banner { border-radius: 4px; padding: 6px 8px; }
QLabel#Banner[tone="error"] { color: #ff8a80; background: #3a2023; border: 1px solid #6b2b30; }
QLabel#Banner[tone="warning"] { color: #f3cf8f; background: #3a3121; border: 1px solid #6b5426; }
QLabel#Banner[tone="ok"] { color: #a6e8bf; background: #1f3327; border: 1px solid #2f6b47; }
"""
_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def explain_error(error: Any, show: Callable[[Any], str]) -> str:
    """A pydantic error in the units on screen ("Must be at least 32 px.")."""
    bound = _BOUNDS.get(error["type"])
    context = error.get("ctx") or {}
    if bound is not None and bound[1] in context:
        return f"Must be {bound[0]} {show(context[bound[1]])}."
    return str(error["msg"])


@dataclass
class SettingField:
    """One setting on a page: its editor, how to read and write it, and its inline error line."""

    name: str
    label: str
    editor: QWidget  # what gets disabled when the environment pins the value
    get: Callable[[], Any]
    put: Callable[[Any], None]
    changed: SignalInstance
    show: Callable[[Any], str] = str  # a raw value in the units on screen, for error messages
    page: int = 0
    error: QLabel = field(default_factory=QLabel)


def form_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setContentsMargins(0, 6, 0, 0)  # level with the editor's text, not its frame
    return label


def spin_field(name: str, label: str, suffix: str, maximum: int) -> SettingField:
    # The range is wide on purpose: Settings holds the real limits and the dialog explains them inline.
    spin = QSpinBox()
    spin.setRange(0, maximum)
    spin.setSuffix(suffix)
    spin.setGroupSeparatorShown(True)
    spin.setKeyboardTracking(False)  # validate a typed number once it is entered, not per keystroke
    _tidy(spin)
    spin.setFixedWidth(170)
    return SettingField(
        name, label, spin, spin.value, spin.setValue, spin.valueChanged, show=lambda v: f"{v:,}{suffix}"
    )


def scaled_field(
    name: str,
    label: str,
    suffix: str,
    *,
    scale: float = 1.0,
    decimals: int = 0,
    maximum: float = 1e6,
    raw_unit: str = "",
) -> SettingField:
    """A number shown in other units (pixels as megapixels). The stored value is kept exactly unless
    the user edits it, so opening and saving never rounds a value nobody touched."""
    spin = QDoubleSpinBox()
    spin.setRange(0, maximum)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    spin.setGroupSeparatorShown(True)
    spin.setKeyboardTracking(False)
    _tidy(spin)
    spin.setFixedWidth(170)
    shown: dict[str, Any] = {}

    def put(value: Any) -> None:
        spin.setValue(value / scale)
        shown.update(raw=value, display=spin.value())

    def get() -> Any:
        if shown and spin.value() == shown["display"]:
            return shown["raw"]
        raw = spin.value() * scale
        return round(raw) if isinstance(shown.get("raw"), int) else raw

    def show(value: Any) -> str:
        converted = float(value) / scale
        if raw_unit and 0 < converted < 10 ** (-decimals):  # too small to show in display units
            return f"{value:,} {raw_unit}{'s' if value != 1 else ''}"
        return f"{converted:,.{decimals}f}{suffix}"

    return SettingField(name, label, spin, get, put, spin.valueChanged, show=show)


def _tidy(spin: QAbstractSpinBox) -> None:
    # The dialog's style sheet hides the step buttons (arrow keys and the wheel still step); with the
    # NoButtons symbol instead, the themed spin box draws no text at all.
    lead = spin.lineEdit()
    if lead is not None:
        lead.setTextMargins(5, 0, 0, 0)


def combo_field(name: str, label: str, choices: tuple[tuple[str, str], ...]) -> SettingField:
    combo = QComboBox()
    for value, text in choices:
        combo.addItem(text, value)
    combo.setFixedWidth(300)

    def put(value: Any) -> None:
        combo.setCurrentIndex(max(combo.findData(value), 0))

    return SettingField(name, label, combo, combo.currentData, put, combo.currentIndexChanged)


def check_field(name: str, label: str, text: str) -> SettingField:
    check = QCheckBox(text)
    return SettingField(name, label, check, check.isChecked, check.setChecked, check.toggled)


def path_field(name: str, label: str, line: QLineEdit, *buttons: QWidget) -> SettingField:
    """A path typed or browsed; the editor is the whole row, so an environment pin locks the buttons."""
    return SettingField(
        name, label, row(line, *buttons), lambda: line.text().strip(), line.setText, line.textChanged
    )


def note(text: str, object_name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    return label


def row(*widgets: QWidget) -> QWidget:
    """Widgets side by side; the first one takes the spare width."""
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(6)
    for index, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if index == 0 else 0)
    return holder


def set_tone(label: QLabel, object_name: str, text: str) -> None:
    """Change a label's text and its style (object name) together."""
    label.setObjectName(object_name)
    label.setText(text)
    label.style().unpolish(label)
    label.style().polish(label)


# ---- probes: plain functions run on a worker thread -------------------------------------------------


@dataclass(frozen=True)
class BlenderProbe:
    path: str | None
    version: str | None


def probe_blender(configured: str) -> BlenderProbe:
    """Which Blender the renderer would use, and its version (runs ``blender --version``)."""
    from core.render.blender_backend import blender_version, find_blender

    found = find_blender(configured.strip())
    if found is None:
        return BlenderProbe(None, None)
    return BlenderProbe(str(found), blender_version(found))


@dataclass(frozen=True)
class ModelDirReport:
    directory: str
    # (name, task, state): state is "present", "download" (fetched on first use) or "missing"
    models: list[tuple[str, str, str]] = field(default_factory=list)
    manifest_found: bool = False
    error: str = ""


def describe_model_dir(directory: Path) -> ModelDirReport:
    """The models ``directory/manifest.json`` lists and whether their files are there (the folder may
    be a slow studio share, hence a worker)."""
    from core.ai.models import MANIFEST_NAME, ModelError, load_manifest

    if not directory.is_dir():
        return ModelDirReport(str(directory), error=f"{directory} does not exist (yet).")
    try:
        entries = load_manifest(directory)
    except ModelError as exc:
        return ModelDirReport(str(directory), manifest_found=True, error=str(exc))
    missing = {True: "download", False: "missing"}  # a listed URL means it is fetched on first use
    models: list[tuple[str, str, str]] = [
        (e.name, e.task, "present" if e.path_in(directory).is_file() else missing[bool(e.url)])
        for e in entries
    ]
    return ModelDirReport(str(directory), models, (directory / MANIFEST_NAME).is_file())
