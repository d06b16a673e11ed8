"""Durations read as Kubernetes components read them, written back as Go writes them."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from syncpipe.config.durations import (
    NANOSECONDS_PER_UNIT,
    Duration,
    DurationError,
    format_duration,
    parse_duration,
    parse_nanoseconds,
)

# Up to ~11.5 days in nanoseconds: where seconds as a float still hold every nanosecond.
nanoseconds = st.integers(min_value=0, max_value=10**15)


@given(nanoseconds)
def test_a_formatted_duration_parses_back_to_the_same_seconds(ns):
    seconds = ns / 1e9
    assert parse_duration(format_duration(seconds)) == seconds


@given(nanoseconds)
def test_formatting_is_canonical(ns):
    text = format_duration(ns / 1e9)
    assert format_duration(parse_duration(text)) == text


@given(st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(sorted(NANOSECONDS_PER_UNIT)))))
def test_any_sequence_of_terms_adds_up(terms):
    text = "".join(f"{n}{unit}" for n, unit in terms) or "0"
    expected = sum(n * NANOSECONDS_PER_UNIT[unit] for n, unit in terms)
    assert parse_nanoseconds(text) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("300ms", 0.3),
        ("5s", 5.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("1.5s", 1.5),
        ("1.5h", 5400.0),
        ("2h", 7200.0),
        ("0", 0.0),
        ("0s", 0.0),
        ("-0", 0.0),
        ("+5s", 5.0),
        ("5", 5.0),
        ("0.5", 0.5),
        (".5s", 0.5),
        ("90", 90.0),
        ("1h0m0.25s", 3600.25),
        ("250µs", 0.00025),
        ("250us", 0.00025),
        ("42ns", 42e-9),
        (" 5s ", 5.0),
    ],
)
def test_durations_read_as_kubernetes_and_people_write_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "5x", "m5", "s", "1d", "1e3", "1h 30m", "1.5.5s", "5s-", "nan", "inf", "--5s"]
)
def test_garbage_is_refused_with_examples(text):
    with pytest.raises(DurationError, match="is not a duration such as 300ms"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["-1s", "-5", "-1h30m"])
def test_negative_durations_are_refused_as_negative(text):
    with pytest.raises(DurationError, match="negative"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (300, "5m"),
        (0.5, "500ms"),
        (5400, "1h30m"),
        (1.5, "1.5s"),
        (0.0015, "1.5ms"),
        (0.00025, "250µs"),
        (1e-9, "1ns"),
        (3600.25, "1h0.25s"),
        (259201.25, "72h1.25s"),
    ],
)
def test_formats_are_gos_without_zero_terms(seconds, text):
    assert format_duration(seconds) == text


def _command(**kwargs):
    @click.command()
    @click.option("--period", type=Duration(**kwargs), default="5m", show_default=True)
    def command(period: float) -> None:
        click.echo(repr(period))

    return command


def test_the_option_type_gives_seconds_and_shows_its_default_as_a_duration():
    command = _command()
    assert CliRunner().invoke(command, ["--period", "1h30m"]).output == "5400.0\n"
    assert CliRunner().invoke(command, []).output == "300.0\n"
    help_text = CliRunner().invoke(command, ["--help"]).output
    assert "--period DURATION" in help_text
    assert "[default: 5m]" in help_text


@pytest.mark.parametrize(
    ("value", "message"),
    [("5x", "is not a duration such as"), ("-5s", "negative"), ("0", "must be more than 0s")],
)
def test_an_invalid_value_is_one_error_line_naming_the_flag(value, message):
    result = CliRunner().invoke(_command(allow_zero=False), ["--period", value])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "'--period'" in errors[0]
    assert message in errors[0]
    assert "Traceback" not in result.output
