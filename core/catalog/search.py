"""Turning what a user types into a safe FTS5 query.

Users type words, not FTS syntax: every token is quoted (so ``-``, ``:``, ``"`` and ``*`` in file names are
literal) and the last one becomes a prefix query, so results appear while typing.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """FTS5 MATCH expression for free text, or None when there is nothing to search for."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return None
    quoted = [f'"{token}"' for token in tokens]
    quoted[-1] += "*"
    return " ".join(quoted)
