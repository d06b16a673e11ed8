"""Every time-valued flag takes Kubernetes-style durations (no server needed)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from syncpipe.cli.main import SUBCOMMANDS, cli
from syncpipe.config.durations import Duration

# (command line before the flag, the flag): every time flag of every command.
TIME_FLAGS = [
    (["run"], "--resync-period"),
    (["run"], "--status-settle"),
    (["run"], "--poll-interval"),
    (["run"], "--discovery-interval"),
    (["record"], "--duration"),
    (["replay", "{snapshot}"], "--status-settle"),
    (["replay", "{snapshot}"], "--resync-period"),
    (["plan"], "--status-settle"),
    (["plan"], "--resync-period"),
    (["explain", "configmap", "a/b"], "--status-settle"),
    (["explain", "configmap", "a/b"], "--resync-period"),
    (["syncer-gen", "edge1"], "--timeout"),
    (["demo"], "--duration"),
]


def _commands() -> Iterator[tuple[str, click.Command]]:
    for name, module in SUBCOMMANDS.items():
        command = importlib.import_module(module).command
        yield name, command
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                yield f"{name} {sub_name}", sub


# Float flags that are no time: a rate (requests per second).
NOT_TIMES = {"run --qps"}


def test_no_option_of_any_command_takes_bare_float_seconds():
    floats = [
        f"{name} {param.opts[0]}"
        for name, command in _commands()
        for param in command.params
        if isinstance(param.type, click.types.FloatParamType)
    ]
    assert sorted(set(floats) - NOT_TIMES) == []


def test_the_time_flags_listed_here_are_all_the_duration_flags():
    found = {
        (name, param.opts[0])
        for name, command in _commands()
        for param in command.params
        if isinstance(param.type, Duration)
    }
    assert found == {(args[0], flag) for args, flag in TIME_FLAGS}


@pytest.mark.parametrize(("args", "flag"), TIME_FLAGS)
def test_help_shows_the_duration_form(args, flag):
    help_text = CliRunner().invoke(cli, [args[0], "--help"]).output
    assert f"{flag} DURATION" in help_text


@pytest.mark.parametrize(("args", "flag"), TIME_FLAGS)
@pytest.mark.parametrize("value", ["5x", "-5s", "1h 30m"])
def test_an_invalid_duration_is_one_error_line_naming_the_flag(tmp_path, args, flag, value):
    snapshot = tmp_path / "snapshot.jsonl.gz"
    snapshot.write_bytes(b"")
    line = [arg.format(snapshot=snapshot) for arg in args]
    result = CliRunner().invoke(cli, [*line, flag, value])
    assert result.exit_code == 2, result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert error_lines == [error_lines[0]]
    assert f"'{flag}'" in error_lines[0]
    assert "Traceback" not in result.output


def test_run_shows_its_defaults_as_durations():
    help_text = " ".join(CliRunner().invoke(cli, ["run", "--help"]).output.split())
    assert "[default: 5m]" in help_text
    assert "[default: 500ms]" in help_text
    assert "[default: 15s]" in help_text


def test_a_zero_resync_period_is_refused_before_anything_starts():
    result = CliRunner().invoke(cli, ["run", "--upstream-kubeconfig", "x", "--resync-period", "0"])
    assert result.exit_code == 2
    assert "'--resync-period': '0' must be more than 0s" in result.output
