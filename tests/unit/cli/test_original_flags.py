"""The original KubeStellar-Syncer's flags on `syncpipe run`: parsing, aliases, verbosity."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from syncpipe.cli import main as cli_main
from syncpipe.cli import run


@pytest.mark.parametrize(
    ("klog", "verbose"), [(0, 0), (1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 3), (9, 3)]
)
def test_klog_levels_map_onto_syncpipe_verbosity(klog, verbose):
    assert run.klog_verbosity(klog) == verbose


@pytest.mark.parametrize(
    "args",
    [
        ["--from-kubeconfig=/kubestellar/kubeconfig", "--sync-target-name=edge1"],
        ["--sync-target-uid", "x", "--from-kubeconfig", "k"],
        ["--v=3"],
        ["--qps=20", "--burst=30"],
    ],
)
def test_an_argument_list_starting_with_an_original_flag_is_run(args):
    assert cli_main._as_original_syncer(args) == ["run", *args]


@pytest.mark.parametrize(
    "args", [[], ["--help"], ["--version"], ["run", "--v=3"], ["plan", "--qps=1"], ["-v"]]
)
def test_other_argument_lists_are_left_as_they_are(args):
    assert cli_main._as_original_syncer(args) == args


def test_every_original_flag_is_an_option_of_run():
    names = {opt for param in run.command.params for opt in getattr(param, "opts", ())}
    assert set(run.ORIGINAL_SYNCER_FLAGS) <= names


def test_the_original_flags_are_aliases_of_syncpipes_own():
    """Each alias lands in the same parameter as syncpipe's own flag."""
    aliases = {
        "--from-kubeconfig": "--upstream-kubeconfig",
        "--from-context": "--upstream-context",
        "--to-kubeconfig": "--downstream-kubeconfig",
        "--to-context": "--downstream-context",
    }
    for alias, own in aliases.items():
        (param,) = [p for p in run.command.params if alias in p.opts]
        assert own in param.opts


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--qps=-1"], "--qps"),
        (["--burst=0"], "--burst"),
        (["--v=x"], "--v"),
    ],
)
def test_bad_values_of_the_original_flags_are_one_error_line(args, message):
    result = CliRunner().invoke(cli_main.cli, ["run", "--from-kubeconfig=k", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_without_any_kubeconfig_the_error_names_both_spellings():
    result = CliRunner().invoke(cli_main.cli, ["run", "--sync-target-name=edge1"])
    assert result.exit_code == 2
    assert "--upstream-kubeconfig (or --from-kubeconfig) is required" in result.output
