"""The Preferences dialog over a real settings file in the test's data dir."""

from __future__ import annotations

import json
import os
import stat
from typing import TYPE_CHECKING, Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from core.ai.models import ModelEntry, write_manifest
from core.settings import Settings, load_settings
from ui.preferences.preferences import PreferencesDialog
from ui.shell.notifications import Notifier

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.catalog import Catalog
    from core.paths import AppPaths
    from tests.ui.conftest import RecordingTray
    from ui.shell.main_window import MainWindow
    from workers.background import BackgroundWork


def _dialog(
    qtbot: Any, background: BackgroundWork, settings: Settings, paths: AppPaths, **kwargs: Any
) -> PreferencesDialog:
    dialog = PreferencesDialog(settings, paths, background, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _stored(paths: AppPaths) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(paths.settings_file.read_text(encoding="utf-8"))
    return loaded


def _pick(combo: Any, value: str) -> None:
    combo.setCurrentIndex(combo.findData(value))


def test_menu_opens_preferences_and_apply_reaches_file_settings_and_notifier(
    qtbot: Any, window: MainWindow, paths: AppPaths, settings: Settings, tray: RecordingTray
) -> None:
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    action = next(a for a in edit_menu.actions() if a.text() == "Preferences…")
    assert action.shortcut().toString() == "Ctrl+,"
    action.trigger()
    dialog = window.preferences.dialog
    assert isinstance(dialog, PreferencesDialog)
    assert not dialog.sign_in_button.isVisible()  # no sync UI in this window
    assert not dialog.apply_button.isEnabled()  # nothing changed yet

    _pick(dialog.notify_combos["ingest"], "off")
    _pick(dialog.render_backend, "blender")
    assert dialog.apply_button.isEnabled()
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)

    stored = _stored(paths)
    assert stored["notify_ingest"] == "off"
    assert stored["render_backend"] == "blender"
    assert load_settings(paths.settings_file).notify_ingest == "off"
    assert window.settings is settings
    assert (settings.notify_ingest, settings.render_backend) == ("off", "blender")
    assert window.notifier.mode_for("ingest") == "off"
    window.notifier.notify("ingest", "Ingested 3 files: 3 ready")
    window.notifier.flush()
    assert tray.messages == []  # recorded in the centre, no balloon any more
    assert "in effect now" in dialog.banner.text()
    assert not dialog.apply_button.isEnabled()
    assert window.open_preferences() is dialog  # a second Ctrl+, raises the open one


def test_invalid_value_is_explained_inline_and_nothing_is_saved(
    qtbot: Any, background: BackgroundWork, settings: Settings, paths: AppPaths
) -> None:
    dialog = _dialog(qtbot, background, settings, paths)
    dialog.page_list.setCurrentRow(4)  # elsewhere: a failed apply must bring the bad page up
    dialog.thumbnail_size.setValue(5)
    _pick(dialog.notify_combos["comment"], "off")

    error = dialog._fields["thumbnail_size"].error
    assert not error.isHidden()
    assert error.text() == "Must be at least 32 px."
    assert not dialog.apply_button.isEnabled()
    assert not dialog.ok_button.isEnabled()
    assert dialog.apply() is False
    assert dialog.pages.currentIndex() == 0
    assert not paths.settings_file.exists()
    assert (settings.thumbnail_size, settings.notify_comment) == (256, "batched")

    dialog.max_pixels.setValue(0)
    assert dialog._fields["max_image_pixels"].error.text() == "Must be at least 1 pixel."
    dialog.max_pixels.setValue(120)
    dialog.thumbnail_size.setValue(512)
    assert error.isHidden()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    stored = _stored(paths)
    assert (stored["thumbnail_size"], stored["max_image_pixels"]) == (512, 120_000_000)
    assert settings.max_image_pixels == 120_000_000


def test_environment_pinned_field_is_locked_and_file_keeps_its_own_value(
    qtbot: Any, background: BackgroundWork, paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths.settings_file.write_text(json.dumps({"render_backend": "pyrender", "thumbnail_size": 300}))
    monkeypatch.setenv("STRATOPIPE_RENDER_BACKEND", "blender")
    settings = load_settings(paths.settings_file)
    assert settings.render_backend == "blender"
    dialog = _dialog(qtbot, background, settings, paths)

    assert not dialog.render_backend.isEnabled()
    assert dialog.render_backend.currentData() == "blender"
    page_text = [label.text() for label in dialog.pages.widget(2).findChildren(type(dialog.banner))]
    assert "Set by STRATOPIPE_RENDER_BACKEND for this session" in page_text
    assert dialog.thumbnail_size.isEnabled()

    dialog.thumbnail_size.setValue(400)
    assert dialog.changed_fields() == ["thumbnail_size"]
    assert dialog.apply()
    stored = _stored(paths)
    assert (stored["thumbnail_size"], stored["render_backend"]) == (400, "pyrender")
    assert settings.render_backend == "blender"  # this run keeps the override


def test_cancel_changes_nothing(
    qtbot: Any, background: BackgroundWork, paths: AppPaths, catalog: Catalog
) -> None:
    settings = Settings()
    notifier = Notifier(catalog, settings, None)
    before = settings.model_dump()
    dialog = _dialog(qtbot, background, settings, paths)
    _pick(dialog.notify_combos["ingest"], "off")
    dialog.copy_into_library.setChecked(True)
    dialog.media_threads.setValue(3)
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert not paths.settings_file.exists()
    assert settings.model_dump() == before
    assert notifier.mode_for("ingest") == "batched"


def test_restart_only_settings_are_named_after_apply(
    qtbot: Any, background: BackgroundWork, settings: Settings, paths: AppPaths
) -> None:
    dialog = _dialog(qtbot, background, settings, paths)
    assert dialog.media_threads.text().startswith("Automatic")  # 0 means one per core
    dialog.media_threads.setValue(3)
    dialog.render_memory.setValue(2048)
    assert dialog.apply()
    banner = dialog.banner.text()
    assert "Restart StratoPipe to use the new media threads" in banner
    assert "memory limit" not in banner  # render settings take effect with the next render
    assert settings.media_threads == 3
    dialog.page_list.setCurrentRow(1)
    dialog.defaults_button.click()  # only this page (ingest limits) goes back: nothing differs there
    assert dialog.changed_fields() == []
    dialog.page_list.setCurrentRow(0)
    dialog.defaults_button.click()
    assert dialog.changed_fields() == ["media_threads"]


def test_detect_finds_blender_off_the_ui_thread(
    qtbot: Any,
    background: BackgroundWork,
    settings: Settings,
    paths: AppPaths,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install = tmp_path / "Blender 9.9"
    install.mkdir()
    fake = install / "blender"
    # A stand-in Blender that answers --version slowly, as a real one does while it starts.
    fake.write_text('#!/bin/sh\nsleep 0.3\necho "Blender 9.9.9"\necho "\tbuild date: today"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    dialog = _dialog(qtbot, background, settings, paths)
    dialog.blender_path.setText(str(install))  # the install folder is enough
    dialog.detect_button.click()
    assert dialog.blender_status.text() == "Looking for Blender…"  # the click returned at once
    assert not dialog.detect_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.detect_button.isEnabled(), timeout=10_000)
    assert dialog.blender_status.text() == f"✓ Blender 9.9.9  ·  {fake}"
    assert dialog.blender_path.text() == str(fake)  # the folder became its program

    # Empty means "find it each time": Detect shows what that finds and keeps the field empty.
    monkeypatch.setenv("PATH", f"{install}{os.pathsep}{os.environ['PATH']}")
    dialog.blender_path.clear()
    dialog.detect_button.click()
    qtbot.waitUntil(lambda: dialog.detect_button.isEnabled(), timeout=10_000)
    assert dialog.blender_status.text() == f"✓ Blender 9.9.9  ·  {fake}"
    assert dialog.blender_path.text() == ""


def test_model_folder_lists_manifest_models_and_shows_errors_inline(
    qtbot: Any, background: BackgroundWork, settings: Settings, paths: AppPaths, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    common = {"format": "torchscript", "sha256": "0" * 64, "size": 4}
    write_manifest(
        share,
        [
            ModelEntry(name="tagger", task="classify", file="tagger.pt", labels=("prop",), **common),
            ModelEntry(
                name="upscaler", task="enhance", file="up.pt", url="https://example.invalid/up.pt", **common
            ),
            ModelEntry(name="saliency", task="detect", file="sal.pt", **common),
        ],
    )
    (share / "tagger.pt").write_bytes(b"1234")
    dialog = _dialog(qtbot, background, settings, paths)
    dialog.model_dir.setText(str(share))
    qtbot.waitUntil(lambda: dialog.model_list.topLevelItemCount() == 3, timeout=5000)
    rows = [
        tuple(dialog.model_list.topLevelItem(i).text(c) for c in range(3))
        for i in range(dialog.model_list.topLevelItemCount())
    ]
    assert rows == [
        ("tagger", "classify", "present"),
        ("upscaler", "enhance", "fetched on first use"),
        ("saliency", "detect", "missing"),
    ]
    assert dialog.model_status.text() == "manifest.json lists 3 models."

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    dialog.model_dir.setText(str(broken))
    qtbot.waitUntil(lambda: "cannot read model manifest" in dialog.model_status.text(), timeout=5000)
    assert dialog.model_status.objectName() == "FieldError"
    assert dialog.model_list.isHidden()
    assert dialog.apply()  # a folder without usable models is still a valid setting
    assert settings.model_dir == str(broken)


def test_sign_in_button_opens_the_sign_in_and_shows_the_new_server(
    qtbot: Any, background: BackgroundWork, settings: Settings, paths: AppPaths
) -> None:
    opened: list[QDialog] = []

    def open_sign_in() -> QDialog:
        login = QDialog()
        qtbot.addWidget(login)
        login.open()
        opened.append(login)
        return login

    dialog = _dialog(qtbot, background, settings, paths, open_sign_in=open_sign_in)
    dialog.page_list.setCurrentRow(6)  # Collaboration
    assert dialog.sign_in_button.isVisible()
    assert dialog.account.text() == "Not signed in"
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert len(opened) == 1
    # What SyncBridge does on a successful sign-in: the live settings get the server and the user.
    settings.server_url, settings.username = "ws://127.0.0.1:8765", "ana"
    opened[0].accept()
    assert dialog.server_url.text() == "ws://127.0.0.1:8765"
    assert dialog.account.text() == "ana"
    assert dialog.sign_in_button.text() == "Change server or account…"


def test_closing_while_a_check_runs_is_harmless(
    qtbot: Any, background: BackgroundWork, settings: Settings, paths: AppPaths, tmp_path: Path
) -> None:
    fake = tmp_path / "blender"
    fake.write_text('#!/bin/sh\nsleep 0.8\necho "Blender 9.9.9"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    dialog = PreferencesDialog(settings, paths, background)
    dialog.show()
    dialog.blender_path.setText(str(fake))
    dialog.detect_button.click()
    dialog.reject()
    with qtbot.waitSignal(dialog.destroyed, timeout=2000):
        dialog.deleteLater()
    assert background.running == 1  # the check outlives its dialog...
    qtbot.waitUntil(lambda: background.running == 0, timeout=5000)  # ...its answer goes nowhere, quietly
    assert not paths.settings_file.exists()


def test_models_page_lists_installed_models_and_switches_one_off(
    qtbot: Any, background: BackgroundWork, settings: Settings, paths: AppPaths
) -> None:
    dialog = _dialog(qtbot, background, settings, paths)
    table = dialog.models_table
    qtbot.waitUntil(lambda: table.topLevelItemCount() >= 5, timeout=60_000)
    rows = {table.topLevelItem(i).text(0): table.topLevelItem(i) for i in range(table.topLevelItemCount())}
    x2 = rows["realesr-animevideov3-x2"]
    assert [x2.text(c) for c in (1, 3, 4, 5)] == ["enhance", "1.3 MB", "✓ verified", "cpu"]
    assert "BSD-3-Clause" in x2.text(2)
    assert rows["mobilenet-v2-imagenet"].text(1) == "subjects"
    head = rows["kind-head"]
    assert [head.text(c) for c in (1, 4, 5)] == ["kinds", "✓ verified", "cpu"]
    assert x2.checkState(0) == Qt.CheckState.Checked
    assert dialog.models_status.text() == f"{len(rows)} of {len(rows)} models ready."

    x2.setCheckState(0, Qt.CheckState.Unchecked)
    assert dialog.apply_button.isEnabled()
    assert dialog.apply()
    assert settings.disabled_models == ["realesr-animevideov3-x2"]
    assert _stored(paths)["disabled_models"] == ["realesr-animevideov3-x2"]

    again = _dialog(qtbot, background, load_settings(paths.settings_file), paths)
    qtbot.waitUntil(lambda: again.models_table.topLevelItemCount() >= 5, timeout=60_000)
    states = {
        again.models_table.topLevelItem(i).text(0): again.models_table.topLevelItem(i).checkState(0)
        for i in range(again.models_table.topLevelItemCount())
    }
    assert states["realesr-animevideov3-x2"] == Qt.CheckState.Unchecked
    assert states["realesrgan-x4plus"] == Qt.CheckState.Checked
