"""``syncpipe run`` parses every option into its settings (no server needed)."""

import inspect

from click.testing import CliRunner

from syncpipe.cli import pipelineoptions, run
from syncpipe.cli.main import cli


def test_every_parameter_of_the_run_command_has_an_option():
    names = {p.name for p in run.command.params}
    signature = inspect.signature(run.command.callback)
    assert set(signature.parameters) == names


def test_a_missing_kubeconfig_is_a_clear_error_not_a_crash(tmp_path):
    result = CliRunner().invoke(
        cli, ["run", "--upstream-kubeconfig", str(tmp_path / "missing"), "--syncer-name", "x"]
    )
    assert result.exit_code != 0
    assert "kubeconfig" in str(result.exception or result.output).lower()


def test_plugin_options_are_parsed_per_plugin():
    assert pipelineoptions.parse_plugin_opts(("team-label.team=blue", "x.k=v=w")) == {
        "team-label": {"team": "blue"},
        "x": {"k": "v=w"},
    }


def test_a_malformed_config_selector_is_one_clear_error():
    result = CliRunner().invoke(
        cli, ["run", "--upstream-kubeconfig", "x", "--syncer-config-selector", "edge in one"]
    )
    assert result.exit_code == 2
    assert "Invalid value for '--syncer-config-selector': expected '('" in result.output


def test_a_discovery_interval_must_be_positive():
    result = CliRunner().invoke(
        cli, ["run", "--upstream-kubeconfig", "x", "--discovery-interval", "0"]
    )
    assert result.exit_code == 2
    assert "--discovery-interval" in result.output
