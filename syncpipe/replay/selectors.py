"""Label selectors as the API server reads them, for lists and watches of the memory store.

The string syntax of ``?labelSelector=``: requirements joined by commas, each one of ``key``,
``!key``, ``key=value``, ``key==value``, ``key!=value``, ``key in (a,b)``, ``key notin (a,b)``.
As on the server, ``!=`` and ``notin`` also match objects without the label. Syntax errors are
``ApiError`` 400 (BadRequest), the server's answer to a malformed selector.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from syncpipe import errors

Matcher = Callable[[Mapping[str, str]], bool]

_SET = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^()]*)\)\s*$")
_EQ = re.compile(r"^\s*([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


def _split(selector: str) -> list[str]:
    """Requirements split on the commas outside parentheses."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _requirement(text: str) -> Matcher:
    if m := _SET.match(text):
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EQ.match(text):
        key, op, value = m.group(1), m.group(2), m.group(3)
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _EXISTS.match(text):
        negated, key = m.group(1) == "!", m.group(2)
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise errors.ApiError(
        f"unable to parse requirement: {text.strip()!r}", status=400, reason="BadRequest"
    )


def parse(selector: str) -> Matcher:
    """A function telling whether a label map matches ``selector`` (``""`` matches all)."""
    if not selector.strip():
        return lambda labels: True
    requirements = [_requirement(part) for part in _split(selector)]
    return lambda labels: all(requirement(labels) for requirement in requirements)
