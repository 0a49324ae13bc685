"""Re-running one step of a finished job into a staging folder, swapped in only when it succeeds.

A re-run with changed settings must not destroy the product the artist has now: if it fails, is
cancelled or stalls, the earlier thumbnail, render or analysis stays exactly as it was. Steps write
under ``paths.cache_dir`` (thumbnails, artifacts), so a re-run gets paths whose cache dir is a private
folder inside the real one (same file system: the swap is an atomic rename per file). On success every
output path under that folder is moved to the same place in the real cache and the output rewritten to
point there; otherwise the folder is deleted.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.paths import AppPaths

log = logging.getLogger(__name__)

STAGING_FOLDER = ".rerun"


def staged_paths(paths: AppPaths, job_id: int | None, step: str) -> AppPaths:
    folder = paths.cache_dir / STAGING_FOLDER / f"job{job_id}-{step}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(paths, cache_dir=folder)


def promote(output: dict[str, Any], staged: AppPaths, real: AppPaths) -> dict[str, Any]:
    """Move the staged files the output names into the real cache; the output, pointing there."""
    promoted = {key: _promote_value(value, staged.cache_dir, real.cache_dir) for key, value in output.items()}
    discard(staged)
    return promoted


def discard(staged: AppPaths) -> None:
    shutil.rmtree(staged.cache_dir, ignore_errors=True)


def _promote_value(value: Any, staged_root: Path, real_root: Path) -> Any:
    if isinstance(value, list):
        return [_promote_value(v, staged_root, real_root) for v in value]
    if isinstance(value, dict):
        return {k: _promote_value(v, staged_root, real_root) for k, v in value.items()}
    if not isinstance(value, str) or not value.startswith(str(staged_root)):
        return value
    source = Path(value)
    target = real_root / source.relative_to(staged_root)
    if source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        log.info("Re-run output %s replaces the earlier one", target)
    return str(target)
