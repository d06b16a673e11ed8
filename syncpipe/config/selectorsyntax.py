"""Label selectors in kubectl's string syntax (``edge=one,tier in (a,b)``): parsed, matched.

``syncpipe run --syncer-config-selector LABELS`` picks the SyncerConfigs and EdgeSyncConfigs
a syncer merges. The selector goes to the API server as the ``labelSelector`` of the
configs' list and watch (the server filters), and is checked here first so that a typo is
one clear error at start rather than a 400 on every list. ``matches`` applies it locally
where no server filters (the replay engine, ``plan``).

The grammar is apimachinery's (``k8s.io/apimachinery/pkg/labels``), requirements joined by
commas, whitespace allowed between tokens::

    key=value  key==value  key!=value  key in (a,b)  key notin (a,b)  key  !key  key>1  key<1

Keys are label keys (an optional DNS-subdomain prefix and ``/``, then a name of at most 63
characters); values are label values (at most 63 characters, possibly empty). No library
on PyPI parses this syntax, hence this module.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

import attrs

from syncpipe import errors
from syncpipe.config import names

_TOKEN_RE = re.compile(r"\s*(==|!=|=|!|\(|\)|,|<|>|[^\s=!(),<>]+)")


class Operator(enum.Enum):
    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    DOES_NOT_EXIST = "!"
    GREATER_THAN = ">"
    LESS_THAN = "<"


@attrs.frozen
class Requirement:
    """One requirement on one label key."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        match self.operator:
            case Operator.EQUALS | Operator.IN:
                return present and value in self.values
            case Operator.NOT_EQUALS | Operator.NOT_IN:
                return not present or value not in self.values
            case Operator.EXISTS:
                return present
            case Operator.DOES_NOT_EXIST:
                return not present
            case Operator.GREATER_THAN | Operator.LESS_THAN:
                if not present or not _is_integer(value):
                    return False
                bound = int(self.values[0])
                if self.operator is Operator.GREATER_THAN:
                    return int(value) > bound
                return int(value) < bound

    def __str__(self) -> str:
        match self.operator:
            case Operator.EXISTS:
                return self.key
            case Operator.DOES_NOT_EXIST:
                return f"!{self.key}"
            case Operator.IN | Operator.NOT_IN:
                return f"{self.key} {self.operator.value} ({','.join(self.values)})"
            case _:
                return f"{self.key}{self.operator.value}{self.values[0]}"


@attrs.frozen
class LabelSelector:
    """Requirements that must all hold; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        """The selector as the API server's ``labelSelector`` takes it."""
        return ",".join(str(r) for r in self.requirements)


def _is_integer(text: str) -> bool:
    return re.fullmatch(r"-?[0-9]+", text) is not None


def _check_key(key: str) -> None:
    problem = names.label_key_problem(key)
    if problem:
        raise _invalid(problem)


def _check_value(value: str) -> None:
    problem = names.label_value_problem(value)
    if problem:
        raise _invalid(problem)


def _invalid(message: str) -> errors.ConfigError:
    return errors.ConfigError([("$", message)], source="label selector")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        found = _TOKEN_RE.match(text, position)
        if found is None:  # pragma: no cover - every character starts some token
            raise _invalid(f"cannot read {text[position:]!r}")
        tokens.append(found.group(1))
        position = found.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self) -> str:
        return self.tokens[self.position] if self.position < len(self.tokens) else ""

    def take(self) -> str:
        token = self.peek()
        self.position += 1
        return token

    def expect(self, token: str) -> None:
        found = self.take()
        if found != token:
            raise _invalid(f"expected {token!r}, found {found or 'the end'!r}")

    def values(self) -> tuple[str, ...]:
        self.expect("(")
        found: list[str] = []
        while True:
            value = "" if self.peek() in (",", ")") else self.take()
            _check_value(value)
            found.append(value)
            separator = self.take()
            if separator == ")":
                return tuple(found)
            if separator != ",":
                raise _invalid(
                    f"expected ',' or ')' in a value set, found {separator or 'the end'!r}"
                )

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            key = self.take()
            _check_key(key)
            return Requirement(key, Operator.DOES_NOT_EXIST)
        key = self.take()
        if not key or key in "=!(),<>":
            raise _invalid(f"expected a label key, found {key or 'the end'!r}")
        _check_key(key)
        operator = self.peek()
        if operator in ("", ","):
            return Requirement(key, Operator.EXISTS)
        self.take()
        if operator in ("in", "notin"):
            return Requirement(key, Operator(operator), self.values())
        if operator in ("=", "==", "!="):
            value = "" if self.peek() in ("", ",") else self.take()
            _check_value(value)
            kind = Operator.NOT_EQUALS if operator == "!=" else Operator.EQUALS
            return Requirement(key, kind, (value,))
        if operator in (">", "<"):
            bound = self.take()
            if not _is_integer(bound):
                raise _invalid(f"{key}{operator}{bound}: the bound must be an integer")
            return Requirement(key, Operator(operator), (bound,))
        raise _invalid(f"unknown operator {operator!r} after {key!r}")


def parse(text: str) -> LabelSelector:
    """Parse a selector in kubectl's syntax; ``ConfigError`` names what is wrong."""
    parser = _Parser(text)
    if not parser.tokens:
        return LabelSelector()
    requirements = [parser.requirement()]
    while parser.peek():
        parser.expect(",")
        requirements.append(parser.requirement())
    return LabelSelector(tuple(requirements))
