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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import qdebounced

from core.ai.installed import installed_models
from core.settings import Settings, save_settings
from ui.common import theme
from ui.preferences.models_page import show_folder_report, show_models_status
from ui.preferences.preference_pages import PreferencePages
from ui.preferences.preferences_fields import (
    RESTART_FIELDS,
    BlenderProbe,
    ModelDirReport,
    SettingField,
    describe_model_dir,
    explain_error,
    probe_blender,
    set_tone,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.ai.installed import ModelsReport
    from core.paths import AppPaths
    from workers.background import BackgroundWork

log = logging.getLogger(__name__)


class PreferencesDialog(PreferencePages):
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
        super().__init__(paths, parent)
        self.settings = settings
        self._open_sign_in = open_sign_in
        self._pending_restart: set[str] = set()
        self._background = background
        self._scanned_model_dir = ""
        # The pages lay the editors out; what the buttons and the model folder start lives here.
        self.blender_browse_button.clicked.connect(self._browse_blender)
        self.detect_button.clicked.connect(self.detect_blender)
        self.model_dir_browse_button.clicked.connect(self._browse_model_dir)
        self.model_dir.textChanged.connect(self._schedule_model_scan)
        self.sign_in_button.clicked.connect(self.open_sign_in)
        self.sign_in_button.setVisible(self._open_sign_in is not None)
        self._show_account()

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

    # ---- pages and account -----------------------------------------------------------------------

    def _show_page(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        self.defaults_button.setEnabled(any(f.page == index for f in self._editable()))

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
