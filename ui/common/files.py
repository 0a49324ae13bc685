"""Files behind an asset: revealing them in the file manager and copying them out (all frames)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    from core.catalog.records import AssetRecord

log = logging.getLogger(__name__)


def asset_files(record: AssetRecord) -> list[Path]:
    """Every file of an asset: one file, or each frame of a sequence (from its stored pattern)."""
    if record.is_sequence:
        from core.ingest import sequence_frames  # lazy: pulls in the media stack

        frames = list(sequence_frames(record.metadata))
        if frames:
            return frames
    return [Path(record.path)]


@dataclass(frozen=True)
class RevealOutcome:
    folder: Path
    problem: str | None = None  # None: the file manager was asked to show the folder


def reveal_in_file_manager(path: Path) -> RevealOutcome:
    """Open the folder holding ``path`` (the portable part of "reveal": selecting needs per-OS tools).

    A missing folder and a system that could not start a file manager are different problems with
    different fixes (the files moved; no ``xdg-open`` or no default application), so they say so.
    """
    folder = path if path.is_dir() else path.parent
    if not folder.exists():
        log.warning("Cannot reveal %s: the folder no longer exists", folder)
        return RevealOutcome(folder, f"The folder {folder} no longer exists.")
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        log.warning("Cannot reveal %s: no file manager could be started", folder)
        return RevealOutcome(
            folder,
            f"The folder {folder} exists, but no file manager could be started to show it. "
            "The system has no default application for folders (on Linux, xdg-open from xdg-utils).",
        )
    return RevealOutcome(folder)


def copy_out(
    records: Sequence[AssetRecord], destination: Path
) -> Generator[tuple[int, int, str], None, list[str]]:
    """Copy each asset's files into ``destination``; yields (done, total, name); returns problems.

    A name already taken in the destination gets a numbered suffix instead of being overwritten;
    a sequence's frames go into a folder of their own so frame names never collide.
    """
    plan: list[tuple[Path, Path]] = []
    for record in records:
        files = asset_files(record)
        target_dir = destination
        if record.is_sequence and len(files) > 1:
            target_dir = _free_path(destination / _folder_name(Path(record.name).stem))
        plan.extend((source, target_dir) for source in files)
    problems: list[str] = []
    for done, (source, target_dir) in enumerate(plan, start=1):
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, _free_path(target_dir / source.name))
        except OSError as exc:
            problems.append(f"{source}: {exc.strerror or exc}")
            log.warning("Copy out of %s failed: %s", source, exc)
        yield done, len(plan), source.name
    return problems


def _folder_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-[] " else "_" for c in name).strip("._") or "sequence"


def _free_path(path: Path) -> Path:
    if not path.exists():
        return path
    for n in range(2, 10_000):
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        if not candidate.exists():
            return candidate
    return path


def remove_library_copies(records: Sequence[AssetRecord], library_dir: Path) -> int:
    """Delete the files of copied-in assets; only ever inside the library (never an artist's original)."""
    removed = 0
    library = library_dir.resolve()
    for record in records:
        if not record.copied:
            continue
        for path in asset_files(record):
            resolved = path.resolve()
            if library not in resolved.parents:
                log.warning("Not deleting %s: it is outside the project library %s", path, library)
                continue
            try:
                resolved.unlink(missing_ok=True)
                removed += 1
            except OSError as exc:
                log.warning("Cannot delete library copy %s: %s", path, exc)
    return removed
