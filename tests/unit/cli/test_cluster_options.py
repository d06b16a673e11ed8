"""plan, explain and record name the two clusters with one declaration; `plugins` takes the
plugin options of `run`."""

from __future__ import annotations

import importlib

import attrs
import click
import pytest
from click.testing import CliRunner

from syncpipe.cli import clusteroptions, plugins
from syncpipe.cli.main import cli
from syncpipe.model.events import Side

TWO_SIDED = ("plan", "explain", "record")
SIDE_OPTIONS = {f.name for f in attrs.fields(clusteroptions.ClusterOptions)}


def _by_name(command: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in command.params if p.name}


@pytest.mark.parametrize("name", TWO_SIDED)
def test_each_two_sided_command_names_both_clusters_with_the_same_flags(name):
    command = importlib.import_module(f"syncpipe.cli.{name}").command
    params = _by_name(command)
    assert params.keys() >= SIDE_OPTIONS
    for option in SIDE_OPTIONS:
        assert params[option].opts == ["--" + option.replace("_", "-")]


def test_plan_and_explain_read_the_kubeconfigs_from_the_environment_as_run_does():
    run = _by_name(importlib.import_module("syncpipe.cli.run").command)
    for name in ("plan", "explain"):
        params = _by_name(importlib.import_module(f"syncpipe.cli.{name}").command)
        for option in ("upstream_kubeconfig", "downstream_kubeconfig"):
            assert params[option].envvar == run[option].envvar, (name, option)
    record = _by_name(importlib.import_module("syncpipe.cli.record").command)
    assert record["upstream_kubeconfig"].envvar is None  # --kubeconfig alone stays unambiguous


def test_the_options_give_each_side_its_kubeconfig_and_context():
    seen: list[clusteroptions.ClusterOptions] = []

    @click.command()
    @clusteroptions.cluster_options()
    def probe(clusters: clusteroptions.ClusterOptions) -> None:
        seen.append(clusters)

    result = CliRunner().invoke(
        probe,
        [
            "--upstream-kubeconfig",
            "up.yaml",
            "--downstream-context",
            "edge",
            "--insecure-skip-tls-verify",
        ],
        env={clusteroptions.DOWNSTREAM_ENV: "down.yaml"},
    )
    assert result.exit_code == 0, result.output
    (clusters,) = seen
    assert clusters.accesses() == {
        Side.UPSTREAM: ("up.yaml", None),
        Side.DOWNSTREAM: ("down.yaml", "edge"),
    }
    assert clusters.insecure_skip_tls_verify
    assert clusters.named


def test_plan_without_an_upstream_is_one_usage_error():
    result = CliRunner().invoke(cli, ["plan"], env={clusteroptions.UPSTREAM_ENV: ""})
    assert result.exit_code == 2
    assert "--upstream-kubeconfig" in result.output


def test_record_refuses_half_of_both_sides():
    result = CliRunner().invoke(
        cli, ["record", "--upstream-kubeconfig", "up.yaml", "--all-selected", "-o", "x.jsonl.gz"]
    )
    assert result.exit_code == 2
    assert "needs --upstream-kubeconfig and --downstream-kubeconfig" in result.output


def test_the_plugins_command_takes_the_plugin_options_of_run():
    run = _by_name(importlib.import_module("syncpipe.cli.run").command)
    mine = _by_name(plugins.command)
    for option in ("disabled", "plugin_opt"):
        assert mine[option].opts == run[option].opts
        assert mine[option].help == run[option].help
