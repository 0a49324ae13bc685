"""What "Jump to…" reads in each order: the text an artist types, as a value of the order's leading
column (a letter, a date, a size, stars), and the hint the box shows. Pure functions, no Qt.

Going down (Z to A, newest first, largest first) the first asset "at" M is the last name starting with
M, so a prefix or a day is taken at its far end; the catalog then counts the assets before that value.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from core.catalog.records import MAX_RATING, SortKey

JUMP_HINTS = {
    SortKey.NAME: "Jump to letter…",
    SortKey.KIND: "Jump to kind…",
    SortKey.CREATED: "Jump to date (YYYY-MM-DD)…",
    SortKey.SIZE: "Jump to size (e.g. 20 MB)…",
    SortKey.RATING: "Jump to stars (0-5)…",
}
LAST_CHARACTER = "\U0010ffff"  # after every character: "m" + this follows every name starting with "m"
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)b?")
_UNITS = "_kmgt"  # powers of 1024, as human_size shows sizes


def jump_value(sort: SortKey, text: str, *, descending: bool) -> str | float | int | None:
    """The leading sort value to jump to, or None when ``text`` does not read as one for ``sort``."""
    text = text.strip()
    if not text:
        return None
    if sort in (SortKey.NAME, SortKey.KIND):
        prefix = text if sort == SortKey.NAME else text.lower()  # kinds are stored in lower case
        return prefix + LAST_CHARACTER if descending else prefix
    if sort == SortKey.CREATED:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return datetime.combine(day, time.max if descending else time.min).timestamp()
    if sort == SortKey.SIZE:
        size = _SIZE.fullmatch(text.lower())
        if size is None:
            return None
        number, unit = size.groups()
        return int(float(number) * 1024 ** _UNITS.index(unit or "_"))
    if sort == SortKey.RATING and text.isdigit() and int(text) <= MAX_RATING:
        return int(text)
    return None
