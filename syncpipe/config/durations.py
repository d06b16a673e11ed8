"""Durations as Kubernetes components and kubectl take them: ``300ms``, ``5s``, ``1h30m``.

One parser for every time-valued flag and option, so an operator can copy a value from a
controller's manifest (Go's ``time.ParseDuration`` syntax) and still write bare seconds
(``5``, ``0.5``) as syncpipe's flags used to take them. Values are seconds as ``float``
(what ``time.monotonic`` and ``Event.wait`` use), rounded to whole nanoseconds like a Go
``time.Duration``.

Grammar (Go's): an optional ``+``, then one or more ``<decimal><unit>`` terms, units ``ns``,
``us`` (or ``µs``), ``ms``, ``s``, ``m``, ``h``; ``0`` alone is zero. Added for syncpipe: a bare
decimal is seconds. Refused: negatives (no syncpipe time may run backwards), exponents, spaces
inside, days and other units Go does not know.

Why not ``durationpy`` (the Kubernetes client's dependency): it accepts garbage between terms
(``1hXX30m`` is 1h30m) and units Go refuses (``d``, ``w``, ``y``), keeps only microseconds
(``timedelta``), and writes 1.5 ms as ``1ms500us``.

``format_duration`` writes Go's unit form without zero terms (``5m``, ``1h30m``, ``500ms``;
Go prints ``5m0s``, which parses to the same): what ``--help`` shows as defaults.
"""

from __future__ import annotations

import argparse
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    _ParamType = click.ParamType[float, Any]  # generic for type checkers since click 8.2
else:
    _ParamType = click.ParamType

NANOSECONDS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN, as Go writes it
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU, which Go accepts too
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
NANOSECONDS_PER_SECOND = NANOSECONDS_PER_UNIT["s"]
EXAMPLES = "300ms, 5s, 10m, 1h30m, or bare seconds such as 5 or 0.5"

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = "|".join(sorted(NANOSECONDS_PER_UNIT, key=len, reverse=True))  # "ms" before "m"
_TERM = re.compile(rf"({_NUMBER})({_UNIT})")
_WHOLE = re.compile(rf"(?:{_NUMBER}(?:{_UNIT}))+")
_BARE_SECONDS = re.compile(_NUMBER)


class DurationError(ValueError):
    """A text that is not a duration; the message says what was wrong and what would do."""


def parse_nanoseconds(text: str) -> int:
    """Whole nanoseconds in ``text`` (see the module docstring for the grammar)."""
    cleaned = text.strip()
    unsigned = cleaned[1:] if cleaned.startswith(("+", "-")) else cleaned
    if _BARE_SECONDS.fullmatch(unsigned):
        total = Decimal(unsigned) * NANOSECONDS_PER_SECOND
    elif _WHOLE.fullmatch(unsigned):
        total = sum(
            (
                Decimal(number) * NANOSECONDS_PER_UNIT[unit]
                for number, unit in _TERM.findall(unsigned)
            ),
            Decimal(0),
        )
    else:
        raise DurationError(f"{text!r} is not a duration such as {EXAMPLES}")
    if cleaned.startswith("-") and total:
        raise DurationError(f"{text!r} is negative: a duration must be 0 or more")
    return int(total.to_integral_value())


def parse_duration(text: str) -> float:
    """Seconds in a Kubernetes-style duration (``1h30m``, ``300ms``) or bare seconds (``5``).

    Raises ``DurationError`` (a ``ValueError``) for negatives and anything else.
    """
    return parse_nanoseconds(text) / NANOSECONDS_PER_SECOND


def format_duration(seconds: float) -> str:
    """Go's form of ``seconds`` without zero terms: ``5m``, ``1h30m``, ``1.5s``, ``500ms``, ``0s``.

    Rounded to whole nanoseconds; ``parse_duration`` reads every result back exactly.
    """
    if seconds < 0:
        raise DurationError(f"{seconds!r} is negative: a duration must be 0 or more")
    nanoseconds = round(seconds * NANOSECONDS_PER_SECOND)
    if nanoseconds == 0:
        return "0s"
    if nanoseconds < NANOSECONDS_PER_SECOND:
        # Below a second, Go writes one unit with a fraction: 1.5ms, 250µs, 42ns.
        for unit in ("ms", "µs", "ns"):
            size = NANOSECONDS_PER_UNIT[unit]
            if nanoseconds >= size:
                return _decimal(nanoseconds, size) + unit
    hours, rest = divmod(nanoseconds, NANOSECONDS_PER_UNIT["h"])
    minutes, rest = divmod(rest, NANOSECONDS_PER_UNIT["m"])
    terms = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    terms.append(_decimal(rest, NANOSECONDS_PER_SECOND) + "s" if rest else "")
    return "".join(terms)


def _decimal(nanoseconds: int, unit: int) -> str:
    """``nanoseconds / unit`` written exactly, without trailing zeros (``1.5``, ``250``)."""
    whole, fraction = divmod(nanoseconds, unit)
    if not fraction:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{fraction:0{digits}d}".rstrip("0")


def duration_argument(text: str) -> float:
    """``type=`` for an argparse option taking a duration (the benchmarks' command lines):
    the error names the option, as argparse does, and says what would do."""
    try:
        return parse_duration(text)
    except DurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class Duration(_ParamType):
    """A click option type for durations: ``type=Duration()``; the value is seconds.

    ``--help`` shows ``DURATION`` as the metavar; invalid input becomes click's one-line
    ``Error: Invalid value for '--flag': ...``. ``allow_zero=False`` for periods and
    timeouts, where zero would mean "spin" or "give up at once".
    """

    name = "duration"

    def __init__(self, *, allow_zero: bool = True) -> None:
        self.allow_zero = allow_zero

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float | int) and not isinstance(value, bool):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(str(value))
            except DurationError as exc:
                self.fail(str(exc), param, ctx)
        if seconds < 0 or (seconds == 0 and not self.allow_zero):
            self.fail(f"{value!r} must be more than 0s", param, ctx)
        return seconds

    def __repr__(self) -> str:
        return "DURATION"
