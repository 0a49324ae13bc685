"""Preferences (Edit ▸ Preferences…): every user setting on a few pages, validated by ``Settings``.

Apply writes the settings file atomically and then updates the live ``Settings`` object in place: the
notifier, the job scheduler and the lanes all hold that very object, so most changes reach them without
any re-wiring. What is read only at start-up (thread count, media limits, the warm render and inference
processes) is named in the dialog after Apply. A value pinned by ``STRATOPIPE_<FIELD>`` is shown locked,
and the file keeps its own value for it: the environment speaks for one run only.
"""

from __future__ import annotations

import json
import logging
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTreeWidget,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qdebounced

from core.ai.installed import installed_models
from core.settings import Settings, env_overrides, save_settings
from ui.common import theme
from ui.preferences.models_page import ModelsTable, models_field, show_folder_report, show_models_status
from ui.preferences.preferences_fields import (
    NOTIFY_KINDS,
    NOTIFY_MODES,
    RESTART_FIELDS,
    STYLE_SHEET,
    BlenderProbe,
    ModelDirReport,
    SettingField,
    check_field,
    combo_field,
    describe_model_dir,
    explain_error,
    form_label,
    note,
    path_field,
    probe_blender,
    row,
    scaled_field,
    set_tone,
    spin_field,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.ai.installed import ModelsReport
    from core.paths import AppPaths
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)


class PreferencesDialog(QDialog):
    settings_applied = Signal(object)  # list[str]: names of the fields that changed

    def __init__(
        self,
        settings: Settings,
        paths: AppPaths,
        background: BackgroundWork,
        *,
        open_sign_in: Callable[[], QDialog | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("PreferencesDialog")
        self.setWindowTitle("Preferences")
        self.setStyleSheet(STYLE_SHEET)
        self.settings, self.paths = settings, paths
        self._open_sign_in = open_sign_in
        self._overrides = env_overrides()
        self._fields: dict[str, SettingField] = {}
        self._pending_restart: set[str] = set()
        self._background = background
        self._scanned_model_dir = ""

        self.page_list = QListWidget()
        self.page_list.setObjectName("PreferencePages")
        self.page_list.setFixedWidth(180)
        self.pages = QStackedWidget()
        self._build_general()
        self._build_limits()
        self._build_rendering()
        self._build_ai()
        self._build_models()
        self._build_notifications()
        self._build_collaboration()

        self.banner = QLabel()
        self.banner.setObjectName("Banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        buttons = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(buttons.Ok | buttons.Apply | buttons.Cancel | buttons.RestoreDefaults)
        self.ok_button = self.buttons.button(buttons.Ok)
        self.apply_button = self.buttons.button(buttons.Apply)
        self.defaults_button = self.buttons.button(buttons.RestoreDefaults)
        self.defaults_button.setText("Page defaults")
        self.defaults_button.setToolTip("Put this page's settings back to their defaults (not saved yet)")
        self.defaults_button.clicked.connect(self.restore_page_defaults)
        self.apply_button.clicked.connect(self.apply)
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        for button in self.buttons.buttons():
            button.setIcon(QIcon())  # some desktop styles add stock icons; the app's buttons have none

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.page_list)
        body.addWidget(self.pages, 1)
        footer = QVBoxLayout()
        footer.setContentsMargins(16, 6, 16, 14)
        footer.setSpacing(10)
        footer.addWidget(self.banner)
        footer.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(body, 1)
        layout.addLayout(footer)

        self._load_from(self.settings)
        self.page_list.currentRowChanged.connect(self._show_page)
        for item in self._fields.values():
            item.changed.connect(self._revalidate)
        self.page_list.setCurrentRow(0)
        self._revalidate()
        self.resize(880, 580)

    # ---- pages -----------------------------------------------------------------------------------

    def _show_page(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        self.defaults_button.setEnabled(any(f.page == index for f in self._editable()))

    def _page(self, title: str, intro: str) -> QFormLayout:
        self.page_list.addItem(title)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(26, 20, 26, 10)
        heading = QLabel(title)
        heading.setObjectName("PageTitle")
        layout.addWidget(heading)
        layout.addWidget(note(intro, "Dim"))
        layout.addSpacing(12)
        form = QFormLayout()
        form.setHorizontalSpacing(18)
        form.setVerticalSpacing(14)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(form)
        layout.addStretch(1)
        self.pages.addWidget(page)
        return form

    def _add(
        self, form: QFormLayout, item: SettingField, help_text: str = "", extra: QWidget | None = None
    ) -> Any:
        """A row: the editor, then (as needed) a help line, extra status, the environment note and the
        error line. Returns the editor."""
        item.page = self.pages.count() - 1
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        editor_row = QHBoxLayout()
        editor_row.setSpacing(10)
        editor_row.addWidget(item.editor)
        if item.name in RESTART_FIELDS:
            chip = note("↻ after restart", "RestartChip")
            chip.setWordWrap(False)
            chip.setToolTip("StratoPipe reads this when it starts: a change takes effect after a restart.")
            editor_row.addWidget(chip)
        if item.editor.maximumWidth() < 10_000:
            editor_row.addStretch(1)  # fixed-width editors stay left-aligned
        column.addLayout(editor_row)
        if help_text:
            column.addWidget(note(help_text, "Dim"))
        if extra is not None:
            column.addWidget(extra)
        variable = self._overrides.get(item.name)
        if variable:
            item.editor.setEnabled(False)
            item.editor.setToolTip(f"Set by {variable} for this session")
            column.addWidget(note(f"Set by {variable} for this session", "EnvNote"))
        item.error = note("", "FieldError")
        item.error.hide()
        column.addWidget(item.error)
        form.addRow(form_label(item.label), box)
        self._fields[item.name] = item
        return item.editor

    def _build_general(self) -> None:
        form = self._page("General", "How thumbnails are made and where ingested files live.")
        self.thumbnail_size: QSpinBox = self._add(
            form,
            spin_field("thumbnail_size", "Thumbnail size", " px", 100_000),
            "Longest side of the thumbnails made from now on.",
        )
        self.media_threads: QSpinBox = self._add(
            form,
            spin_field("media_threads", "Media threads", "", 1024),
            "Threads that decode media and make thumbnails.",
        )
        self.media_threads.setSpecialValueText(f"Automatic ({os.cpu_count() or 1}, one per core)")
        self.media_threads.setFixedWidth(230)
        self.copy_into_library = self._add(
            form,
            check_field("copy_into_library", "Library", "Copy ingested files into the project library"),
            f"Otherwise files are catalogued where they are. Library: {self.paths.library_dir}",
        )

    def _build_limits(self) -> None:
        form = self._page(
            "Ingest limits",
            "A file beyond these limits is refused with a clear message instead of filling the memory; "
            "the rest of the batch goes on.",
        )
        self.max_file_size = self._add(
            form,
            spin_field("max_file_size_mb", "Largest file", " MB", 100_000_000),
            "Bigger files are listed as failed without being read.",
        )
        self.max_pixels = self._add(
            form,
            scaled_field(
                "max_image_pixels",
                "Largest image",
                " MP",
                scale=1_000_000,
                decimals=1,
                maximum=1_000_000,
                raw_unit="pixel",
            ),
            "Width × height in megapixels, checked before decoding (guards against decompression bombs).",
        )
        self.ingest_memory = self._add(
            form,
            spin_field("ingest_memory_mb", "Memory for decoding", " MB", 1_000_000),
            "Decoded pictures held at once while ingesting; an image that alone would need more than a "
            "third of it is refused, read from its header only.",
        )

    def _build_rendering(self) -> None:
        form = self._page("Rendering", "How 3D files become thumbnails, previews and turntables.")
        self.render_backend: QComboBox = self._add(
            form,
            combo_field(
                "render_backend",
                "Default renderer",
                (("pyrender", "pyrender (built in, OpenGL)"), ("blender", "Blender (Cycles / Eevee)")),
            ),
            "Used for every render from now on.",
        )
        self.blender_path = QLineEdit()
        self.blender_path.setPlaceholderText("Found automatically")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_blender)
        self.detect_button = QPushButton("Detect")
        self.detect_button.setToolTip("Find Blender and ask it for its version")
        self.detect_button.clicked.connect(self.detect_blender)
        self.blender_status = note("", "Dim")
        self.blender_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.blender_status.hide()
        self._add(
            form,
            path_field("blender_path", "Blender", self.blender_path, browse, self.detect_button),
            "The Blender program or its install folder.",
            self.blender_status,
        )
        self.render_timeout = self._add(
            form,
            scaled_field("render_timeout_s", "Time limit", " s", decimals=0, maximum=86_400),
            "A render running longer is stopped and reported (turntables get more).",
        )
        self.render_memory = self._add(
            form,
            spin_field("render_memory_mb", "Memory limit", " MB", 10_000_000),
            "The render process is stopped when it needs more.",
        )
        self.stall_timeout = self._add(
            form,
            scaled_field("stall_timeout_s", "Stall timeout", " s", decimals=0, maximum=86_400),
            "Any job step (not only renders) silent this long is stopped, retried, and you are alerted.",
        )

    def _build_ai(self) -> None:
        form = self._page(
            "AI", "Auto-tagging, focus crops and enhancement. Without models the classic methods are used."
        )
        self.inference_device: QComboBox = self._add(
            form,
            combo_field(
                "inference_device",
                "Device",
                (
                    ("auto", "Automatic (a GPU when there is one)"),
                    ("cuda", "NVIDIA GPU (CUDA)"),
                    ("mps", "Apple GPU (Metal)"),
                    ("cpu", "CPU only"),
                ),
            ),
            "Falls back to the CPU, with a note in the log, when the chosen device is missing.",
        )
        self.model_dir = QLineEdit()
        self.model_dir.setPlaceholderText(f"{self.paths.model_dir}  (default)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_model_dir)
        self.model_status = note("", "Dim")
        self.model_list = QTreeWidget()
        self.model_list.setHeaderLabels(["Model", "Task", "File"])
        self.model_list.setRootIsDecorated(False)
        self.model_list.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.model_list.header().setStretchLastSection(True)
        self.model_list.setMaximumHeight(130)
        self.model_list.hide()
        models = QWidget()
        models_column = QVBoxLayout(models)
        models_column.setContentsMargins(0, 2, 0, 0)
        models_column.addWidget(self.model_status)
        models_column.addWidget(self.model_list)
        self._add(
            form,
            path_field("model_dir", "Model folder", self.model_dir, browse),
            "A folder with manifest.json (yours or a studio share); empty uses the default.",
            models,
        )
        self.model_dir.textChanged.connect(self._schedule_model_scan)
        self._add(
            form,
            check_field("focus_thumbnails", "Grid", "Crop thumbnails to a small or off-centre subject"),
            "The whole picture stays one key away: O in the grid switches the selected assets.",
        )

    def _build_models(self) -> None:
        form = self._page("Models", "The AI models installed (built in, and from the model folder), checked.")
        self.models_table = ModelsTable()
        self.models_status = note("Checking the models…", "Dim")
        self._add(
            form,
            models_field(self.models_table),
            "Untick a model to switch it off: its task uses the next model, then the classic method.",
            self.models_status,
        )

    def _build_notifications(self) -> None:
        form = self._page("Notifications", "<br>".join(f"<b>{t}</b>: {why}" for _v, t, why in NOTIFY_MODES))
        self.notify_combos: dict[str, QComboBox] = {}
        for kind, label, what in NOTIFY_KINDS:
            item = combo_field(f"notify_{kind}", label, tuple((v, t) for v, t, _why in NOTIFY_MODES))
            item.editor.setMinimumWidth(0)
            item.editor.setFixedWidth(170)
            self.notify_combos[kind] = self._add(form, item, what)

    def _build_collaboration(self) -> None:
        form = self._page("Collaboration", "Comments and tasks are shared through a StratoPipe server.")
        self.server_url = QLineEdit()
        self.server_url.setReadOnly(True)
        self.server_url.setPlaceholderText("Not connected to a server")
        self.account = QLabel()
        self.account.setContentsMargins(0, 6, 0, 0)  # level with its form label
        self.sign_in_button = QPushButton("Sign in…")
        self.sign_in_button.clicked.connect(self.open_sign_in)
        self.sign_in_button.setVisible(self._open_sign_in is not None)
        form.addRow(form_label("Server"), row(self.server_url, self.sign_in_button))
        form.addRow(form_label("Account"), self.account)
        text = "The server and the account are chosen when you sign in (File ▸ Sign in…)."
        if "server_url" in self._overrides:
            text = f"Set by {self._overrides['server_url']} for this session. {text}"
        form.addRow("", note(text, "Dim"))
        self._show_account()

    def _show_account(self) -> None:
        self.server_url.setText(self.settings.server_url)
        set_tone(
            self.account, "" if self.settings.username else "Dim", self.settings.username or "Not signed in"
        )
        self.sign_in_button.setText("Change server or account…" if self.settings.server_url else "Sign in…")

    def open_sign_in(self) -> None:
        dialog = self._open_sign_in() if self._open_sign_in is not None else None
        if dialog is not None:
            dialog.finished.connect(self._show_account)

    # ---- values ----------------------------------------------------------------------------------

    def _load_from(self, settings: Settings, names: list[str] | None = None) -> None:
        for name in names if names is not None else list(self._fields):
            self._fields[name].put(getattr(settings, name))
        self._schedule_model_scan()

    def _editable(self) -> list[SettingField]:
        return [f for name, f in self._fields.items() if name not in self._overrides]

    def _validate(self) -> tuple[Settings | None, dict[str, str]]:
        """The settings the form describes, or the problems per field in the units on screen."""
        for item in self._fields.values():
            if isinstance(item.editor, QAbstractSpinBox):
                item.editor.interpretText()  # a number typed but not yet confirmed counts
        candidate = {**self.settings.model_dump(), **{f.name: f.get() for f in self._editable()}}
        try:
            return Settings.model_validate(candidate), {}
        except ValidationError as exc:
            problems: dict[str, str] = {}
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                problems.setdefault(name, self._explain(name, error))
            return None, problems

    def _explain(self, name: str, error: Any) -> str:
        item = self._fields.get(name)
        return explain_error(error, item.show if item is not None else str)

    def _diff(self, validated: Settings) -> list[str]:
        return [
            f.name for f in self._editable() if getattr(validated, f.name) != getattr(self.settings, f.name)
        ]

    def changed_fields(self) -> list[str]:
        """Fields whose value on screen differs from the live settings (empty while invalid)."""
        validated, _problems = self._validate()
        return self._diff(validated) if validated is not None else []

    def _revalidate(self) -> None:
        validated, problems = self._validate()
        bad_pages = set()
        for item in self._fields.values():
            message = problems.get(item.name, "")
            item.error.setText(message)
            item.error.setVisible(bool(message))
            if item.editor.property("invalid") != bool(message):
                item.editor.setProperty("invalid", bool(message))
                item.editor.style().polish(item.editor)  # the red frame follows the property
            if message:
                bad_pages.add(item.page)
        for index in range(self.page_list.count()):
            self.page_list.item(index).setForeground(
                QColor(theme.ERROR if index in bad_pages else theme.TEXT)
            )
        if problems:
            count = len(problems)
            self._set_banner(f"Fix the value{'s' if count > 1 else ''} in red before saving.", "error")
        elif self.banner.property("tone") == "error":
            self._set_banner("", "")
        self.apply_button.setEnabled(validated is not None and bool(self._diff(validated)))
        self.ok_button.setEnabled(validated is not None)

    def _set_banner(self, text: str, tone: str) -> None:
        self.banner.setProperty("tone", tone)
        set_tone(self.banner, "Banner", text)
        self.banner.setVisible(bool(text))

    def restore_page_defaults(self) -> None:
        page = self.pages.currentIndex()
        self._load_from(Settings(), [f.name for f in self._editable() if f.page == page])
        self._revalidate()

    # ---- apply -----------------------------------------------------------------------------------

    def apply(self) -> bool:
        """Validate, save atomically, then update the live settings in place. Returns False, having
        saved and changed nothing, when a value is invalid or the file cannot be written."""
        validated, problems = self._validate()
        if validated is None:
            self._revalidate()
            first = next((self._fields[n].page for n in problems if n in self._fields), None)
            if first is not None:
                self.page_list.setCurrentRow(first)
            return False
        changed = self._diff(validated)
        if not changed:
            return True
        try:
            save_settings(self._persistable(validated), self.paths.settings_file)
        except OSError as exc:
            log.exception("Cannot save settings to %s", self.paths.settings_file)
            self._set_banner(f"Could not save the settings ({exc}); nothing was changed.", "error")
            return False
        for name in changed:
            # In place: the notifier, the scheduler and the lanes hold this very object.
            setattr(self.settings, name, getattr(validated, name))
        log.info("Preferences changed: %s", ", ".join(changed))
        self._pending_restart |= RESTART_FIELDS.intersection(changed)
        if self._pending_restart:
            labels = ", ".join(self._fields[n].label.lower() for n in sorted(self._pending_restart))
            self._set_banner(f"Saved. Restart StratoPipe to use the new {labels}.", "warning")
        else:
            self._set_banner("Saved. The changes are in effect now.", "ok")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")  # nothing to undo now
        self._revalidate()
        self.settings_applied.emit(changed)
        return True

    def _persistable(self, validated: Settings) -> Settings:
        """What goes in the file: the validated values, except that a field pinned by the environment
        keeps the file's own value (or its default) rather than this run's override."""
        if not self._overrides:
            return validated
        stored: dict[str, Any] = {}
        try:
            loaded = json.loads(self.paths.settings_file.read_text(encoding="utf-8"))
            stored = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            log.debug("No readable settings file yet: pinned fields are saved with their defaults")
        values = validated.model_dump()
        for name in self._overrides:
            values[name] = stored.get(name, Settings.model_fields[name].default)
        try:
            return Settings.model_validate(values)
        except ValidationError:
            for name in self._overrides:  # the file held a bad value for it: the default then
                values[name] = Settings.model_fields[name].default
            return Settings.model_validate(values)

    def _ok(self) -> None:
        if self.apply():
            self.accept()

    # ---- background probes -----------------------------------------------------------------------

    def _start(self, function: Callable[..., Any], argument: Any, on_result: Callable[[Any], None]) -> None:
        # A check may outlive the dialog: its answer then goes nowhere, as the slots die with it.
        self._background.call(partial(function, argument), on_result, errored=self._on_probe_error)

    def detect_blender(self) -> None:
        """Find Blender (the typed path first) and show its version; a worker runs ``--version``."""
        self.detect_button.setEnabled(False)
        set_tone(self.blender_status, "Dim", "Looking for Blender…")
        self.blender_status.show()
        self._start(probe_blender, self.blender_path.text(), self._on_blender_found)

    def _on_blender_found(self, probe: BlenderProbe) -> None:
        self.detect_button.setEnabled("blender_path" not in self._overrides)
        if probe.path is None:
            set_tone(
                self.blender_status, "FieldError", "No Blender found. Install it, or choose it with Browse…"
            )
        elif probe.version is None:
            set_tone(self.blender_status, "FieldError", f"{probe.path} did not answer like Blender does.")
        else:
            set_tone(self.blender_status, "ProbeOk", f"✓ {probe.version}  ·  {probe.path}")
            typed = self.blender_path.text().strip()
            if typed and typed != probe.path and "blender_path" not in self._overrides:
                # An install folder becomes its program; an empty field stays "find it each time".
                self.blender_path.setText(probe.path)

    @qdebounced(timeout=300)
    def _schedule_model_scan(self) -> None:
        typed = self.model_dir.text().strip()
        directory = Path(typed).expanduser() if typed else self.paths.model_dir
        self._scanned_model_dir = str(directory)
        set_tone(self.model_status, "Dim", "Reading the model folder…")
        self._start(describe_model_dir, directory, self._on_models)
        device = self._fields["inference_device"].get()
        check = partial(installed_models, device_preference=device)
        self._start(check, directory, partial(self._on_installed, str(directory)))

    def _on_models(self, report: ModelDirReport) -> None:
        if report.directory == self._scanned_model_dir:  # not an older folder's late answer
            show_folder_report(self.model_status, self.model_list, report)

    def _on_installed(self, directory: str, report: ModelsReport) -> None:
        if directory == self._scanned_model_dir:
            self.models_table.show_report(report)
            show_models_status(self.models_status, report)

    def _on_probe_error(self, exc: BaseException) -> None:
        log.error("A preferences check failed", exc_info=exc)
        self.detect_button.setEnabled("blender_path" not in self._overrides)
        self._set_banner(f"A check failed: {exc}", "error")

    def _browse_blender(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Choose the Blender program", self.blender_path.text())
        if chosen:
            self.blender_path.setText(chosen)
            self.detect_blender()

    def _browse_model_dir(self) -> None:
        start = self.model_dir.text() or str(self.paths.model_dir)
        chosen = QFileDialog.getExistingDirectory(self, "Choose the model folder", start)
        if chosen:
            self.model_dir.setText(chosen)
