"""JSON shapes checked and JSON text split without recursion.

Two uses, one reason: a JSON document can be nested deeper than any parser here copes with (pydantic's
parser stops at 200 levels, the standard library's at Python's recursion limit). The server bounds what
it accepts (``shape_problem``, applied to annotations and metadata in ``core.sync.protocol``); the client
splits a page it cannot parse into its events (``raw_members``/``raw_items``) so one unreadable event is
set aside instead of stopping every page after it. Both walk iteratively, so no input can exhaust the
stack.
"""

from __future__ import annotations

from typing import Any

_OPENERS = {"{": "}", "[": "]"}
_WHITESPACE = " \t\r\n"


def shape_problem(value: Any, *, max_depth: int, max_nodes: int, max_string_chars: int) -> str | None:
    """Why ``value`` (parsed JSON) is too deep or too big, or None when it is within the bounds."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            return f"has more than {max_nodes} values"
        if isinstance(item, dict | list):
            if depth > max_depth:
                return f"is nested deeper than {max_depth} levels"
            children = item.values() if isinstance(item, dict) else item
            if isinstance(item, dict) and any(len(key) > max_string_chars for key in item):
                return f"has a key longer than {max_string_chars} characters"
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and len(item) > max_string_chars:
            return f"has a text longer than {max_string_chars} characters"
    return None


def _skip_string(text: str, start: int) -> int:
    """Index just after the JSON string that opens at ``start``."""
    index = start + 1
    while True:
        index = text.index('"', index)
        backslashes = 0
        while text[index - 1 - backslashes] == "\\":
            backslashes += 1
        index += 1
        if backslashes % 2 == 0:
            return index


def _value_end(text: str, start: int) -> int:
    """Index just after the JSON value that starts at ``start`` (no recursion: brackets are counted)."""
    char = text[start]
    if char == '"':
        return _skip_string(text, start)
    if char not in _OPENERS:
        index = start
        while index < len(text) and text[index] not in ",]}" + _WHITESPACE:
            index += 1
        return index
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == '"':
            index = _skip_string(text, index)
            continue
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise ValueError("unterminated JSON value")


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _members(text: str, opener: str) -> list[tuple[str | None, str]]:
    index = _skip_space(text, 0)
    if index >= len(text) or text[index] != opener:
        raise ValueError(f"not a JSON {'object' if opener == '{' else 'array'}")
    closer = _OPENERS[opener]
    found: list[tuple[str | None, str]] = []
    index = _skip_space(text, index + 1)
    if index < len(text) and text[index] == closer:
        return found
    while True:
        key: str | None = None
        if opener == "{":
            key_end = _skip_string(text, index)
            key = text[index + 1 : key_end - 1]
            index = _skip_space(text, key_end)
            if text[index] != ":":
                raise ValueError("expected ':' in a JSON object")
            index = _skip_space(text, index + 1)
        end = _value_end(text, index)
        found.append((key, text[index:end]))
        index = _skip_space(text, end)
        if index >= len(text):
            raise ValueError("unterminated JSON value")
        if text[index] == closer:
            return found
        if text[index] != ",":
            raise ValueError("expected ',' between JSON values")
        index = _skip_space(text, index + 1)


def raw_members(text: str) -> dict[str, str]:
    """The top-level members of a JSON object as raw JSON text, keyed by name (escapes in keys are
    kept as written: the protocol's keys have none)."""
    return {str(key): value for key, value in _members(text, "{")}


def raw_items(text: str) -> list[str]:
    """The items of a JSON array as raw JSON text."""
    return [value for _key, value in _members(text, "[")]
