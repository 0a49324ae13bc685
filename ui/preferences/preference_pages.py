"""The Preferences dialog's pages: the page list, the stacked pages and every setting's editor, by name.

``PreferencesDialog`` builds on this and gives the editors their behaviour (validation, Apply, the
background checks, the sign-in); here is only what the pages show and how each row is laid out, so a
new setting is one ``_add`` call on its page.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
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

from core.settings import env_overrides
from ui.preferences.models_page import ModelsTable, models_field
from ui.preferences.preferences_fields import (
    NOTIFY_KINDS,
    NOTIFY_MODES,
    RESTART_FIELDS,
    STYLE_SHEET,
    SettingField,
    check_field,
    combo_field,
    form_label,
    note,
    path_field,
    row,
    scaled_field,
    spin_field,
)

if TYPE_CHECKING:
    from core.paths import AppPaths


class PreferencePages(QDialog):
    """The pages and their editors, without behaviour: the buttons and fields that start something
    (Browse…, Detect, the model folder, Sign in…) are connected by ``PreferencesDialog``."""

    def __init__(self, paths: AppPaths, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PreferencesDialog")
        self.setWindowTitle("Preferences")
        self.setStyleSheet(STYLE_SHEET)
        self.paths = paths
        self._overrides = env_overrides()
        self._fields: dict[str, SettingField] = {}

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
        self.blender_browse_button = QPushButton("Browse…")
        self.detect_button = QPushButton("Detect")
        self.detect_button.setToolTip("Find Blender and ask it for its version")
        self.blender_status = note("", "Dim")
        self.blender_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.blender_status.hide()
        self._add(
            form,
            path_field(
                "blender_path", "Blender", self.blender_path, self.blender_browse_button, self.detect_button
            ),
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
        self.model_dir_browse_button = QPushButton("Browse…")
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
            path_field("model_dir", "Model folder", self.model_dir, self.model_dir_browse_button),
            "A folder with manifest.json (yours or a studio share); empty uses the default.",
            models,
        )
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
        form.addRow(form_label("Server"), row(self.server_url, self.sign_in_button))
        form.addRow(form_label("Account"), self.account)
        text = "The server and the account are chosen when you sign in (File ▸ Sign in…)."
        if "server_url" in self._overrides:
            text = f"Set by {self._overrides['server_url']} for this session. {text}"
        form.addRow("", note(text, "Dim"))
