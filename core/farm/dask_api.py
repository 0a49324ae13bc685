"""Dask, imported on first use: it is the optional ``farm`` extra (``pip install stratopipe[farm]``).

``distributed``'s API is mostly untyped; the farm modules reach it through this module as ``Any``
rather than spreading ignores over every call.
"""

from __future__ import annotations

import importlib
from typing import Any


class FarmUnavailableError(Exception):
    """Dask is not installed here."""


def distributed() -> Any:
    try:
        return importlib.import_module("distributed")
    except ImportError as exc:
        raise FarmUnavailableError(
            "Dask is not installed: pip install 'stratopipe[farm]' to run jobs on a farm"
        ) from exc
