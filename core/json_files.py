"""The config dir's small JSON files (settings, profiles, watch folders, project links): read into a
pydantic model, written whole."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from pathlib import Path

_M = TypeVar("_M", bound=BaseModel)


def write_json_atomically(path: Path, data: object) -> None:
    """Written to a per-process temp file and renamed into place: the app and a script may write at
    the same moment; the last rename wins whole, and no reader ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)


def read_model(path: Path, model: type[_M], what: str, error: type[Exception]) -> _M:
    """``model`` read from ``path``; a missing file is the model's defaults, a broken one raises
    ``error`` saying where (``what`` names the contents for the user)."""
    if not path.exists():
        return model()
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise error(f"cannot read the {what} in {path}: {exc}") from exc
