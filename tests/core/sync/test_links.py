"""Project links shared by the app and ``stratopipe sync``, and the app's old ``ui.ini`` links moved once."""

from __future__ import annotations

from pathlib import Path

from core.sync.links import LINKS_FILE, ProjectLinks


def test_links_are_shared_through_the_config_dir(tmp_path: Path) -> None:
    app, script = ProjectLinks.in_config_dir(tmp_path), ProjectLinks.in_config_dir(tmp_path)
    app.link(1, 7)
    app.link(2, 7)
    assert script.server_project(1) == 7  # another process sees it without reopening
    assert script.local_projects(7) == [1, 2]
    script.link(1, None)
    assert app.server_project(1) is None
    assert app.all() == {2: 7}


def test_the_apps_ui_ini_links_are_migrated_once(tmp_path: Path) -> None:
    # As QSettings writes them; 0 was the app's "not shared".
    (tmp_path / "ui.ini").write_text("[session]\nproject_id=3\n\n[sync]\nlinks\\3=7\nlinks\\4=0\n")
    assert ProjectLinks.in_config_dir(tmp_path).all() == {3: 7}
    assert (tmp_path / LINKS_FILE).is_file()
    ProjectLinks.in_config_dir(tmp_path).link(3, None)
    # The old file is not read again: an unlinked project stays unlinked.
    assert ProjectLinks.in_config_dir(tmp_path).all() == {}
