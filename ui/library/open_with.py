"""Opening an asset outside StratoPipe: with the system's default application, or with a DCC the user
configured (``Settings.open_with``: menu label -> program, a path or a name on PATH).

Programs start detached: they outlive StratoPipe and never hold up its quit. A failure is data
(:class:`LaunchOutcome`), worded for the artist, so the menu can say what went wrong.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices

from ui.common.files import asset_files

if TYPE_CHECKING:
    from pathlib import Path

    from core.catalog.records import AssetRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LaunchOutcome:
    problem: str | None = None  # None: the application was started
    pid: int | None = None


def launch_file(record: AssetRecord) -> Path:
    """The file handed to another application: a sequence's first frame (DCCs and players find the
    rest of the sequence from it; a pattern with ``#`` means nothing to most of them)."""
    return asset_files(record)[0]


def open_with_default(record: AssetRecord) -> LaunchOutcome:
    path = launch_file(record)
    if not path.exists():
        return LaunchOutcome(f"{path} no longer exists.")
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        return LaunchOutcome(f"The system has no default application for {path.name}.")
    return LaunchOutcome()


def open_with_program(label: str, program: str, record: AssetRecord) -> LaunchOutcome:
    """Start ``program`` with the asset's file as its one argument."""
    path = launch_file(record)
    if not path.exists():
        return LaunchOutcome(f"{path} no longer exists.")
    executable = shutil.which(program)
    if executable is None:
        return LaunchOutcome(f"{label}: the program {program!r} was not found (see the open_with setting).")
    started, pid = QProcess.startDetached(executable, [str(path)], str(path.parent))
    if not started:
        return LaunchOutcome(f"{label}: {executable} could not be started.")
    log.info("Opened %s with %s (pid %d)", path, executable, pid)
    return LaunchOutcome(pid=pid)
