"""Which server project each local catalog project shares its comments and tasks with.

Kept in ``sync_links.json`` in the config dir, beside ``settings.json``, so the desktop app and the
``stratopipe sync`` commands (a render node, a pipeline script) share one answer. The file is read on
every question rather than cached: another process may have linked a project since.

Before this file existed the app kept links in its Qt ``ui.ini`` (group ``sync``, keys ``links\\<id>``);
they are copied over once, when the links file is first created, whichever side opens it first.
"""

from __future__ import annotations

import configparser
import json
import logging
import threading
from typing import TYPE_CHECKING

from core.json_files import write_json_atomically

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

LINKS_FILE = "sync_links.json"
LEGACY_UI_STATE_FILE = "ui.ini"  # the app's QSettings file (``ui.shell.main_window.UI_STATE_FILE``)
LINKS_SCHEMA_VERSION = 1


def legacy_links(ui_state_file: Path) -> dict[int, int]:
    """Links the app stored in its ``ui.ini``; QSettings writes ``[sync]`` / ``links\\3=7``."""
    if not ui_state_file.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(ui_state_file, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        log.warning("event=legacy_links_unreadable file=%s error=%r", ui_state_file, str(exc))
        return {}
    if not parser.has_section("sync"):
        return {}
    links: dict[int, int] = {}
    for key, value in parser.items("sync"):
        group, _, local = key.partition("\\")
        server = value.strip()
        if group != "links" or not local.isdigit() or not server.isdigit():
            continue
        if int(server):  # 0 was the app's "not shared"
            links[int(local)] = int(server)
    return links


class ProjectLinks:
    """Local project id -> server project id, in one small JSON file written atomically."""

    def __init__(self, path: Path, legacy_ui_state: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        if legacy_ui_state is not None and not path.exists():
            migrated = legacy_links(legacy_ui_state)
            self._write(migrated)
            log.info("event=links_migrated count=%d from=%s", len(migrated), legacy_ui_state)

    @classmethod
    def in_config_dir(cls, config_dir: Path) -> ProjectLinks:
        return cls(config_dir / LINKS_FILE, config_dir / LEGACY_UI_STATE_FILE)

    def all(self) -> dict[int, int]:
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("event=links_unreadable file=%s error=%r", self.path, str(exc))
            return {}
        stored = loaded.get("links", {}) if isinstance(loaded, dict) else {}
        return {int(k): int(v) for k, v in stored.items() if str(k).isdigit() and isinstance(v, int)}

    def server_project(self, local_project_id: int | None) -> int | None:
        if local_project_id is None:
            return None
        return self.all().get(local_project_id)

    def local_projects(self, server_project_id: int) -> list[int]:
        return sorted(local for local, server in self.all().items() if server == server_project_id)

    def link(self, local_project_id: int, server_project_id: int | None) -> None:
        """Share a local project with a server project; None stops sharing it."""
        with self._lock:
            links = self.all()
            if server_project_id:
                links[local_project_id] = server_project_id
            else:
                links.pop(local_project_id, None)
            self._write(links)

    def _write(self, links: dict[int, int]) -> None:
        data = {
            "schema_version": LINKS_SCHEMA_VERSION,
            "links": {str(k): v for k, v in sorted(links.items())},
        }
        write_json_atomically(self.path, data)
