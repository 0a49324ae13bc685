"""The catalog's one user-facing error, in its own module so every catalog module can raise it."""

from __future__ import annotations


class CatalogError(Exception):
    """A catalog operation the user asked for cannot be done (the message says why)."""
