"""Turning what a user types into safe FTS5 queries.

Users type words, not FTS syntax: every token is quoted (so ``-``, ``:``, ``"`` and ``*`` in file names are
literal). A token of three characters or more is matched anywhere inside names, paths, tags and notes
through the trigram index ("ssi" finds "Massive"); a substring match includes every word-prefix match, so
such tokens need nothing else. A shorter token is below what trigrams can index: it goes to the word index
as a prefix ("sk" finds "sky"), so results still appear from the first keystrokes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+", re.UNICODE)
TRIGRAM = 3

WORD_TABLE = "asset_fts"
SUBSTRING_TABLE = "asset_trigram"


@dataclass(frozen=True)
class SearchMatch:
    """One FTS5 MATCH expression per index; every token must match (AND), whichever index holds it."""

    substrings: str | None  # for SUBSTRING_TABLE
    prefixes: str | None  # for WORD_TABLE

    def parts(self) -> list[tuple[str, str]]:
        """(table, MATCH expression) for each index this search uses; the first drives a search page."""
        found = [(SUBSTRING_TABLE, self.substrings), (WORD_TABLE, self.prefixes)]
        return [(table, match) for table, match in found if match is not None]


def search_match(text: str) -> SearchMatch | None:
    """The MATCH expressions for free text, or None when there is nothing to search for."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return None
    long = [f'"{token}"' for token in tokens if len(token) >= TRIGRAM]
    short = [f'"{token}"*' for token in tokens if len(token) < TRIGRAM]
    return SearchMatch(" ".join(long) or None, " ".join(short) or None)
